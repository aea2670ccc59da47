using System.Text.Json;
using KnowledgeDistillation.Tokenization;

namespace KnowledgeDistillation.Tests.Tokenization;

/// <summary>
/// Every id against the independent Python reference of HF's fast BERT tokenizer
/// (tests/fixtures/reference/hf_bert_tokenizer.py, fixtures in tests/fixtures/tokenization).
/// </summary>
public class HuggingFaceParityTests
{
    [Theory]
    [InlineData("scifact_corpus_uncased.jsonl.gz", 5183)]
    [InlineData("scifact_queries_uncased.jsonl.gz", 1109)]
    public void Every_SciFact_text_gets_the_reference_ids(string fileName, int expectedRows)
    {
        HuggingFaceBertTokenizer tokenizer = TokenizationFixtures.Uncased;
        var failures = new List<string>();
        int rows = 0;
        foreach (JsonElement row in TokenizationFixtures.ReadRows(fileName))
        {
            rows++;
            string text = row.GetProperty("text").GetString()!;
            int[] expected = TokenizationFixtures.Ints(row.GetProperty("ids"));
            int[] actual = tokenizer.Tokenize(text);
            if (!actual.AsSpan().SequenceEqual(expected))
                failures.Add(TokenizationFixtures.Describe(tokenizer, $"id {row.GetProperty("id")}", text, expected, actual));
        }

        rows.Should().Be(expectedRows);
        failures.Should().BeEmpty("every text must match HF exactly; first mismatches:\n{0}", string.Join("\n", failures.Take(5)));
    }

    [Fact]
    public void Every_adversarial_string_gets_the_reference_ids_in_all_four_settings()
    {
        var tokenizers = new Dictionary<(bool, bool?), HuggingFaceBertTokenizer>();
        var failures = new List<string>();
        int rows = 0;
        foreach (JsonElement row in TokenizationFixtures.ReadRows("adversarial.jsonl.gz"))
        {
            rows++;
            JsonElement settings = row.GetProperty("settings");
            bool lowerCase = settings.GetProperty("do_lower_case").GetBoolean();
            JsonElement strip = settings.GetProperty("strip_accents");
            bool? stripAccents = strip.ValueKind == JsonValueKind.Null ? null : strip.GetBoolean();
            if (!tokenizers.TryGetValue((lowerCase, stripAccents), out HuggingFaceBertTokenizer? tokenizer))
                tokenizers[(lowerCase, stripAccents)] = tokenizer = TokenizationFixtures.Create(lowerCase, stripAccents);

            string text = row.GetProperty("text").GetString()!;
            int[] expected = TokenizationFixtures.Ints(row.GetProperty("ids"));
            int[] actual = tokenizer.Tokenize(text);
            if (!actual.AsSpan().SequenceEqual(expected))
            {
                failures.Add(TokenizationFixtures.Describe(tokenizer, $"(do_lower_case={lowerCase}, strip_accents={stripAccents?.ToString() ?? "None"})", text, expected, actual));
                continue;
            }

            // The WordPiece strings are in the fixture too; they must round-trip through the vocabulary.
            string[] expectedTokens = row.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToArray();
            tokenizer.TokenizeToStrings(text).Should().Equal(expectedTokens);
        }

        rows.Should().Be(684);
        tokenizers.Should().HaveCount(4);
        failures.Should().BeEmpty("every string must match HF exactly; mismatches:\n{0}", string.Join("\n", failures.Take(20)));
    }

    [Fact]
    public void Pairs_and_single_texts_get_the_reference_ids_and_token_types_with_fast_longest_first_truncation()
    {
        HuggingFaceBertTokenizer tokenizer = TokenizationFixtures.Uncased;
        var failures = new List<string>();
        int rows = 0;
        int pairsWhereSlowDiffers = 0;
        foreach (JsonElement row in TokenizationFixtures.ReadRows("pairs.jsonl.gz"))
        {
            rows++;
            string a = row.GetProperty("a").GetString()!;
            JsonElement bElement = row.GetProperty("b");
            string? b = bElement.ValueKind == JsonValueKind.Null ? null : bElement.GetString();
            int maxLength = row.GetProperty("max_length").GetInt32();
            int[] expectedIds = TokenizationFixtures.Ints(row.GetProperty("input_ids"));
            int[] expectedTypes = TokenizationFixtures.Ints(row.GetProperty("token_type_ids"));
            if (row.TryGetProperty("input_ids_slow", out _))
                pairsWhereSlowDiffers++;

            BertEncoding encoding = b is null ? tokenizer.Encode(a, maxLength) : tokenizer.Encode(a, b, maxLength);
            if (!encoding.InputIds.SequenceEqual(expectedIds) || !encoding.TokenTypeIds.SequenceEqual(expectedTypes))
            {
                failures.Add(TokenizationFixtures.Describe(tokenizer, $"max_length {maxLength}, b {(b is null ? "null" : JsonSerializer.Serialize(b[..Math.Min(40, b.Length)]))}, types [{string.Join(",", encoding.TokenTypeIds)}] vs [{string.Join(",", expectedTypes)}];", a, expectedIds, encoding.InputIds.ToArray()));
            }
        }

        rows.Should().Be(278);
        pairsWhereSlowDiffers.Should().BeGreaterThan(0, "the fixture includes rows where HF's slow truncation differs, so the fast rule is really tested");
        failures.Should().BeEmpty("every pair must match HF's fast tokenizer; mismatches:\n{0}", string.Join("\n", failures.Take(10)));
    }
}
