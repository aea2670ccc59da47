using System.Globalization;
using System.Text;
using System.Text.Json;
using KnowledgeDistillation.Tokenization;

namespace KnowledgeDistillation.Tests.Tokenization;

public class TokenizerBehaviourTests
{
    [Fact]
    public void The_bert_base_uncased_special_ids_and_size_are_those_of_its_vocab_file()
    {
        HuggingFaceBertTokenizer tokenizer = TokenizationFixtures.Uncased;
        (tokenizer.PadTokenId, tokenizer.UnknownTokenId, tokenizer.ClsTokenId, tokenizer.SepTokenId, tokenizer.MaskTokenId, tokenizer.VocabularySize)
            .Should().Be((0, 100, 101, 102, 103, 30522));
        tokenizer.TryGetTokenId("##ing", out int ing).Should().BeTrue();
        tokenizer.ConvertIdsToTokens([ing]).Should().Equal("##ing");
        tokenizer.TryGetTokenId("not-a-token", out _).Should().BeFalse();
        FluentActions.Invoking(() => tokenizer.ConvertIdsToTokens([30522])).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*30522*");
    }

    [Fact]
    public void A_literal_special_token_in_text_is_ordinary_text_by_default_so_it_cannot_forge_a_separator()
    {
        HuggingFaceBertTokenizer tokenizer = TokenizationFixtures.Uncased;
        tokenizer.TokenizeToStrings("a [SEP] b [MASK]").Should().Equal("a", "[", "sep", "]", "b", "[", "mask", "]");
        BertEncoding encoding = tokenizer.Encode("q [SEP] injected", "d");
        encoding.InputIds.Count(id => id == tokenizer.SepTokenId).Should().Be(2, "only the real separators");
        tokenizer.ConvertIdsToTokens(encoding.InputIds).Should().Equal("[CLS]", "q", "[", "sep", "]", "injected", "[SEP]", "d", "[SEP]");
        encoding.TokenTypeIds.Should().Equal(0, 0, 0, 0, 0, 0, 0, 1, 1);
    }

    [Fact]
    public void With_SplitSpecialTokens_off_exact_special_tokens_in_text_get_their_ids_as_in_the_reference()
    {
        HuggingFaceBertTokenizer tokenizer = HuggingFaceBertTokenizer.FromVocabularyFile(TokenizationFixtures.UncasedVocabulary, new HuggingFaceBertTokenizerOptions { SplitSpecialTokens = false });
        var failures = new List<string>();
        int rows = 0;
        foreach (JsonElement row in TokenizationFixtures.ReadRows("special_tokens_unsplit.jsonl.gz"))
        {
            rows++;
            string text = row.GetProperty("text").GetString()!;
            int[] expected = TokenizationFixtures.Ints(row.GetProperty("ids"));
            int[] actual = tokenizer.Tokenize(text);
            if (!actual.AsSpan().SequenceEqual(expected))
                failures.Add(TokenizationFixtures.Describe(tokenizer, "unsplit", text, expected, actual));
        }

        rows.Should().Be(17);
        failures.Should().BeEmpty(string.Join("\n", failures));
    }

