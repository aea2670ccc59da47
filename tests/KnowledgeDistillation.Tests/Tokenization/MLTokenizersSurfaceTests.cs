using System.Buffers;
using System.Text.Json;
using KnowledgeDistillation.Tokenization;
using Microsoft.ML.Tokenizers;

namespace KnowledgeDistillation.Tests.Tokenization;

/// <summary>
/// <see cref="HuggingFaceBertTokenizer"/> used as a Microsoft.ML.Tokenizers <see cref="Tokenizer"/>: the same ids as the
/// reference fixtures, ML.NET BertTokenizer's special-token convention, token budgets and HF's decoding.
/// </summary>
public class MLTokenizersSurfaceTests
{
    [Fact]
    public void Every_ML_NET_entry_point_gives_the_reference_ids_on_every_fixture()
    {
        var failures = new List<string>();
        int texts = 0;
        foreach ((HuggingFaceBertTokenizer concrete, _, _, string text, int[] expected, string label) in TokenOffsetTests.FixtureTexts())
        {
            texts++;
            Tokenizer tokenizer = concrete;
            int[] withSpecialTokens = [concrete.ClsTokenId, .. expected, concrete.SepTokenId];
            bool ok = tokenizer.EncodeToIds(text).SequenceEqual(expected)
                && tokenizer.EncodeToIds(text.AsSpan()).SequenceEqual(expected)
                && tokenizer.EncodeToIds(text, considerPreTokenization: false, considerNormalization: false).SequenceEqual(expected)
                && tokenizer.EncodeToTokens(text, out _).Select(t => t.Id).SequenceEqual(expected)
                && tokenizer.CountTokens(text) == expected.Length
                && tokenizer.CountTokens(text.AsSpan()) == expected.Length
                && concrete.EncodeToIds(text).SequenceEqual(withSpecialTokens)
                && concrete.EncodeToIds(text, addSpecialTokens: false).SequenceEqual(expected)
                && concrete.Tokenize(text).SequenceEqual(expected);
            if (!ok)
                failures.Add($"{label}: {JsonSerializer.Serialize(text.Length > 200 ? text[..200] : text)}");
        }

        texts.Should().Be(6292 + 684);
        failures.Should().BeEmpty("first failures:\n{0}", string.Join("\n", failures.Take(10)));
    }

