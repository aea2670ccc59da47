using System.Text.Json;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Losses;

/// <summary>
/// The reference cases of tests/fixtures/losses/loss_cases.json, written by make_loss_fixtures.py (an independent
/// PyTorch float64 implementation; see the README beside it).
/// </summary>
internal static class LossFixtures
{
    private static readonly Lazy<IReadOnlyDictionary<string, JsonElement>> s_cases = new(Load);

    public static IReadOnlyDictionary<string, JsonElement> Cases => s_cases.Value;

    public static JsonElement Case(string name) => Cases.TryGetValue(name, out JsonElement c)
        ? c
        : throw new KeyNotFoundException($"No loss fixture case named '{name}'.");

    /// <summary>A nested JSON array of numbers as a tensor of that shape.</summary>
    public static Tensor ToTensor(JsonElement array, ScalarType dtype, bool requiresGrad = false)
    {
        var shape = new List<long>();
        JsonElement e = array;
        while (e.ValueKind == JsonValueKind.Array)
        {
            shape.Add(e.GetArrayLength());
            if (e.GetArrayLength() == 0)
                break;
            e = e[0];
        }
        var values = new List<double>();
        Flatten(array, values);
        using Tensor t64 = tensor(values.ToArray(), shape.ToArray(), ScalarType.Float64);
        Tensor t = t64.to_type(dtype);
        if (requiresGrad)
            t.requires_grad_(true);
        return t;
    }

    /// <summary>Flattens a nested JSON array of numbers in row-major order.</summary>
    public static double[] Values(JsonElement array)
    {
        var values = new List<double>();
        Flatten(array, values);
        return values.ToArray();
    }

    private static void Flatten(JsonElement e, List<double> values)
    {
        if (e.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement item in e.EnumerateArray())
                Flatten(item, values);
        }
        else
        {
            values.Add(e.GetDouble());
        }
    }

    private static Dictionary<string, JsonElement> Load()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "fixtures", "losses", "loss_cases.json");
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.GetProperty("cases").EnumerateArray()
            .ToDictionary(c => c.GetProperty("name").GetString()!, c => c.Clone(), StringComparer.Ordinal);
    }
}
