using System.Text.Json;
using KnowledgeDistillation.Losses;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Losses;

// Every reference case, in float64 (1e-6 relative) and float32 (1e-4 relative): value, gradients, components and the
// transformed teacher scores.
public class LossParityTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string name in LossFixtures.Cases.Keys.Order(StringComparer.Ordinal))
        {
            data.Add(name, "float64");
            data.Add(name, "float32");
        }
        return data;
    }

    [Fact]
    public void The_fixture_file_covers_every_built_in_loss()
    {
        var kinds = LossFixtures.Cases.Values.Select(c => c.GetProperty("loss").GetString()).ToHashSet();
        kinds.Should().BeEquivalentTo(["margin_mse", "kl", "score_mse", "contrastive_embeddings", "contrastive_scores",
            "embedding_mse", "weighted_mse_contrastive", "weighted_kl_score_mse"]);
        LossFixtures.Cases.Count.Should().BeGreaterThanOrEqualTo(197);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_loss_matches_the_reference_in_value_and_gradient(string name, string dtypeName)
    {
        ScalarType dtype = dtypeName == "float64" ? ScalarType.Float64 : ScalarType.Float32;
        double tolerance = Compare.Tolerance(dtype);
        JsonElement c = LossFixtures.Case(name);
        JsonElement p = c.GetProperty("params");
        JsonElement inputs = c.GetProperty("inputs");
        var gradNames = c.GetProperty("grads").EnumerateObject().Select(g => g.Name).ToHashSet();
        using var scope = NewDisposeScope();

        var leaves = new Dictionary<string, Tensor>();
        Tensor? Input(string key)
        {
            if (!inputs.TryGetProperty(key, out JsonElement v))
                return null;
            Tensor t = LossFixtures.ToTensor(v, dtype, requiresGrad: gradNames.Contains(key));
            leaves[key] = t;
            return t;
        }

        Tensor? s = Input("s"), t = Input("t"), S = Input("S"), q = Input("q"), d = Input("d"), xs = Input("xs"), xt = Input("xt");
        Tensor? scores = s;
        if (scores is null && S is not null)
        {
            long b = S.shape[0], cc = S.shape[1] / b;
            using Tensor rows = arange(b).unsqueeze(1);
            scores = S.gather(1, rows * cc + arange(cc).unsqueeze(0));
        }
        // Losses that read only embeddings still need [B, C] scores to build a StudentOutput: zeros of the right shape.
        scores ??= d is not null ? zeros(d.shape[0], d.shape[1], dtype: dtype) : zeros(xs!.shape[0], 1, dtype: dtype);
        var student = new StudentOutput(scores, S, q ?? xs, d);
        var teacher = new TeacherOutput(t, queryEmbeddings: xt);

        using EmbeddingMseLoss? embedding = c.GetProperty("loss").GetString() == "embedding_mse" ? EmbeddingLoss(p, inputs, dtype, leaves) : null;
        IDistillationLoss loss = embedding ?? Build(c.GetProperty("loss").GetString()!, p);

        Tensor value;
        if (loss is ICompositeLoss composite)
        {
            LossBreakdown breakdown = composite.ComputeWithComponents(student, teacher);
            value = breakdown.Total;
            foreach (JsonProperty component in c.GetProperty("components").EnumerateObject())
            {
                string ours = component.Name.Replace('_', '-');
                breakdown.Components.Should().ContainKey(ours);
                Compare.Value(breakdown.Components[ours], component.Value.GetDouble(), tolerance, $"{name} component {ours}");
            }
            breakdown.Components.Should().HaveCount(c.GetProperty("components").EnumerateObject().Count());
        }
        else
        {
            value = loss.Compute(student, teacher);
        }

        value.dtype.Should().Be(dtype);
        value.dim().Should().Be(0);
        Compare.Value(value.to_type(ScalarType.Float64).item<double>(), c.GetProperty("value").GetDouble(), tolerance, $"{name} value");

        value.backward();
        foreach (JsonProperty grad in c.GetProperty("grads").EnumerateObject())
        {
            Tensor leaf = leaves[grad.Name];
            leaf.grad.Should().NotBeNull($"{name}: gradient of {grad.Name}");
            Compare.Elements(Compare.ToDoubles(leaf.grad!), LossFixtures.Values(grad.Value), tolerance, $"{name} d/d{grad.Name}");
        }

        if (inputs.TryGetProperty("t_transformed", out JsonElement transformed))
        {
            Tensor ours = Transform(p).Apply(t!);
            Compare.Elements(Compare.ToDoubles(ours), LossFixtures.Values(transformed), tolerance, $"{name} transformed teacher");
        }
    }

    private static IDistillationLoss Build(string kind, JsonElement p) => kind switch
    {
        "margin_mse" => new MarginMseLoss(Transform(p)),
        "kl" => Kl(p),
        "score_mse" => new ScoreMseLoss(),
        // Scale 20 (cosine) and 1 (scores) are the defaults: leave them unset so the defaults are what is tested.
        "contrastive_embeddings" => new ContrastiveLoss(
            scale: p.GetProperty("scale").GetDouble() == 20.0 ? null : p.GetProperty("scale").GetDouble(),
            inBatchNegatives: InBatch(p, defaultValue: true)),
        "contrastive_scores" => new ContrastiveLoss(
            similarity: ContrastiveSimilarity.StudentScores,
            inBatchNegatives: InBatch(p, defaultValue: true)),
        "weighted_mse_contrastive" => new WeightedLoss(
            (new MarginMseLoss(), p.GetProperty("weights").GetProperty("margin_mse").GetDouble()),
            (new ContrastiveLoss(), p.GetProperty("weights").GetProperty("contrastive").GetDouble())),
        "weighted_kl_score_mse" => new WeightedLoss(
            (Kl(p), p.GetProperty("weights").GetProperty("kl").GetDouble()),
            (new ScoreMseLoss(), p.GetProperty("weights").GetProperty("score_mse").GetDouble())),
        _ => throw new InvalidOperationException($"Unknown loss kind '{kind}' in the fixtures."),
    };

    private static KlDivergenceLoss Kl(JsonElement p) => new(
        studentTemperature: p.GetProperty("Ts").GetDouble(),
        teacherTemperature: p.GetProperty("Tt").GetDouble(),
        scaleByTemperatureSquared: p.GetProperty("scale_t2").GetBoolean(),
        inBatchNegatives: InBatch(p, defaultValue: false),
        teacherTransform: Transform(p));

    private static bool InBatch(JsonElement p, bool defaultValue) =>
        p.TryGetProperty("inbatch", out JsonElement v) ? v.GetBoolean() : defaultValue;

    private static TeacherScoreTransform Transform(JsonElement p)
    {
        if (!p.TryGetProperty("transform", out JsonElement kind))
            return TeacherScoreTransform.Identity;
        return kind.GetString() switch
        {
            "identity" => TeacherScoreTransform.Identity,
            "sigmoid" => TeacherScoreTransform.Sigmoid,
            "minmax" => TeacherScoreTransform.MinMax,
            "zscore" => TeacherScoreTransform.ZScore,
            "scale" => TeacherScoreTransform.Scale(p.GetProperty("transform_scale").GetDouble()),
            string other => throw new InvalidOperationException($"Unknown transform '{other}'."),
            null => throw new InvalidOperationException("Null transform."),
        };
    }

    // The projection's parameters are the loss's own: load the reference W and b into them and check their gradients.
    private static EmbeddingMseLoss EmbeddingLoss(JsonElement p, JsonElement inputs, ScalarType dtype, Dictionary<string, Tensor> leaves)
    {
        if (!p.GetProperty("projection").GetBoolean())
            return new EmbeddingMseLoss();
        var loss = new EmbeddingMseLoss(
            studentDimension: p.GetProperty("ds").GetInt32(),
            teacherDimension: p.GetProperty("dt").GetInt32(),
            projectionDType: dtype);
        var parameters = loss.NamedParameters().ToDictionary(x => x.Name, x => x.Parameter);
        Parameter weight = parameters["projection.weight"], bias = parameters["projection.bias"];
        using (no_grad())
        {
            using Tensor w = LossFixtures.ToTensor(inputs.GetProperty("W"), dtype);
            using Tensor b = LossFixtures.ToTensor(inputs.GetProperty("b"), dtype);
            weight.copy_(w);
            bias.copy_(b);
        }
        leaves["W"] = weight;
        leaves["b"] = bias;
        return loss;
    }
}
