using KnowledgeDistillation.Data;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Formats.Onnx;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Onnx;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Retrieval.Mining;
using KnowledgeDistillation.Tests.Onnx;
using KnowledgeDistillation.Tests.Retrieval.Mining;

namespace KnowledgeDistillation.Tests.Models.Onnx;

/// <summary>
/// The ONNX Runtime teacher where the library uses a teacher: <see cref="HardNegativeMiner"/>'s false-negative filters
/// and the <see cref="RerankingEvaluator"/>, each against <see cref="CrossEncoderTeacher"/> (libtorch) on the model the
/// ONNX file was exported from. The two engines share no operator code, so equal results check that the ONNX teacher
/// is a drop-in teacher there. (<see cref="Teachers.CachingTeacher"/> is covered in <see cref="OnnxCrossEncoderTeacherTests"/>.)
/// </summary>
public sealed class OnnxTeacherInPlaceTests : IDisposable
{
    private const int Documents = 40, Queries = 6;
    private readonly string _folder = BertFixture.NewTempDir();

    private static readonly CorpusDocument[] Corpus =
        [.. OnnxReference.SciFactDocuments(Documents).Select((text, i) => new CorpusDocument($"d{i}", "", text))];

    private static readonly QueryRecord[] QueryRecords =
        [.. OnnxReference.SciFactQueries(Queries).Select((text, i) => new QueryRecord($"q{i}", text))];

    private async Task<(CrossEncoderTeacher Torch, OnnxCrossEncoderTeacher Onnx)> TeachersAsync()
    {
        var options = new CrossEncoderTeacherOptions { MaxLength = 96, BatchSize = 16 };
        CrossEncoderTeacher torch = CrossEncoderTeacher.FromPretrained(BertFixture.Dir("crossencoder-gelu"), options);
        await torch.ExportOnnxAsync(_folder);
        return (torch, OnnxCrossEncoderTeacher.FromFolder(_folder, new OnnxCrossEncoderTeacherOptions { MaxLength = 96, BatchSize = 16 }));
    }

    [Fact]
    public async Task In_the_miners_false_negative_filters_the_onnx_teacher_keeps_and_scores_the_negatives_libtorch_does()
    {
        var (torch, onnx) = await TeachersAsync();
        using CrossEncoderTeacher _ = torch;
        using OnnxCrossEncoderTeacher __ = onnx;
        var retriever = new TableRetriever(QueryRecords.ToDictionary(q => q.Text, _ => Corpus.Select(d => d.Id).ToArray()));
        MiningQuery[] queries = [.. QueryRecords.Select((q, i) => new MiningQuery(q.Id, q.Text, [$"d{i}"]))];
        var options = new HardNegativeMinerOptions
        {
            MinRank = 1,
            MaxRank = Documents,
            NegativesPerQuery = 8,
            MinNegativesPerQuery = 0,
            Selection = NegativeSelection.Top,
            FalseNegativeFilter = new FalseNegativeFilterOptions { DropAbovePositive = true, AbsoluteMargin = 0.01f },
        };

        IReadOnlyList<DistillationExample> viaTorch = await new HardNegativeMiner(retriever, Corpus, torch, options).MineAsync(queries);
        IReadOnlyList<DistillationExample> viaOnnx = await new HardNegativeMiner(retriever, Corpus, onnx, options).MineAsync(queries);
        IReadOnlyList<DistillationExample> unfiltered = await new HardNegativeMiner(retriever, Corpus, teacher: null, options).MineAsync(queries);

        viaOnnx.Select(e => e.Id).Should().Equal(viaTorch.Select(e => e.Id));
        for (int i = 0; i < viaTorch.Count; i++)
        {
            viaOnnx[i].Negatives.Should().Equal(viaTorch[i].Negatives, $"example {viaTorch[i].Id}");
            viaOnnx[i].PositiveScores!.Zip(viaTorch[i].PositiveScores!, (a, b) => Math.Abs(a - b)).Max().Should().BeLessThanOrEqualTo(1e-5f);
            viaOnnx[i].NegativeScores!.Zip(viaTorch[i].NegativeScores!, (a, b) => Math.Abs(a - b)).DefaultIfEmpty(0).Max().Should().BeLessThanOrEqualTo(1e-5f);
        }
        int filteredAway = unfiltered.Sum(e => e.Negatives.Count) - viaTorch.Sum(e => e.Negatives.Count)
            + unfiltered.Zip(viaTorch, (u, t) => u.Negatives.Except(t.Negatives).Count()).Sum();
        filteredAway.Should().BeGreaterThan(0, "the filters dropped candidates, so a teacher scoring otherwise would keep others");
    }

    [Fact]
    public async Task In_the_reranking_evaluator_the_onnx_teacher_ranks_and_scores_as_libtorch()
    {
        var (torch, onnx) = await TeachersAsync();
        using CrossEncoderTeacher _ = torch;
        using OnnxCrossEncoderTeacher __ = onnx;
        var judgments = new RelevanceJudgments();
        for (int i = 0; i < Queries; i++)
        {
            judgments.Add($"q{i}", $"d{i}", 1);
            judgments.Add($"q{i}", $"d{i + Queries}", 2);
        }
        // First stage: every document, in corpus order.
        var candidates = QueryRecords.ToDictionary(
            q => q.Id, _ => (IReadOnlyList<ScoredDocument>)[.. Corpus.Select((d, r) => new ScoredDocument(d.Id, Documents - r))], StringComparer.Ordinal);
        var evaluator = new RerankingEvaluator(Corpus, QueryRecords, judgments, candidates, new RerankingEvaluatorOptions { Depth = Documents, BatchSize = 24 });

        EvaluationResult viaTorch = await evaluator.EvaluateAsync(torch);
        EvaluationResult viaOnnx = await evaluator.EvaluateAsync(onnx);

        foreach (string metric in viaTorch.Metrics.Names)
            viaOnnx.Metrics[metric].Should().BeApproximately(viaTorch.Metrics[metric], 1e-9, metric);
        foreach ((string query, IReadOnlyList<ScoredDocument> ranked) in viaTorch.Run)
        {
            viaOnnx.Run[query].Select(d => d.DocumentId).Should().Equal(ranked.Select(d => d.DocumentId), query);
            viaOnnx.Run[query].Zip(ranked, (a, b) => Math.Abs(a.Score - b.Score)).Max().Should().BeLessThanOrEqualTo(1e-5f, query);
        }
        viaTorch.Metrics[MetricNames.Ndcg10].Should().NotBe(evaluator.EvaluateFirstStage()[MetricNames.Ndcg10], "the teacher reorders the candidates");
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // A session still maps a file; the temporary folder is left to the OS.
        }
    }
}