    [Fact]
    public void On_its_own_type_EncodeToIds_adds_CLS_and_SEP_like_ML_NETs_BertTokenizer_and_through_Tokenizer_it_does_not()
    {
        HuggingFaceBertTokenizer concrete = TokenizationFixtures.Uncased;
        Tokenizer tokenizer = concrete;
        int[] ids = concrete.Tokenize("Hello world");
        concrete.EncodeToIds("Hello world").Should().Equal([101, .. ids, 102]);
        concrete.EncodeToIds("Hello world".AsSpan()).Should().Equal([101, .. ids, 102]);
        concrete.EncodeToIds("Hello world").Should().Equal(concrete.Encode("Hello world").InputIds);
        tokenizer.EncodeToIds("Hello world").Should().Equal(ids);
        tokenizer.Normalizer.Should().BeNull();
        tokenizer.PreTokenizer.Should().BeNull();

        // A token budget counts [CLS] and [SEP]; below 2 there is room for nothing, as in ML.NET.
        concrete.EncodeToIds("Hello world", maxTokenCount: 3, out string? normalized, out int consumed).Should().Equal(101, ids[0], 102);
        normalized.Should().BeNull();
        consumed.Should().Be("Hello".Length);
        concrete.EncodeToIds("Hello world", maxTokenCount: 2, out _, out consumed).Should().Equal(101, 102);
        consumed.Should().Be(0);
        concrete.EncodeToIds("Hello world", maxTokenCount: 1, out _, out consumed).Should().BeEmpty();
        concrete.EncodeToIds("Hello world", maxTokenCount: 100, addSpecialTokens: false, out _, out consumed).Should().Equal(ids);
        consumed.Should().Be("Hello world".Length);
        FluentActions.Invoking(() => concrete.EncodeToIds("a", maxTokenCount: 0, out _, out _)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("maxTokenCount");
        FluentActions.Invoking(() => tokenizer.EncodeToIds("a", maxTokenCount: -1, out _, out _)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => tokenizer.GetIndexByTokenCount("a", 0, out _, out _)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => concrete.EncodeToIds((string)null!)).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public void Token_budgets_end_and_start_at_word_boundaries_and_re_encoding_the_cut_text_gives_those_tokens()
    {
        var failures = new List<string>();
        int cases = 0;
        int index = 0;
        foreach ((HuggingFaceBertTokenizer concrete, _, _, string text, int[] ids, string label) in TokenOffsetTests.FixtureTexts())
        {
            // Every adversarial string, and a spread of SciFact texts: the check re-encodes each text several times.
            if (!label.StartsWith("adversarial", StringComparison.Ordinal) && index++ % 40 != 0)
                continue;
            Tokenizer tokenizer = concrete;
            string[] values = [.. concrete.ConvertIdsToTokens(ids)];
            // A word starts at every token that is not a "##" continuation piece.
            int[] boundaries = [.. Enumerable.Range(0, ids.Length + 1).Where(i => i == 0 || i == ids.Length || !values[i].StartsWith("##", StringComparison.Ordinal))];
            foreach (int budget in new[] { 1, 2, 3, 7, 32, ids.Length - 1, ids.Length, ids.Length + 5 }.Where(b => b > 0).Distinct())
            {
                cases++;
                int expectedHead = boundaries.Where(b => b <= budget).Max();
                int end = tokenizer.GetIndexByTokenCount(text, budget, out string? normalized, out int headCount);
                int[] head = [.. tokenizer.EncodeToIds(text, budget, out _, out int consumed)];
                int expectedTail = boundaries.Where(b => ids.Length - b <= budget).Min();
                int start = tokenizer.GetIndexByTokenCountFromEnd(text, budget, out _, out int tailCount);
                bool ok = normalized is null
                    && headCount == expectedHead && head.SequenceEqual(ids.Take(expectedHead)) && consumed == end
                    && tokenizer.EncodeToIds(text[..end]).SequenceEqual(ids.Take(expectedHead))
                    && tokenizer.CountTokens(text[..end]) == expectedHead
                    && (expectedHead < ids.Length || end == text.Length)
                    && (expectedHead > 0 || ids.Length == 0 || end == 0)
                    && tailCount == ids.Length - expectedTail
                    && tokenizer.EncodeToIds(text[start..]).SequenceEqual(ids.Skip(expectedTail))
                    && (expectedTail > 0 || start == 0)
                    && (expectedTail < ids.Length || ids.Length == 0 || start == text.Length);
                if (!ok)
                    failures.Add($"{label} budget {budget}: head {headCount}/{expectedHead} end {end} consumed {consumed}, tail {tailCount} from {expectedTail} start {start}, in {JsonSerializer.Serialize(text.Length > 120 ? text[..120] : text)}");
            }
        }

        cases.Should().BeGreaterThan(5000);
        failures.Should().BeEmpty("first failures:\n{0}", string.Join("\n", failures.Take(10)));
    }

    [Fact]
    public void Decoding_SciFact_encodings_gives_the_normalized_words_joined_by_HFs_whitespace_rules()
    {
        HuggingFaceBertTokenizer concrete = TokenizationFixtures.Uncased;
        Tokenizer tokenizer = concrete;
        var failures = new List<string>();
        int decoded = 0;
        int withUnknown = 0;
        foreach ((_, bool lowerCase, bool stripAccents, string text, int[] ids, string label) in TokenOffsetTests.FixtureTexts())
        {
            if (!label.StartsWith("scifact", StringComparison.Ordinal))
                continue;
            if (ids.Contains(concrete.UnknownTokenId))
            {
                withUnknown++; // an [UNK] replaces a whole word, so the text cannot come back
                continue;
            }

            decoded++;
            List<string> words = IndependentBertNormalizer.Words(text, lowerCase, stripAccents);
            string expected = IndependentBertNormalizer.CleanUpTokenization(string.Join(' ', words));
            string expectedWithSpecial = IndependentBertNormalizer.CleanUpTokenization(string.Join(' ', ["[CLS]", .. words, "[SEP]"]));
            string actual = tokenizer.Decode(ids);
            string withSpecial = concrete.Decode(concrete.EncodeToIds(text));
            string skipped = concrete.Decode(concrete.EncodeToIds(text), skipSpecialTokens: true);
            if (actual != expected || withSpecial != expectedWithSpecial || skipped != expected)
                failures.Add($"{label}:\n  expected {JsonSerializer.Serialize(expected)}\n  actual   {JsonSerializer.Serialize(actual)}");
        }

        decoded.Should().BeGreaterThan(6000);
        withUnknown.Should().BeLessThan(200);
        failures.Should().BeEmpty("first failures:\n{0}", string.Join("\n", failures.Take(5)));
    }

    [Fact]
    public void Decode_follows_HFs_fast_WordPiece_decoder_and_clean_up_rules()
    {
        HuggingFaceBertTokenizer concrete = TokenizationFixtures.Uncased;
        int[] ids = concrete.Tokenize("Hello, world! Don't stop: it's unaffable.");
        concrete.ConvertIdsToTokens(ids).Should().Equal("hello", ",", "world", "!", "don", "'", "t", "stop", ":", "it", "'", "s", "una", "##ffa", "##ble", ".");
        // transformers: decode(ids) == "hello, world! don't stop : it's unaffable."
        concrete.Decode(ids).Should().Be("hello, world! don't stop : it's unaffable.");
        // clean_up_tokenization_spaces=False: the fast decoder still drops the space before . , ! ?
        concrete.Decode(ids, skipSpecialTokens: false, cleanUpTokenizationSpaces: false).Should().Be("hello, world! don ' t stop : it ' s unaffable.");
        concrete.Decode([101, .. ids[..2], 102]).Should().Be("[CLS] hello, [SEP]");
        concrete.Decode([101, .. ids[..2], 102], skipSpecialTokens: true).Should().Be("hello,");
        concrete.TryGetTokenId("##ing", out int ing).Should().BeTrue();
        concrete.Decode([ing, ing]).Should().Be("##inging", "HF keeps the prefix of a leading continuation piece");
        concrete.Decode([]).Should().BeEmpty();
        FluentActions.Invoking(() => concrete.Decode([7592, 30522])).Should().Throw<InvalidOperationException>().WithMessage("*30522*position 1*");
        FluentActions.Invoking(() => concrete.Decode([-1])).Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public void Decode_into_a_span_reports_done_a_fitting_prefix_or_the_first_invalid_id()
    {
        Tokenizer tokenizer = TokenizationFixtures.Uncased;
        int[] ids = TokenizationFixtures.Uncased.Tokenize("hello world again");
        Span<char> buffer = stackalloc char[64];
        tokenizer.Decode(ids, buffer, out int idsConsumed, out int charsWritten).Should().Be(OperationStatus.Done);
        (idsConsumed, buffer[..charsWritten].ToString()).Should().Be((3, "hello world again"));

        tokenizer.Decode(ids, buffer[..12], out idsConsumed, out charsWritten).Should().Be(OperationStatus.DestinationTooSmall);
        (idsConsumed, buffer[..charsWritten].ToString()).Should().Be((2, "hello world"));

        tokenizer.Decode([.. ids[..1], 99999, .. ids[1..]], buffer, out idsConsumed, out charsWritten).Should().Be(OperationStatus.InvalidData);
        (idsConsumed, buffer[..charsWritten].ToString()).Should().Be((1, "hello"));
    }
}
