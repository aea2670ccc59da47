using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Formats.Onnx;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Onnx;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Tests.Models;
using KnowledgeDistillation.Tests.Onnx;
using Microsoft.Extensions.AI;

namespace KnowledgeDistillation.Tests.Retrieval;

/// <summary>
/// Dense retrieval and its evaluation over Microsoft.Extensions.AI embedding generators: the ONNX Runtime student ranks
/// a SciFact slice as the libtorch student it was exported from (ONNX Runtime runs every operator independently, so
/// equal rankings check the encoding path), and a generator written here, not by the library, is indexed and searched
/// as a brute-force loop over its vectors says.
/// </summary>
public sealed class EmbeddingEncoderRetrievalTests : IDisposable
{
    private const int Documents = 60, Queries = 12;
    private readonly string _folder = BertFixture.NewTempDir();

    private static CorpusDocument[] SciFactCorpus()
        => [.. OnnxReference.SciFactDocuments(Documents).Select((text, i) => new CorpusDocument($"d{i}", "", text))];

    private static QueryRecord[] SciFactQueries()
        => [.. OnnxReference.SciFactQueries(Queries).Select((text, i) => new QueryRecord($"q{i}", text))];

    // Query i is judged relevant to documents i and i + Queries: metrics over a real ranking, not a constant.
    private static RelevanceJudgments Judgments()
    {
        var judgments = new RelevanceJudgments();
        for (int i = 0; i < Queries; i++)
        {
            judgments.Add($"q{i}", $"d{i}", 1);
            judgments.Add($"q{i}", $"d{i + Queries}", 2);
        }
        return judgments;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_onnx_runtime_student_ranks_as_the_libtorch_student_it_was_exported_from(bool quantized)
    {
        // Asymmetric prompts and unnormalised mean pooling, so the query/document generators and the cosine both matter.
        using BiEncoderStudent student = BiEncoderStudent.FromPretrained(BertFixture.Dir("encoder-gelunew"), new BiEncoderStudentOptions
        {
            Pooling = PoolingMode.Mean,
            Normalize = false,
            Similarity = EmbeddingSimilarity.Cosine,
            QueryPrefix = "query: ",
            DocumentPrefix = "passage: ",
            MaxSequenceLength = 64,
        });
        await student.ExportOnnxAsync(_folder, quantize: quantized);
        using OnnxEmbeddingModel onnx = OnnxEmbeddingModel.FromFolder(_folder, new OnnxEmbeddingModelOptions { ModelFile = quantized ? OnnxExporter.QuantizedModelFileName : null });
        onnx.QueryPrefix.Should().Be("query: ");
        CorpusDocument[] corpus = SciFactCorpus();
        QueryRecord[] queries = SciFactQueries();

        using DenseRetriever torchRetriever = DenseRetriever.Create(student, corpus, new DenseRetrieverOptions { EncodeBatchSize = 7 });
        using DenseRetriever onnxRetriever = await DenseRetriever.CreateAsync(onnx.AsEmbeddingEncoder(), corpus, new DenseRetrieverOptions { EncodeBatchSize = 7 });
        string[] texts = [.. queries.Select(q => q.Text)];
        var expected = await torchRetriever.RetrieveAsync(texts, Documents);
        var actual = await onnxRetriever.RetrieveAsync(texts, Documents);

        // float32: the same scores to float tolerance, so the same ranking except between scores closer than that.
        // int8 (dynamic quantization of the encoder's products): a ranking close to float32's, as the teacher's bound.
        float tolerance = quantized ? 0.05f : 2e-5f;
        double minSpearman = 1;
        for (int q = 0; q < Queries; q++)
        {
            var torchScores = expected[q].ToDictionary(d => d.DocumentId, d => d.Score);
            actual[q].Should().HaveCount(Documents);
            foreach (ScoredDocument d in actual[q])
                Math.Abs(d.Score - torchScores[d.DocumentId]).Should().BeLessThanOrEqualTo(tolerance, $"query {q}, document {d.DocumentId}");
            if (!quantized)
            {
                for (int i = 0; i + 1 < Documents; i++)
                {
                    torchScores[actual[q][i].DocumentId].Should().BeGreaterThanOrEqualTo(torchScores[actual[q][i + 1].DocumentId] - (2 * tolerance),
                        $"query {q}: ONNX Runtime ranks {actual[q][i].DocumentId} above {actual[q][i + 1].DocumentId}");
                }
            }
            double[] x = [.. corpus.Select(d => (double)torchScores[d.Id])];
            var onnxScores = actual[q].ToDictionary(d => d.DocumentId, d => d.Score);
            double[] y = [.. corpus.Select(d => (double)onnxScores[d.Id])];
            minSpearman = Math.Min(minSpearman, RankCorrelation.Spearman(x, y));
        }
        minSpearman.Should().BeGreaterThanOrEqualTo(quantized ? 0.95 : 0.9999);
        expected.Select(r => r[0].DocumentId).Distinct().Count().Should().BeGreaterThan(1, "the queries rank differently, so a mixed-up order would show");

        // The evaluator over either engine: the same metrics (float32) from the same judgments.
        var evaluator = new RetrievalEvaluator(corpus, queries, Judgments());
        EvaluationResult viaTorch = await evaluator.EvaluateAsync(student);
        EvaluationResult viaOnnx = await evaluator.EvaluateAsync(onnx.AsEmbeddingEncoder());
        viaOnnx.Metrics.QueryCount.Should().Be(Queries);
        if (!quantized)
        {
            foreach (string metric in viaTorch.Metrics.Names)
                viaOnnx.Metrics[metric].Should().BeApproximately(viaTorch.Metrics[metric], 1e-6, metric);
        }
    }

    [Theory]
    [InlineData(EmbeddingSimilarity.Cosine)]
    [InlineData(EmbeddingSimilarity.Dot)]
    public async Task A_generator_that_is_not_the_librarys_is_indexed_and_searched_with_its_similarity(EmbeddingSimilarity similarity)
    {
        using var generator = new LetterCountGenerator();
        CorpusDocument[] corpus = SciFactCorpus();
        var encoder = new EmbeddingEncoder(generator, generator, similarity);
        var progress = new List<EvaluationProgress>();
        using DenseRetriever retriever = await DenseRetriever.CreateAsync(encoder, corpus, new DenseRetrieverOptions { EncodeBatchSize = 16 }, new SynchronousProgress<EvaluationProgress>(progress.Add));
        string[] queries = OnnxReference.SciFactQueries(Queries);

        var results = await retriever.RetrieveAsync(queries, topK: 5);

        progress.Select(p => p.Completed).Should().Equal(16, 32, 48, 60);
        for (int q = 0; q < Queries; q++)
        {
            // Brute force in doubles over the generator's raw counts.
            double[] query = LetterCountGenerator.Counts(queries[q]);
            double[] scores = [.. corpus.Select(d => Similarity(query, LetterCountGenerator.Counts(d.FullText), similarity))];
            string[] best = [.. Enumerable.Range(0, Documents).OrderByDescending(i => scores[i]).Take(5).Select(i => corpus[i].Id)];
            results[q].Select(d => d.DocumentId).Should().Equal(best, $"query {q}");
            results[q][0].Score.Should().BeApproximately((float)scores[int.Parse(best[0][1..], System.Globalization.CultureInfo.InvariantCulture)], 1e-3f * (float)Math.Max(1, scores.Max()));
        }
        // Search with the generator's own (unnormalised) query vectors ranks the same.
        float[][] raw = [.. (await generator.GenerateAsync(queries)).Select(e => e.Vector.ToArray())];
        retriever.Search(raw, 5).Select(r => r.Select(d => d.DocumentId)).Should().BeEquivalentTo(results.Select(r => r.Select(d => d.DocumentId)), o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task A_generator_that_returns_the_wrong_number_or_size_of_embeddings_is_named()
    {
        using var short_ = new LetterCountGenerator { DropLast = true };
        Func<Task> fewer = () => DenseRetriever.CreateAsync(new EmbeddingEncoder(short_, short_), SciFactCorpus());
        await fewer.Should().ThrowAsync<InvalidOperationException>().WithMessage("*Document embedding generator returned 59 embeddings for 60 texts*");
        using var ragged = new LetterCountGenerator { RaggedAt = 3 };
        Func<Task> sizes = () => DenseRetriever.CreateAsync(new EmbeddingEncoder(ragged, ragged), SciFactCorpus());
        await sizes.Should().ThrowAsync<InvalidOperationException>().WithMessage("*text 3 has 25 values; the first one had 26*");
    }

    private static double Similarity(double[] a, double[] b, EmbeddingSimilarity similarity)
    {
        double dot = a.Zip(b, (x, y) => x * y).Sum();
        return similarity == EmbeddingSimilarity.Dot ? dot : dot / (Math.Sqrt(a.Sum(x => x * x)) * Math.Sqrt(b.Sum(x => x * x)));
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

    /// <summary>A generator foreign to the library: the counts of the letters a–z, unnormalised.</summary>
    private sealed class LetterCountGenerator : IEmbeddingGenerator<string, Embedding<float>>
    {
        public bool DropLast { get; init; }

        public int? RaggedAt { get; init; }

        private int _seen;

        public static double[] Counts(string text)
        {
            var counts = new double[26];
            foreach (char c in text.ToLowerInvariant())
            {
                if (c is >= 'a' and <= 'z')
                    counts[c - 'a']++;
            }
            return counts;
        }

        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            var result = new GeneratedEmbeddings<Embedding<float>>();
            foreach (string text in values)
            {
                float[] vector = [.. Counts(text).Select(x => (float)x)];
                if (_seen++ == RaggedAt)
                    vector = vector[..25];
                result.Add(new Embedding<float>(vector));
            }
            if (DropLast)
                result.RemoveAt(result.Count - 1);
            return Task.FromResult(result);
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
