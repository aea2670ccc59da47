using System.IO.Compression;
using System.Text.Json;
using KnowledgeDistillation.Tokenization;

namespace KnowledgeDistillation.Tests.Tokenization;

/// <summary>Paths and readers for the fixtures written by tests/fixtures/tokenization/make_tokenization_fixtures.py.</summary>
internal static class TokenizationFixtures
{
    internal static string Directory => Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenization");

    internal static string UncasedVocabulary => Path.Combine(AppContext.BaseDirectory, "data", "bert-base-uncased", "vocab.txt");

    internal static string BertFixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "bert", name);

    private static readonly Lazy<HuggingFaceBertTokenizer> s_uncased = new(() => Create(lowerCase: true, stripAccents: null));

    /// <summary>bert-base-uncased's settings and vocabulary, shared by tests (the tokenizer is immutable).</summary>
    internal static HuggingFaceBertTokenizer Uncased => s_uncased.Value;

    internal static HuggingFaceBertTokenizer Create(bool lowerCase, bool? stripAccents) =>
        HuggingFaceBertTokenizer.FromVocabularyFile(UncasedVocabulary, new HuggingFaceBertTokenizerOptions { LowerCase = lowerCase, StripAccents = stripAccents });

    internal static IEnumerable<JsonElement> ReadRows(string fileName)
    {
        string path = Path.Combine(Directory, fileName);
        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0)
                continue;
            using JsonDocument document = JsonDocument.Parse(line);
            yield return document.RootElement.Clone();
        }
    }

    internal static int[] Ints(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();

    /// <summary>A readable diff of one mismatch: the text (escaped), expected and actual ids and tokens.</summary>
    internal static string Describe(HuggingFaceBertTokenizer tokenizer, string label, string text, IReadOnlyList<int> expected, IReadOnlyList<int> actual)
    {
        static string Escape(string s) => JsonSerializer.Serialize(s);
        string Tokens(IReadOnlyList<int> ids) => string.Join(" ", ids.Select(id => id >= 0 && id < tokenizer.VocabularySize ? tokenizer.ConvertIdsToTokens([id])[0] : $"<{id}>"));
        return $"{label} text {Escape(text)}\n  expected [{string.Join(",", expected)}] {Tokens(expected)}\n  actual   [{string.Join(",", actual)}] {Tokens(actual)}";
    }
}
