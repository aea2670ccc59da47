using System.Text.Json;
using KnowledgeDistillation.Tokenization;
using Microsoft.ML.Tokenizers;

namespace KnowledgeDistillation.Tests.Tokenization;

/// <summary>
/// <see cref="EncodedToken.Offset"/> of <see cref="HuggingFaceBertTokenizer"/> through ML.NET's <see cref="Tokenizer"/>:
/// ranges of the ORIGINAL text, checked against an independent normalizer on every fixture text.
/// </summary>
public class TokenOffsetTests
{
    /// <summary>Every SciFact and adversarial fixture text with its tokenizer settings and the reference ids.</summary>
    internal static IEnumerable<(HuggingFaceBertTokenizer Tokenizer, bool LowerCase, bool StripAccents, string Text, int[] Ids, string Label)> FixtureTexts()
    {
        foreach (string file in new[] { "scifact_corpus_uncased.jsonl.gz", "scifact_queries_uncased.jsonl.gz" })
        {
            foreach (JsonElement row in TokenizationFixtures.ReadRows(file))
                yield return (TokenizationFixtures.Uncased, true, true, row.GetProperty("text").GetString()!, TokenizationFixtures.Ints(row.GetProperty("ids")), $"{file} id {row.GetProperty("id")}");
        }

        var tokenizers = new Dictionary<(bool, bool?), HuggingFaceBertTokenizer>();
        foreach (JsonElement row in TokenizationFixtures.ReadRows("adversarial.jsonl.gz"))
        {
            JsonElement settings = row.GetProperty("settings");
            bool lowerCase = settings.GetProperty("do_lower_case").GetBoolean();
            JsonElement strip = settings.GetProperty("strip_accents");
            bool? stripAccents = strip.ValueKind == JsonValueKind.Null ? null : strip.GetBoolean();
            if (!tokenizers.TryGetValue((lowerCase, stripAccents), out HuggingFaceBertTokenizer? tokenizer))
                tokenizers[(lowerCase, stripAccents)] = tokenizer = TokenizationFixtures.Create(lowerCase, stripAccents);
            yield return (tokenizer, lowerCase, stripAccents ?? lowerCase, row.GetProperty("text").GetString()!, TokenizationFixtures.Ints(row.GetProperty("ids")),
                $"adversarial (lower={lowerCase}, strip={stripAccents?.ToString() ?? "None"})");
        }
    }

    [Fact]
    public void Each_tokens_original_substring_normalizes_to_the_token_text_on_every_fixture()
    {
        var failures = new List<string>();
        int texts = 0;
        int checkedTokens = 0;
        int unknownTokens = 0;
        foreach ((HuggingFaceBertTokenizer concrete, bool lowerCase, bool stripAccents, string text, int[] expectedIds, string label) in FixtureTexts())
        {
            texts++;
            Tokenizer tokenizer = concrete;
            IReadOnlyList<EncodedToken> tokens = tokenizer.EncodeToTokens(text, out string? normalizedText);
            normalizedText.Should().BeNull("offsets refer to the original text");
            if (!tokens.Select(t => t.Id).SequenceEqual(expectedIds))
            {
                failures.Add($"{label}: ids differ from the reference for {JsonSerializer.Serialize(text)}");
                continue;
            }

            int previousStart = 0;
            int previousEnd = 0;
            for (int i = 0; i < tokens.Count; i++)
            {
                EncodedToken token = tokens[i];
                (int start, int length) = token.Offset.GetOffsetAndLength(text.Length);
                int end = start + length;
                if (length <= 0 || start < previousStart || end < previousEnd)
                    failures.Add($"{label}: token {token.Value} has range [{start}, {end}) after [{previousStart}, {previousEnd}) in {JsonSerializer.Serialize(text)}");
                (previousStart, previousEnd) = (start, end);
                token.Value.Should().Be(concrete.ConvertIdsToTokens([token.Id])[0]);
                if (token.Id == concrete.UnknownTokenId)
                {
                    unknownTokens++;
                    continue;
                }

                // One input character can become several pieces (a Hangul syllable's jamo after NFD); those share
                // its range, and together they must spell it.
                string expected = PieceText(token);
                while (i + 1 < tokens.Count && tokens[i + 1].Offset.Equals(token.Offset) && tokens[i + 1].Id != concrete.UnknownTokenId)
                    expected += PieceText(tokens[++i]);
                checkedTokens++;
                string actual = IndependentBertNormalizer.NormalizeWithoutSpaces(text[start..end], lowerCase, stripAccents);
                if (actual != expected)
                    failures.Add($"{label}: token {JsonSerializer.Serialize(token.Value)} at [{start}, {end}) covers {JsonSerializer.Serialize(text[start..end])}, normalized {JsonSerializer.Serialize(actual)}, in {JsonSerializer.Serialize(text.Length > 200 ? text[..200] : text)}");
            }
        }

        texts.Should().Be(6292 + 684);
        checkedTokens.Should().BeGreaterThan(1_500_000);
        unknownTokens.Should().BeGreaterThan(0, "the adversarial strings include [UNK] words");
        failures.Should().BeEmpty("first failures:\n{0}", string.Join("\n", failures.Take(15)));
    }

