using System.Collections.Concurrent;
using System.Text.Json;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Models;

/// <summary>The checkpoints and expected outputs written by tests/fixtures/bert/make_bert_fixtures.py (see its README).</summary>
internal static class BertFixture
{
    public const double Tolerance = 1e-5;

    private static readonly ConcurrentDictionary<string, JsonDocument> s_expected = new();

    public static string Dir(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "bert", name);

    public static JsonElement Expected(string name)
        => s_expected.GetOrAdd(name, n => JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Dir(n), "expected.json")))).RootElement;

    /// <summary>A fresh copy of a fixture folder in a temporary directory (for tests that modify files).</summary>
    public static string CopyToTemp(string name)
    {
        string target = Path.Combine(Path.GetTempPath(), $"kd-bert-{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(target);
        foreach (string file in Directory.GetFiles(Dir(name)))
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        return target;
    }

    public static string NewTempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"kd-bert-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>A 1-D or 2-D JSON integer array as an int64 tensor of shape [1, T] or [B, T].</summary>
    public static Tensor Ids(JsonElement array)
    {
        if (array[0].ValueKind == JsonValueKind.Array)
        {
            long[][] rows = array.EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray();
            return tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length]);
        }
        long[] ids = array.EnumerateArray().Select(v => v.GetInt64()).ToArray();
        return tensor(ids, [1, ids.Length]);
    }

    public static float[] Floats(JsonElement array)
    {
        var values = new List<float>();
        Flatten(array, values);
        return values.ToArray();
    }

    public static float[] Floats(Tensor t) => t.detach().to(ScalarType.Float32).contiguous().data<float>().ToArray();

    public static double MaxAbsDiff(Tensor actual, JsonElement expected)
    {
        float[] a = Floats(actual), e = Floats(expected);
        a.Length.Should().Be(e.Length, "the output must have the expected number of values");
        double max = 0;
        for (int i = 0; i < a.Length; i++)
            max = Math.Max(max, Math.Abs((double)a[i] - e[i]));
        return max;
    }

    /// <summary>Max |actual − expected| over the real (mask = 1) positions of [B, T, H] tensors.</summary>
    public static double MaxAbsDiffReal(Tensor actual, JsonElement expected, JsonElement mask)
    {
        float[] a = Floats(actual), e = Floats(expected);
        long[] m = Floats(mask).Select(v => (long)v).ToArray();
        a.Length.Should().Be(e.Length);
        int h = a.Length / m.Length;
        double max = 0;
        for (int p = 0; p < m.Length; p++)
        {
            if (m[p] == 0)
                continue;
            for (int j = 0; j < h; j++)
                max = Math.Max(max, Math.Abs((double)a[p * h + j] - e[p * h + j]));
        }
        return max;
    }

    private static void Flatten(JsonElement e, List<float> into)
    {
        if (e.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement x in e.EnumerateArray())
                Flatten(x, into);
        }
        else
        {
            into.Add(e.GetSingle());
        }
    }
}
