using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Models;
using Microsoft.Extensions.AI;

namespace KnowledgeDistillation.Onnx.Tests;

[Collection(RealModelsGroup.Name)]
public sealed class OnnxEmbeddingGeneratorTests(RealModels models)
{
    private static readonly string[] s_sbertSentences = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."];

    private static readonly string[] s_mixedLengths =
    [
        "hello world",
        "A much longer text, so that the short ones in its batch are padded: the pooled embedding must not see the padding.",
        "Ünïcödé, CJK 漢字 and emoji 🙂 go through the Hugging Face-exact tokenizer.",
        "x",
        "Vitamin D deficiency is associated with an increased risk of tuberculosis in several observational cohorts.",
    ];

    [Fact]
    public async Task MiniLM_reproduces_the_sbert_net_quickstart_similarities()
    {
        // sbert.net quickstart, all-MiniLM-L6-v2: model.similarity(embeddings, embeddings).
        double[,] published = { { 1, 0.6660, 0.1046 }, { 0.6660, 1, 0.1411 }, { 0.1046, 0.1411, 1 } };
        using var generator = OnnxEmbeddingGenerator.FromFolder(models.MiniLM);

        GeneratedEmbeddings<Embedding<float>> embeddings = await generator.GenerateAsync(s_sbertSentences);

        embeddings.Should().HaveCount(3);
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 3; j++)
                Cosine(embeddings[i].Vector.Span, embeddings[j].Vector.Span).Should().BeApproximately(published[i, j], 1e-4, $"similarity [{i}, {j}]");
        }
    }

    [Fact]
    public async Task MiniLM_hello_world_matches_fastembeds_canonical_vector()
    {
        // qdrant/fastembed's test vector for sentence-transformers/all-MiniLM-L6-v2 (normalised).
        float[] canonical = [-0.034478f, 0.03102f, 0.00673f, 0.02611f, -0.039362f];
        using var generator = OnnxEmbeddingGenerator.FromFolder(models.MiniLM);

        ReadOnlyMemory<float> vector = await generator.GenerateVectorAsync("hello world");

        vector.Length.Should().Be(384);
        for (int i = 0; i < canonical.Length; i++)
            vector.Span[i].Should().BeApproximately(canonical[i], 1e-4f, $"dimension {i}");
        Norm(vector.Span).Should().BeApproximately(1, 1e-5);
    }

    [Fact]
    public void The_loader_reads_the_sentence_transformers_configuration()
    {
        using var miniLM = OnnxEmbeddingModel.FromFolder(models.MiniLM);
        using var arctic = OnnxEmbeddingModel.FromFolder(models.ArcticXs);

        miniLM.Pooling.Should().Be(PoolingMode.Mean);
        miniLM.Normalize.Should().BeTrue();
        miniLM.MaxSequenceLength.Should().Be(256);
        miniLM.PoolsInGraph.Should().BeFalse("the package's export ends at last_hidden_state");
        miniLM.EmbeddingDimension.Should().Be(384);
        arctic.Pooling.Should().Be(PoolingMode.Cls);
        arctic.QueryPrefix.Should().Be(RealModels.ArcticQueryPrefix);
        arctic.DocumentPrefix.Should().BeEmpty();
        arctic.MaxSequenceLength.Should().Be(512);
    }

    [Fact]
    public void Padding_batch_size_and_order_do_not_change_an_embedding()
    {
        using var batched = OnnxEmbeddingModel.FromFolder(models.MiniLM);
        using var oneByOne = OnnxEmbeddingModel.FromFolder(models.MiniLM, new OnnxEmbeddingModelOptions { BatchSize = 1 });

        float[][] together = batched.Embed(s_mixedLengths, TextKind.Document);
        float[][] reversed = batched.Embed(s_mixedLengths.Reverse().ToArray(), TextKind.Document);
        for (int i = 0; i < s_mixedLengths.Length; i++)
        {
            float[] alone = oneByOne.Embed([s_mixedLengths[i]], TextKind.Document)[0];
            MaxAbsDifference(together[i], alone).Should().BeLessThan(1e-5f, $"text {i} padded in a batch vs alone");
            MaxAbsDifference(reversed[s_mixedLengths.Length - 1 - i], alone).Should().BeLessThan(1e-5f, $"text {i} in reversed order");
        }
    }

    [Fact]
    public async Task ArcticXs_query_and_document_generators_apply_the_query_prompt_and_retrieve_the_model_cards_pairs()
    {
        // snowflake-arctic-embed-xs' model card example: each query's best document.
        using var model = OnnxEmbeddingModel.FromFolder(models.ArcticXs);
        using OnnxEmbeddingGenerator queries = model.AsIEmbeddingGenerator(TextKind.Query);
        using OnnxEmbeddingGenerator documents = model.AsIEmbeddingGenerator(TextKind.Document);

        var q = await queries.GenerateAsync(["what is snowflake?", "Where can I get the best tacos?"]);
        var d = await documents.GenerateAsync(["The Data Cloud!", "Mexico City of Course!"]);
        var prefixedAsDocument = await documents.GenerateAsync([RealModels.ArcticQueryPrefix + "what is snowflake?"]);

        Cosine(q[0].Vector.Span, d[0].Vector.Span).Should().BeGreaterThan(Cosine(q[0].Vector.Span, d[1].Vector.Span));
        Cosine(q[1].Vector.Span, d[1].Vector.Span).Should().BeGreaterThan(Cosine(q[1].Vector.Span, d[0].Vector.Span));
        MaxAbsDifference(q[0].Vector.ToArray(), prefixedAsDocument[0].Vector.ToArray()).Should().BeLessThan(1e-6f, "a query is its prompt + text");
        q.Usage!.InputTokenCount.Should().BeGreaterThan(2 * 10, "the prompt's tokens are counted");
    }

    [Fact]
    public void Concurrent_calls_give_the_sequential_results()
    {
        using var model = OnnxEmbeddingModel.FromFolder(models.MiniLM, new OnnxEmbeddingModelOptions { IntraOpThreads = 1, BatchSize = 2 });
        float[][] expected = model.Embed(s_mixedLengths, TextKind.Document);

        float[][][] results = new float[8][][];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => results[i] = model.Embed(s_mixedLengths, TextKind.Document));

        foreach (float[][] result in results)
        {
            for (int i = 0; i < expected.Length; i++)
                result[i].Should().Equal(expected[i]);
        }
    }

    [Fact]
    public async Task A_cancelled_token_and_a_disposed_model_throw()
    {
        var generator = OnnxEmbeddingGenerator.FromFolder(models.MiniLM);
        using (var cancelled = new CancellationTokenSource())
        {
            await cancelled.CancelAsync();
            Func<Task> cancelledCall = () => generator.GenerateAsync(s_mixedLengths, cancellationToken: cancelled.Token);
            await cancelledCall.Should().ThrowAsync<OperationCanceledException>();
        }

        generator.Dispose();
        Func<Task> afterDispose = () => generator.GenerateAsync(["hello"]);
        await afterDispose.Should().ThrowAsync<ObjectDisposedException>();
    }

    [Fact]
    public async Task Metadata_dimensions_and_services_are_reported()
    {
        using var generator = OnnxEmbeddingGenerator.FromFolder(models.MiniLM);

        generator.GetService<EmbeddingGeneratorMetadata>()!.DefaultModelDimensions.Should().Be(384);
        generator.GetService<OnnxEmbeddingModel>().Should().BeSameAs(generator.Model);
        (await generator.GenerateAsync([])).Should().BeEmpty();
        Func<Task> wrongSize = () => generator.GenerateAsync(["hello"], new EmbeddingGenerationOptions { Dimensions = 128 });
        await wrongSize.Should().ThrowAsync<ArgumentException>().WithMessage("*384*128*");
    }

    [Fact]
    public void A_folder_without_manifest_or_modules_json_is_refused_with_a_typed_error()
    {
        string folder = models.NewFolder("plain");
        File.Copy(Path.Combine(models.MiniLM, "vocab.txt"), Path.Combine(folder, "vocab.txt"));
        File.Copy(Path.Combine(models.MiniLM, "model.onnx"), Path.Combine(folder, "model.onnx"));

        Action load = () => OnnxEmbeddingModel.FromFolder(folder);

        load.Should().Throw<CheckpointException>().Where(e => e.Message.Contains("onnx_export.json") && e.Message.Contains("modules.json") && e.FilePath == folder);
        using var withPooling = OnnxEmbeddingModel.FromFolder(folder, new OnnxEmbeddingModelOptions { Pooling = PoolingMode.Mean });
        withPooling.Normalize.Should().BeFalse("a plain folder has no Normalize module");
    }

    [Fact]
    public void A_file_that_is_not_an_onnx_model_is_refused_with_a_typed_error()
    {
        string folder = models.Copy(models.MiniLM, "garbage");
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), "this is not a protobuf model"u8.ToArray());

        Action load = () => OnnxEmbeddingModel.FromFolder(folder);

        load.Should().Throw<CheckpointException>().Where(e => e.FilePath == Path.Combine(folder, "model.onnx") && e.Message.Contains("ONNX Runtime cannot load it"));
    }

    [Fact]
    public void A_vocabulary_larger_than_the_models_embedding_matrix_is_refused_with_a_typed_error()
    {
        string folder = models.Copy(models.MiniLM, "big-vocab");
        File.AppendAllLines(Path.Combine(folder, "vocab.txt"), Enumerable.Range(0, 100).Select(i => $"extra_token_{i}"));

        Action load = () => OnnxEmbeddingModel.FromFolder(folder);

        load.Should().Throw<CheckpointException>().Where(e => e.Message.Contains("30622") && e.Message.Contains("does not belong to this model"));
    }

    [Fact]
    public void A_missing_model_file_is_reported_with_its_path()
    {
        string folder = models.Copy(models.MiniLM, "no-model");
        File.Delete(Path.Combine(folder, "model.onnx"));

        Action load = () => OnnxEmbeddingModel.FromFolder(folder);
        Action missingNamed = () => OnnxEmbeddingModel.FromFolder(models.MiniLM, new OnnxEmbeddingModelOptions { ModelFile = "model.int8.onnx" });

        load.Should().Throw<FileNotFoundException>().WithMessage("*model.onnx*");
        missingNamed.Should().Throw<FileNotFoundException>().WithMessage("*model.int8.onnx*");
    }

    internal static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }

    internal static double Norm(ReadOnlySpan<float> a)
    {
        double s = 0;
        foreach (float x in a)
            s += (double)x * x;
        return Math.Sqrt(s);
    }

    internal static float MaxAbsDifference(float[] a, float[] b)
    {
        a.Length.Should().Be(b.Length);
        float max = 0;
        for (int i = 0; i < a.Length; i++)
            max = Math.Max(max, Math.Abs(a[i] - b[i]));
        return max;
    }
}