    private static string PieceText(EncodedToken token) =>
        token.Value.StartsWith("##", StringComparison.Ordinal) ? token.Value[2..] : token.Value;

    [Theory]
    [InlineData("Cafe\u0301 au lait", 0, 0, 5)] // a decomposed accent that is stripped is still covered by its word
    [InlineData("Café", 0, 0, 4)]
    [InlineData("İstanbul", 0, 0, 8)] // İ lowercases to two characters (strip on: "i"), one input character
    [InlineData("a\u200Bb", 0, 0, 3)] // a zero-width space inside a word is dropped without splitting it
    [InlineData("x \u0007y", 1, 3, 4)] // a dropped control before a word is not part of it
    [InlineData("中文", 1, 1, 2)] // each CJK ideograph is a word of its own
    [InlineData("😀 ok", 0, 0, 2)] // an emoji is one code point (a surrogate pair) and an [UNK] word
    [InlineData("😀 ok", 1, 3, 5)]
    public void Offsets_cover_the_input_characters_a_token_came_from(string text, int tokenIndex, int expectedStart, int expectedEnd)
    {
        Tokenizer tokenizer = TokenizationFixtures.Uncased;
        IReadOnlyList<EncodedToken> tokens = tokenizer.EncodeToTokens(text, out _);
        tokens[tokenIndex].Offset.GetOffsetAndLength(text.Length).Should().Be((expectedStart, expectedEnd - expectedStart),
            "tokens: {0}", string.Join(" ", tokens.Select(t => $"{t.Value}{t.Offset}")));
    }

    [Fact]
    public void WordPiece_pieces_split_the_words_range_and_an_unknown_word_covers_all_of_it()
    {
        Tokenizer tokenizer = TokenizationFixtures.Uncased;
        const string text = "  unaffable 😀😀 ";
        IReadOnlyList<EncodedToken> tokens = tokenizer.EncodeToTokens(text, out _);
        tokens.Select(t => t.Value).Should().Equal("una", "##ffa", "##ble", "[UNK]");
        tokens.Select(t => t.Offset.GetOffsetAndLength(text.Length)).Should().Equal((2, 3), (5, 3), (8, 3), (12, 4));
    }

    [Fact]
    public void Special_tokens_kept_whole_cover_exactly_their_text()
    {
        var tokenizer = HuggingFaceBertTokenizer.FromVocabularyFile(TokenizationFixtures.UncasedVocabulary, new HuggingFaceBertTokenizerOptions { SplitSpecialTokens = false });
        int rows = 0;
        foreach (JsonElement row in TokenizationFixtures.ReadRows("special_tokens_unsplit.jsonl.gz"))
        {
            rows++;
            string text = row.GetProperty("text").GetString()!;
            IReadOnlyList<EncodedToken> tokens = ((Tokenizer)tokenizer).EncodeToTokens(text, out _);
            tokens.Select(t => t.Id).Should().Equal(TokenizationFixtures.Ints(row.GetProperty("ids")));
            foreach (EncodedToken token in tokens.Where(t => t.Value is "[SEP]" or "[CLS]" or "[UNK]" or "[MASK]" or "[PAD]"))
            {
                (int start, int length) = token.Offset.GetOffsetAndLength(text.Length);
                if (text.AsSpan(start, length).SequenceEqual(token.Value))
                    continue;
                // An [UNK] can also be an unknown word; then its text is not "[UNK]".
                token.Value.Should().Be("[UNK]", "a special token's offset must cover its literal text in {0}", text);
            }
        }

        rows.Should().Be(17);
        ((Tokenizer)tokenizer).EncodeToTokens("a[SEP]b", out _).Select(t => (t.Value, t.Offset.GetOffsetAndLength(7)))
            .Should().Equal(("a", (0, 1)), ("[SEP]", (1, 5)), ("b", (6, 1)));
    }

    [Fact]
    public void Tokens_and_offsets_are_the_same_when_many_threads_encode_at_once()
    {
        string[] texts = FixtureTexts().Where(f => f.Label.StartsWith("scifact_queries", StringComparison.Ordinal)).Select(f => f.Text).ToArray();
        Tokenizer tokenizer = TokenizationFixtures.Uncased;
        EncodedToken[][] sequential = texts.Select(t => tokenizer.EncodeToTokens(t, out _).ToArray()).ToArray();
        var parallel = new EncodedToken[texts.Length][];
        Parallel.For(0, texts.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => parallel[i] = tokenizer.EncodeToTokens(texts[i], out _).ToArray());
        for (int i = 0; i < texts.Length; i++)
            parallel[i].Should().Equal(sequential[i]);
    }
}
