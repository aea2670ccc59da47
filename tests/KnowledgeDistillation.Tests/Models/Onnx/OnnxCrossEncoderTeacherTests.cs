using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Formats.Onnx;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Onnx;
using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Tests.Onnx;
using TorchSharp;
using Xunit.Abstractions;

namespace KnowledgeDistillation.Tests.Models.Onnx;

/// <summary>
/// The ONNX Runtime teacher against <see cref="CrossEncoderTeacher"/> (libtorch) on the same exported model and pairs:
/// ONNX Runtime implements every operator independently, so equal scores check the tokenization, truncation, batching,
/// label and activation the two teachers share. The int8 graph is held to drift bounds on a real encoder.
/// </summary>
[Collection(PretrainedModelsGroup.Name)]
public sealed class OnnxCrossEncoderTeacherTests(PretrainedModels models, ITestOutputHelper output) : IDisposable
{
    private const float Fp32Tolerance = 1e-5f;
    private readonly List<string> _folders = [];

    // SciFact queries against SciFact documents and adversarial strings: long pairs are truncated longest_first, short
    // ones pad, batches mix lengths.
    private static QueryDocumentPair[] Pairs(int queries, int documents)
    {
        string[] q = [.. OnnxReference.SciFactQueries(queries - 2), "", "ünïcödé  ßtraße — \u00e9t\u00e9 東京 🙂"];
        string[] d = [.. OnnxReference.SciFactDocuments(documents - 8), .. OnnxReference.AdversarialStrings().Take(7), ""];
        return [.. q.SelectMany(query => d.Select(document => new QueryDocumentPair(query, document)))];
    }

    [Theory]
    [InlineData(CrossEncoderActivation.None, 64, 7, true)]
    [InlineData(CrossEncoderActivation.Sigmoid, 128, 32, false)]
    public async Task Scores_are_the_libtorch_teachers_to_1e5(CrossEncoderActivation activation, int maxLength, int batchSize, bool sortByLength)
    {
        string fixture = BertFixture.Dir("crossencoder-gelu");
        var torchOptions = new CrossEncoderTeacherOptions { Activation = activation, MaxLength = maxLength, BatchSize = batchSize, SortByLength = sortByLength };
        using CrossEncoderTeacher reference = CrossEncoderTeacher.FromPretrained(fixture, torchOptions);
        string folder = NewFolder();
        await reference.ExportOnnxAsync(folder);
        using OnnxCrossEncoderTeacher teacher = OnnxCrossEncoderTeacher.FromFolder(folder, new OnnxCrossEncoderTeacherOptions
        {
            Activation = activation,
            MaxLength = maxLength,
            BatchSize = batchSize,
            SortByLength = sortByLength,
        });

        QueryDocumentPair[] pairs = Pairs(6, 30);
        float[] expected = await reference.ScoreAsync(pairs);
        float[] actual = await teacher.ScoreAsync(pairs);

        teacher.MaxLength.Should().Be(maxLength);
        teacher.IsQuantized.Should().BeFalse();
        actual.Should().HaveCount(pairs.Length);
        actual.Zip(expected, (a, e) => Math.Abs(a - e)).Max().Should().BeLessThanOrEqualTo(Fp32Tolerance);
        expected.Distinct().Count().Should().BeGreaterThan(pairs.Length / 2, "the pairs score differently, so a shuffled order would show");
    }

    [Fact]
    public async Task The_default_max_length_is_the_libtorch_teachers_and_a_longer_one_is_refused()
    {
        string fixture = BertFixture.Dir("crossencoder-gelu");
        using CrossEncoderTeacher reference = CrossEncoderTeacher.FromPretrained(fixture);
        string folder = NewFolder();
        await reference.ExportOnnxAsync(folder);
        using OnnxCrossEncoderTeacher teacher = OnnxCrossEncoderTeacher.FromFolder(folder);

        teacher.MaxLength.Should().Be(reference.MaxLength);
        QueryDocumentPair[] pairs = Pairs(3, 12);
        float[] expected = await reference.ScoreAsync(pairs);
        (await teacher.ScoreAsync(pairs)).Zip(expected, (a, e) => Math.Abs(a - e)).Max().Should().BeLessThanOrEqualTo(Fp32Tolerance);

        Action tooLong = () => OnnxCrossEncoderTeacher.FromFolder(folder, new OnnxCrossEncoderTeacherOptions { MaxLength = 129 });
        tooLong.Should().Throw<ArgumentException>().WithMessage("*129*128 positions*");
        Action badLabel = () => OnnxCrossEncoderTeacher.FromFolder(folder, new OnnxCrossEncoderTeacherOptions { LabelIndex = 1 });
        badLabel.Should().Throw<ArgumentException>().WithMessage("*LabelIndex 1*1 logit*");
    }

