using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Formats.Onnx;
using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Onnx;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Retrieval.Mining;
using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Tests.Data;
using KnowledgeDistillation.Tests.Tokenization;
using KnowledgeDistillation.Training;
using Xunit.Abstractions;

namespace KnowledgeDistillation.Tests.Models.Onnx;

/// <summary>
/// Issue 28's drift bounds: a trained teacher reranking BM25's SciFact candidates on ONNX Runtime int8 keeps float32's
/// nDCG@10 within 0.005 and a mean per-query Spearman of at least 0.99, and float32 on ONNX Runtime is libtorch's
/// ranking. The teacher is the QuickStart's kind (from scratch, exact-match input), trained briefly here so that its
/// ranking means something: a bound on a teacher no better than chance would hold for any int8 graph.
/// </summary>
public sealed class OnnxTeacherRerankingDriftTests(ITestOutputHelper output) : IDisposable
{
    private const int TrainQueries = 240, Steps = 30, TrainLength = 64, TestQueries = 300, Depth = 20, MaxLength = 128;
    private readonly string _folder = BertFixture.NewTempDir();

    [Fact]
    public async Task Int8_reranking_of_SciFact_keeps_float32s_nDCG10_within_0_005_and_Spearman_above_0_99_and_float32_is_libtorchs()
    {
        var dataset = new BeirDataset(Fixtures.SciFactFolder);
        List<CorpusDocument> corpus = await Fixtures.ToListAsync(dataset.ReadCorpusAsync());
        List<QueryRecord> queries = await Fixtures.ToListAsync(dataset.ReadQueriesAsync());
        RelevanceJudgments train = await dataset.ReadQrelsAsync("train");
        RelevanceJudgments test = await dataset.ReadQrelsAsync("test");
        using Bm25Index index = Bm25Index.BuildInMemory(corpus);
        var bm25 = new Bm25Retriever(index);

        // The QuickStart's teacher (BERT 2 x 128 with the exact-match input, seed 42), trained for a few dozen steps on
        // BM25-mined SciFact training queries; on pairs cut to 64 tokens, to keep the test short.
        var miner = new HardNegativeMiner(bm25, corpus, teacher: null, new HardNegativeMinerOptions { MinRank = 1, MaxRank = 50, NegativesPerQuery = 3 });
        QueryRecord[] trainQueries = [.. queries.Where(q => train.For(q.Id).Count > 0).Take(TrainQueries)];
        IReadOnlyList<DistillationExample> examples = await miner.MineAsync(trainQueries, train);
        var tokenizer = TokenizationFixtures.Uncased;
        BertConfig config = new BertConfig(tokenizer.VocabularySize, hiddenSize: 128, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 512, maxPositionEmbeddings: 512)
        {
            ExactMatchEmbedding = true,
        }.WithNumLabels(1);
        BertForSequenceClassification model = BertForSequenceClassification.Create(config, seed: 42);
        await new CrossEncoderTrainer(tokenizer, new CrossEncoderTrainerOptions { LearningRate = 1e-3, BatchSize = 8, NegativesPerQuery = 3, MaxLength = TrainLength, MaxSteps = Steps })
            .TrainAsync(model, examples);

        // The engines as `kd evaluate --engine onnx [--quantize]` loads them: the library's export and int8 quantization.
        using var libtorch = new CrossEncoderTeacher(model, tokenizer, new CrossEncoderTeacherOptions { MaxLength = MaxLength });
        await libtorch.ExportOnnxAsync(_folder, quantize: true);
        using OnnxCrossEncoderTeacher fp32 = OnnxCrossEncoderTeacher.FromFolder(_folder, new OnnxCrossEncoderTeacherOptions { MaxLength = MaxLength });
        using OnnxCrossEncoderTeacher int8 = OnnxCrossEncoderTeacher.FromFolder(_folder, new OnnxCrossEncoderTeacherOptions { MaxLength = MaxLength, ModelFile = OnnxExporter.QuantizedModelFileName });
        int8.IsQuantized.Should().BeTrue();

        // All 300 judged test queries, each with BM25's top candidates: on 40 of them one CI machine's int8 moved by 0.009,
        // where six seeds on an AMD EPYC Zen 5 did not move it (a few swapped pairs weigh 1/40 each there).
        QueryRecord[] testQueries = [.. queries.Where(q => test.For(q.Id).Count > 0).Take(TestQueries)];
        var candidates = testQueries.ToDictionary(q => q.Id, q => index.Search(q.Text, Depth), StringComparer.Ordinal);
        var evaluator = new RerankingEvaluator(corpus, testQueries, test, candidates, new RerankingEvaluatorOptions { Depth = Depth });
        double torchNdcg = (await evaluator.EvaluateAsync(libtorch))[MetricNames.Ndcg10];
        EvaluationResult fp32Result = await evaluator.EvaluateAsync(fp32), int8Result = await evaluator.EvaluateAsync(int8);
        double fp32Ndcg = fp32Result[MetricNames.Ndcg10], int8Ndcg = int8Result[MetricNames.Ndcg10];
        // Chance: the mean of random orders of the same candidates.
        var random = new Random(7);
        var shuffler = new DelegateTeacher("random", _ => random.NextSingle());
        double chance = 0;
        const int Rounds = 20;
        for (int r = 0; r < Rounds; r++)
            chance += (await evaluator.EvaluateAsync(shuffler))[MetricNames.Ndcg10] / Rounds;
        output.WriteLine($"int8 weights widened to uint8 on this CPU (no VNNI): {OnnxIntegerWeights.SignedProductsSaturate}");
        output.WriteLine($"nDCG@10 over {evaluator.QueryCount} queries x {Depth} BM25 candidates: libtorch {torchNdcg:F4}, ONNX Runtime float32 {fp32Ndcg:F4}, int8 {int8Ndcg:F4}; random order {chance:F4}, BM25 {evaluator.EvaluateFirstStage()[MetricNames.Ndcg10]:F4}");

        // Issue 28's other bound, per query over the same candidates: a statistic of every pair, not of the top ten's few
        // swaps, so it moves little between machines and still catches what nDCG@10 over 300 queries averages away
        // (weight scales of max/255: mean Spearman 0.9899, nDCG@10 0.0025 off). The scores are the reranking runs' own.
        var spearman = new List<double>();
        foreach (QueryRecord query in testQueries)
        {
            var int8Scores = int8Result.Run[query.Id].ToDictionary(d => d.DocumentId, d => (double)d.Score, StringComparer.Ordinal);
            IReadOnlyList<ScoredDocument> fp32Run = fp32Result.Run[query.Id];
            spearman.Add(RankCorrelation.Spearman([.. fp32Run.Select(d => (double)d.Score)], [.. fp32Run.Select(d => int8Scores[d.DocumentId])]));
        }
        output.WriteLine($"int8 against float32 per query: mean Spearman {spearman.Average():F4}, lowest {spearman.Min():F4}");

        evaluator.QueryCount.Should().Be(TestQueries);
        fp32Ndcg.Should().BeApproximately(torchNdcg, 1e-4, "ONNX Runtime float32 ranks as libtorch does");
        Math.Abs(int8Ndcg - fp32Ndcg).Should().BeLessThanOrEqualTo(0.005, "issue 28's bound on int8 reranking drift");
        spearman.Average().Should().BeGreaterThanOrEqualTo(0.99, "issue 28's bound on int8 score drift per query");
        fp32Ndcg.Should().BeGreaterThan(chance + 0.1, "the teacher's ranking means something, so the bound is not vacuous");
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