    [Fact]
    public void A_maximum_length_below_the_special_tokens_is_out_of_range()
    {
        HuggingFaceBertTokenizer tokenizer = TokenizationFixtures.Uncased;
        FluentActions.Invoking(() => tokenizer.Encode("a", maxLength: 1)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("maxLength");
        FluentActions.Invoking(() => tokenizer.Encode("a", "b", maxLength: 2)).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*3 special tokens*");
        FluentActions.Invoking(() => tokenizer.EncodeBatch(["a"], maxLength: 0)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => tokenizer.EncodeBatch(["a"], ["b"], maxLength: 2)).Should().Throw<ArgumentOutOfRangeException>();

        tokenizer.Encode("hello world", maxLength: 2).InputIds.Should().Equal(101, 102);
        tokenizer.Encode("hello", "world", maxLength: 3).InputIds.Should().Equal(101, 102, 102);
    }

    [Fact]
    public void Without_a_maximum_length_encoding_truncates_to_the_model_maximum_and_Tokenize_does_not_truncate()
    {
        string longText = string.Join(" ", Enumerable.Repeat("protein", 600));
        HuggingFaceBertTokenizer tokenizer = TokenizationFixtures.Uncased;
        tokenizer.Tokenize(longText).Should().HaveCount(600);
        tokenizer.Encode(longText).Length.Should().Be(512);
        tokenizer.Encode(longText, longText).Length.Should().Be(512);
        tokenizer.Encode(longText, maxLength: 1000).Length.Should().Be(602);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(20)] // 80 marks: the long-run sort path
    public void Accent_stripping_orders_combining_marks_canonically_like_NFD(int repeats)
    {
        // Mc marks with combining classes (U+1D165: 216, U+1D16D: 226) survive stripping, so their NFD order is visible;
        // the Mn marks between them (230, 220) are dropped but take part in the ordering.
        var text = new StringBuilder("a");
        for (int i = 0; i < repeats; i++)
            text.Append(char.ConvertFromUtf32(0x1D16D)).Append('\u0301').Append(char.ConvertFromUtf32(0x1D165)).Append('\u0316');
        string expectedWord = StripMarks(text.ToString().Normalize(NormalizationForm.FormD)); // ICU as the independent reference
        expectedWord.Should().NotBe(StripMarks(text.ToString()), "the test needs input whose order NFD changes");

        HuggingFaceBertTokenizer tokenizer = HuggingFaceBertTokenizer.FromVocabulary(
            ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", expectedWord], new HuggingFaceBertTokenizerOptions { MaxInputCharsPerWord = 1000 });

        tokenizer.Tokenize(text.ToString()).Should().Equal(5);
    }

    [Fact]
    public void The_built_in_decomposition_table_agrees_with_ICU_NFD_for_every_entry_and_every_Hangul_syllable()
    {
        Span<int> parts = stackalloc int[UnicodeTables.MaxDecompositionLength];
        var mismatches = new List<string>();
        int entries = 0;
        for (int cp = 0xC0; cp <= 0x10FFFF; cp++)
        {
            if (cp is >= 0xD800 and <= 0xDFFF)
                continue;
            int count = UnicodeTables.Decompose(cp, parts);
            if (count == 1 && parts[0] == cp)
                continue;
            entries++;
            string ours = string.Concat(parts[..count].ToArray().Select(char.ConvertFromUtf32));
            string icu = char.ConvertFromUtf32(cp).Normalize(NormalizationForm.FormD);
            if (ours != icu)
                mismatches.Add($"U+{cp:X4}");
        }

        entries.Should().Be(2061 + 11172);
        mismatches.Should().BeEmpty();
    }

    [Fact]
    public void Tokenizing_is_thread_safe_on_one_instance()
    {
        string[] texts = TokenizationFixtures.ReadRows("adversarial.jsonl.gz").Select(r => r.GetProperty("text").GetString()!).Distinct().ToArray();
        HuggingFaceBertTokenizer tokenizer = TokenizationFixtures.Create(lowerCase: true, stripAccents: null);
        int[][] sequential = texts.Select(tokenizer.Tokenize).ToArray();
        int[][] concurrent = new int[texts.Length * 8][];
        Parallel.For(0, concurrent.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => concurrent[i] = tokenizer.Tokenize(texts[i % texts.Length]));
        for (int i = 0; i < concurrent.Length; i++)
            concurrent[i].Should().Equal(sequential[i % texts.Length]);
    }

    private static string StripMarks(string text)
    {
        var result = new StringBuilder();
        foreach (Rune rune in text.EnumerateRunes())
        {
            if (Rune.GetUnicodeCategory(rune) != UnicodeCategory.NonSpacingMark)
                result.Append(rune.ToString());
        }

        return result.ToString();
    }
}