    [Fact]
    public async Task At_batch_size_1_a_pairs_score_is_bit_for_bit_the_same_whatever_else_is_scored_so_shards_reproduce_a_single_run()
    {
        string fixture = BertFixture.Dir("crossencoder-gelu");
        string folder = NewFolder();
        using (CrossEncoderTeacher reference = CrossEncoderTeacher.FromPretrained(fixture))
            await reference.ExportOnnxAsync(folder, quantize: true);
        QueryDocumentPair[] pairs = Pairs(4, 12);
        foreach (string? file in new[] { null, OnnxExporter.QuantizedModelFileName })
        {
            using OnnxCrossEncoderTeacher all = OnnxCrossEncoderTeacher.FromFolder(folder, new OnnxCrossEncoderTeacherOptions { ModelFile = file, BatchSize = 1 });
            using OnnxCrossEncoderTeacher again = OnnxCrossEncoderTeacher.FromFolder(folder, new OnnxCrossEncoderTeacherOptions { ModelFile = file, BatchSize = 1 });
            float[] together = await all.ScoreAsync(pairs);
            // Odd pairs alone, in reverse, in a second session: a shard of its own.
            QueryDocumentPair[] shard = [.. pairs.Where((_, i) => i % 2 == 1).Reverse()];
            float[] apart = await again.ScoreAsync(shard);
            float[] expected = [.. together.Where((_, i) => i % 2 == 1).Reverse()];
            apart.Select(BitConverter.SingleToInt32Bits).Should().Equal(expected.Select(BitConverter.SingleToInt32Bits), file ?? "model.onnx");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_teacher_with_the_exact_match_input_exports_a_fourth_input_and_scores_as_libtorch_does(bool quantize)
    {
        // The QuickStart's kind of teacher: from scratch, with the exact-match table. Its rows are made large, so a graph
        // that dropped or mis-fed the input would score far from libtorch (checked below against the table zeroed).
        var tokenizer = KnowledgeDistillation.Tokenization.HuggingFaceBertTokenizer.FromFolder(BertFixture.Dir("crossencoder-gelu"));
        BertConfig config = new BertConfig(tokenizer.VocabularySize, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 64, maxPositionEmbeddings: 128)
        {
            ExactMatchEmbedding = true,
        }.WithNumLabels(1);
        using var reference = new CrossEncoderTeacher(BertForSequenceClassification.Create(config, seed: 5), tokenizer, new CrossEncoderTeacherOptions { MaxLength = 64, BatchSize = 8 });
        torch.Tensor table = reference.Model.get_parameter("bert.embeddings.exact_match_embeddings.weight")!;
        using (torch.no_grad())
        using (torch.Tensor row = table[1], values = torch.linspace(-3.0, 3.0, 32))
        {
            row.copy_(values);
        }
        string folder = NewFolder();
        await reference.ExportOnnxAsync(folder, quantize);
        using OnnxCrossEncoderTeacher teacher = OnnxCrossEncoderTeacher.FromFolder(folder, new OnnxCrossEncoderTeacherOptions { MaxLength = 64, BatchSize = 8, ModelFile = quantize ? OnnxExporter.QuantizedModelFileName : null });

        QueryDocumentPair[] pairs = Pairs(4, 20);
        float[] expected = await reference.ScoreAsync(pairs);
        float[] actual = await teacher.ScoreAsync(pairs);
        using (torch.no_grad())
        {
            table.zero_();
        }
        float[] withoutMatches = await reference.ScoreAsync(pairs);

        teacher.IsQuantized.Should().Be(quantize);
        double range = expected.Max() - expected.Min();
        double inputEffect = expected.Zip(withoutMatches, (e, w) => Math.Abs(e - w)).Max();
        double largest = actual.Zip(expected, (a, e) => Math.Abs(a - e)).Max();
        output.WriteLine($"score range {range:G4}, largest effect of the exact-match input {inputEffect:G4}, largest ONNX Runtime difference {largest:G4}");
        inputEffect.Should().BeGreaterThan(range / 4, "the exact-match rows move the scores");
        if (quantize)
            largest.Should().BeLessThan(inputEffect / 100, "int8 drift stays far below what the exact-match input contributes");
        else
            largest.Should().BeLessThanOrEqualTo(Fp32Tolerance);
    }

    [Fact]
    public async Task An_embedding_export_is_refused_with_the_graphs_outputs_named()
    {
        string folder = NewFolder();
        using (var student = new BiEncoderStudent(BertModel.FromPretrained(BertFixture.Dir("encoder-gelunew")), KnowledgeDistillation.Tokenization.HuggingFaceBertTokenizer.FromFolder(BertFixture.Dir("encoder-gelunew"))))
            await student.ExportOnnxAsync(folder);
        Action load = () => OnnxCrossEncoderTeacher.FromFolder(folder);
        load.Should().Throw<KnowledgeDistillation.Formats.Checkpoints.CheckpointException>()
            .WithMessage("*no \"logits\" output*sentence_embedding*");
    }

    [Fact]
    public async Task Through_the_cache_scores_are_stored_once_and_an_engine_or_precision_change_is_refused_by_name()
    {
        string fixture = BertFixture.Dir("crossencoder-gelu");
        using CrossEncoderTeacher torchTeacher = CrossEncoderTeacher.FromPretrained(fixture);
        string folder = NewFolder();
        await torchTeacher.ExportOnnxAsync(folder, quantize: true);
        using OnnxCrossEncoderTeacher fp32 = OnnxCrossEncoderTeacher.FromFolder(folder);
        using OnnxCrossEncoderTeacher int8 = OnnxCrossEncoderTeacher.FromFolder(folder, new OnnxCrossEncoderTeacherOptions { ModelFile = OnnxExporter.QuantizedModelFileName });

        fp32.Identity.Should().StartWith("cross-encoder/onnx:sha256:").And.EndWith(";engine=onnxruntime;precision=float32;quantization=none");
        int8.IsQuantized.Should().BeTrue();
        int8.Identity.Should().EndWith(";engine=onnxruntime;precision=int8;quantization=dynamic");
        OnnxCrossEncoderTeacher.FromFolder(folder).Identity.Should().Be(fp32.Identity, "the identity is a function of the files and options");

        string cachePath = Path.Combine(NewFolder(), "scores.kdc");
        QueryDocumentPair[] pairs = Pairs(3, 10);
        float[] direct = await fp32.ScoreAsync(pairs);
        await using (CachingTeacher cached = await CachingTeacher.OpenAsync(fp32, cachePath))
        {
            (await cached.ScoreAsync(pairs)).Should().Equal(direct);
            cached.Cache.Count.Should().Be(pairs.Length);
        }
        // Reopened, the cache answers without the model: the teacher is disposed first.
        string identity = fp32.Identity;
        fp32.Dispose();
        await using (TeacherScoreCache reopened = await TeacherScoreCache.OpenAsync(cachePath, identity))
        {
            reopened.Count.Should().Be(pairs.Length);
            await using var cached = new CachingTeacher(new DelegateTeacher(identity, (_, _) => throw new InvalidOperationException("no model should run")), reopened);
            (await cached.ScoreAsync(pairs)).Should().Equal(direct);
        }

        Func<Task> int8OnFp32 = () => CachingTeacher.OpenAsync(int8, cachePath);
        (await int8OnFp32.Should().ThrowAsync<TeacherScoreCacheException>())
            .WithMessage("*engine=onnxruntime;precision=float32;quantization=none*engine=onnxruntime;precision=int8;quantization=dynamic*not mixed*");
        Func<Task> torchOnOnnx = () => CachingTeacher.OpenAsync(torchTeacher, cachePath);
        (await torchOnOnnx.Should().ThrowAsync<TeacherScoreCacheException>())
            .WithMessage("*came from engine=onnxruntime;precision=float32*come from engine=libtorch*not mixed*");
    }

    [Fact]
    public async Task Int8_scores_of_a_real_encoder_keep_each_querys_ranking()
    {
        // all-MiniLM-L6-v2's encoder and pooler with a one-logit head along the first principal component of these pairs'
        // pooled states: the direction in which they differ most, as a trained head's is. (A random head reads a direction
        // the pairs barely differ in, where int8's noise is as large as the signal: min Spearman 0.92 measured.)
        const int Queries = 5, Candidates = 24, MaxLength = 128;
        string[] queries = OnnxReference.SciFactQueries(Queries);
        string[] documents = OnnxReference.SciFactDocuments(Candidates);
        QueryDocumentPair[] pairs = [.. queries.SelectMany(q => documents.Select(d => new QueryDocumentPair(q, d)))];
        string folder = NewFolder();
        using (CrossEncoderTeacher reference = CrossEncoderTeacher.FromEncoder(models.MiniLM, new CrossEncoderTeacherOptions { MaxLength = MaxLength }, seed: 5))
        {
            SetPrincipalHead(reference, pairs, MaxLength, scoreRange: 10);
            await reference.ExportOnnxAsync(folder, quantize: true);
        }
        using OnnxCrossEncoderTeacher fp32 = OnnxCrossEncoderTeacher.FromFolder(folder);
        using OnnxCrossEncoderTeacher int8 = OnnxCrossEncoderTeacher.FromFolder(folder, new OnnxCrossEncoderTeacherOptions { ModelFile = OnnxExporter.QuantizedModelFileName });
        float[] a = await fp32.ScoreAsync(pairs);
        float[] b = await int8.ScoreAsync(pairs);

        double minSpearman = 1, sumSpearman = 0, minOverlap = 1, maxAbs = 0, spread = 0;
        for (int q = 0; q < Queries; q++)
        {
            double[] x = a.Skip(q * Candidates).Take(Candidates).Select(v => (double)v).ToArray();
            double[] y = b.Skip(q * Candidates).Take(Candidates).Select(v => (double)v).ToArray();
            double rho = RankCorrelation.Spearman(x, y);
            minSpearman = Math.Min(minSpearman, rho);
            sumSpearman += rho;
            var topX = Enumerable.Range(0, Candidates).OrderByDescending(i => x[i]).Take(10).ToHashSet();
            var topY = Enumerable.Range(0, Candidates).OrderByDescending(i => y[i]).Take(10);
            minOverlap = Math.Min(minOverlap, topY.Count(topX.Contains) / 10.0);
            maxAbs = Math.Max(maxAbs, x.Zip(y, (u, v) => Math.Abs(u - v)).Max());
            spread = Math.Max(spread, x.Max() - x.Min());
        }
        output.WriteLine($"int8 vs float32 over {Queries} queries x {Candidates} candidates: mean Spearman {sumSpearman / Queries:F4}, min {minSpearman:F4}, min top-10 overlap {minOverlap:F2}, max |diff| {maxAbs:G3} (largest per-query score range {spread:G3})");

        maxAbs.Should().BeGreaterThan(0, "the int8 graph is really quantized");
        (sumSpearman / Queries).Should().BeGreaterThanOrEqualTo(0.99, "the issue's bound, on the mean of the queries");
        minSpearman.Should().BeGreaterThanOrEqualTo(0.98, "no query's ranking is much worse (0.986 measured)");
        minOverlap.Should().BeGreaterThanOrEqualTo(0.8);
        maxAbs.Should().BeLessThan(0.05 * spread, "int8 moves a score by a small part of a query's score range");
    }

    // classifier.weight := the unit first principal component of the pairs' pooled states (power iteration), scaled so that
    // the scores span scoreRange; bias 0.
    private static void SetPrincipalHead(CrossEncoderTeacher teacher, QueryDocumentPair[] pairs, int maxLength, float scoreRange)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var batch = teacher.Tokenizer.EncodeBatch(pairs.Select(p => p.Query).ToArray(), pairs.Select(p => p.Document).ToArray(), maxLength);
        (torch.Tensor ids, torch.Tensor mask, torch.Tensor types) = batch.ToTensors();
        torch.Tensor pooled = teacher.Model.Bert.Forward(ids, mask, types).PoolerOutput!;
        torch.Tensor centered = pooled - pooled.mean([0], keepdim: true);
        torch.Tensor v = torch.ones(pooled.shape[1]);
        for (int i = 0; i < 100; i++)
        {
            v = centered.t().mv(centered.mv(v));
            v = v / v.norm();
        }
        torch.Tensor projected = centered.mv(v);
        float range = (projected.max() - projected.min()).item<float>();
        var weights = teacher.Model.state_dict();
        weights["classifier.weight"].copy_((v * (scoreRange / range)).unsqueeze(0));
        weights["classifier.bias"].zero_();
    }

    public void Dispose()
    {
        foreach (string folder in _folders)
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // A session still maps a file; the temporary folder is left to the OS.
            }
        }
    }

    private string NewFolder()
    {
        string folder = BertFixture.NewTempDir();
        _folders.Add(folder);
        return folder;
    }
}
