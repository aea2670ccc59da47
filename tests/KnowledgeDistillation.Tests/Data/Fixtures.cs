using System.Text.Json;

namespace KnowledgeDistillation.Tests.Data;

/// <summary>Paths of the data fixtures copied to the test output, and the Python-written expectations.</summary>
internal static class Fixtures
{
    public static string DataFolder => Path.Combine(AppContext.BaseDirectory, "fixtures", "data");

    public static string SciFactFolder => Path.Combine(AppContext.BaseDirectory, "data", "scifact");

    public static string FlagEmbeddingFile(string name) => Path.Combine(DataFolder, name);

    private static readonly Lazy<JsonElement> s_expected = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(DataFolder, "expected.json"))).RootElement);

    public static JsonElement Expected => s_expected.Value;

    public static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (T item in items)
            list.Add(item);
        return list;
    }
}
