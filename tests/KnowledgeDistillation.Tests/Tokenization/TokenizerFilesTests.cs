using System.Text.Json;
using KnowledgeDistillation.Tokenization;

namespace KnowledgeDistillation.Tests.Tokenization;

public sealed class TokenizerFilesTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "kd-tokenizer-tests-" + Guid.NewGuid().ToString("N"));

    public TokenizerFilesTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void FromFolder_reads_the_settings_and_special_tokens_of_a_transformers_folder()
    {
        HuggingFaceBertTokenizer tokenizer = HuggingFaceBertTokenizer.FromFolder(TokenizationFixtures.BertFixture("encoder-gelunew"));

        tokenizer.Options.LowerCase.Should().BeTrue();
        tokenizer.Options.StripAccents.Should().BeNull();
        tokenizer.Options.TokenizeChineseChars.Should().BeTrue();
        tokenizer.Options.ModelMaxLength.Should().Be(64);
        tokenizer.VocabularySize.Should().Be(2164);
        (tokenizer.PadTokenId, tokenizer.UnknownTokenId, tokenizer.ClsTokenId, tokenizer.SepTokenId, tokenizer.MaskTokenId)
            .Should().Be((0, 1, 2, 3, 4));
    }

    [Fact]
    public void FromFolder_uses_the_documented_defaults_for_missing_keys_and_files()
    {
        // A real transformers 4.8.2 file without model_max_length.
        HuggingFaceBertTokenizer.FromFolder(TokenizationFixtures.BertFixture("tiny-bert-tokencls")).Options.ModelMaxLength.Should().Be(512);

        File.Copy(TokenizationFixtures.UncasedVocabulary, Path.Combine(_directory, "vocab.txt"));
        HuggingFaceBertTokenizer tokenizer = HuggingFaceBertTokenizer.FromFolder(_directory);
        tokenizer.Options.Should().BeEquivalentTo(new HuggingFaceBertTokenizerOptions());
        (tokenizer.PadTokenId, tokenizer.UnknownTokenId, tokenizer.ClsTokenId, tokenizer.SepTokenId, tokenizer.MaskTokenId, tokenizer.VocabularySize)
            .Should().Be((0, 100, 101, 102, 103, 30522));
    }

    [Fact]
    public void FromFolder_reads_AddedToken_objects_the_unbounded_placeholder_and_cased_settings()
    {
        File.Copy(TokenizationFixtures.UncasedVocabulary, Path.Combine(_directory, "vocab.txt"));
        File.WriteAllText(Path.Combine(_directory, "tokenizer_config.json"), """
            {
              "added_tokens_decoder": {"0": {"content": "[PAD]", "special": true}},
              "do_lower_case": false,
              "strip_accents": true,
              "tokenize_chinese_chars": false,
              "model_max_length": 1000000000000000019884624838656,
              "cls_token": {"__type": "AddedToken", "content": "[SEP]", "lstrip": false},
              "split_special_tokens": false
            }
            """);
        File.WriteAllText(Path.Combine(_directory, "special_tokens_map.json"), """{"mask_token": "[unused0]"}""");

        HuggingFaceBertTokenizer tokenizer = HuggingFaceBertTokenizer.FromFolder(_directory);

        tokenizer.Options.LowerCase.Should().BeFalse();
        tokenizer.Options.StripAccents.Should().BeTrue();
        tokenizer.Options.TokenizeChineseChars.Should().BeFalse();
        tokenizer.Options.SplitSpecialTokens.Should().BeFalse();
        tokenizer.Options.ModelMaxLength.Should().Be(512, "transformers' 1e30 means 'not set'");
        tokenizer.ClsTokenId.Should().Be(102, "the AddedToken's content is the token");
        tokenizer.MaskTokenId.Should().Be(1, "special_tokens_map.json fills what tokenizer_config.json lacks");
    }

    [Fact]
    public async Task SaveAsync_writes_the_transformers_layout_and_FromFolder_reads_it_back_identically()
    {
        HuggingFaceBertTokenizer original = HuggingFaceBertTokenizer.FromFolder(TokenizationFixtures.BertFixture("encoder-gelunew"));
        await original.SaveAsync(_directory);

        Directory.GetFiles(_directory).Select(Path.GetFileName).Should().BeEquivalentTo(["vocab.txt", "tokenizer_config.json", "special_tokens_map.json"], "no temporary files remain");
        File.ReadAllBytes(Path.Combine(_directory, "vocab.txt")).Should().Equal(File.ReadAllBytes(Path.Combine(TokenizationFixtures.BertFixture("encoder-gelunew"), "vocab.txt")));
        AssertJsonContains(Path.Combine(_directory, "tokenizer_config.json"), Path.Combine(TokenizationFixtures.BertFixture("encoder-gelunew"), "tokenizer_config.json"), exact: false);
        AssertJsonContains(Path.Combine(_directory, "special_tokens_map.json"), Path.Combine(TokenizationFixtures.BertFixture("encoder-gelunew"), "special_tokens_map.json"), exact: true);

        HuggingFaceBertTokenizer reloaded = HuggingFaceBertTokenizer.FromFolder(_directory);
        reloaded.Options.Should().BeEquivalentTo(original.Options);
        reloaded.Tokenize("The quick brown fox, naïve café!").Should().Equal(original.Tokenize("The quick brown fox, naïve café!"));
    }

    [Fact]
    public async Task SaveAsync_keeps_non_default_options_and_replaces_existing_files()
    {
        var options = new HuggingFaceBertTokenizerOptions { LowerCase = true, StripAccents = false, ModelMaxLength = 128, SplitSpecialTokens = false, MaxInputCharsPerWord = 50 };
        HuggingFaceBertTokenizer original = HuggingFaceBertTokenizer.FromVocabularyFile(TokenizationFixtures.UncasedVocabulary, options);
        File.WriteAllText(Path.Combine(_directory, "tokenizer_config.json"), "stale");

        await original.SaveAsync(_directory);

        HuggingFaceBertTokenizer reloaded = HuggingFaceBertTokenizer.FromFolder(_directory);
        reloaded.Options.Should().BeEquivalentTo(options);
        File.ReadAllBytes(Path.Combine(_directory, "vocab.txt")).Should().Equal(File.ReadAllBytes(TokenizationFixtures.UncasedVocabulary));
        using JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(_directory, "tokenizer_config.json")));
        config.RootElement.GetProperty("tokenizer_class").GetString().Should().Be("BertTokenizer");
        config.RootElement.GetProperty("strip_accents").GetBoolean().Should().BeFalse();
    }

    [Fact]
    public void A_missing_folder_or_vocabulary_is_reported_with_its_path()
    {
        string missing = Path.Combine(_directory, "nope");
        FluentActions.Invoking(() => HuggingFaceBertTokenizer.FromFolder(missing))
            .Should().Throw<DirectoryNotFoundException>().WithMessage($"*{missing}*");
        FluentActions.Invoking(() => HuggingFaceBertTokenizer.FromFolder(_directory))
            .Should().Throw<FileNotFoundException>().WithMessage($"*{Path.Combine(_directory, "vocab.txt")}*");
    }

    [Fact]
    public void A_bad_vocabulary_is_reported_with_file_and_line()
    {
        string vocab = Path.Combine(_directory, "vocab.txt");
        File.WriteAllText(vocab, "");
        FluentActions.Invoking(() => HuggingFaceBertTokenizer.FromVocabularyFile(vocab))
            .Should().Throw<TokenizerFileException>().Where(e => e.FilePath == vocab && e.LineNumber == null).WithMessage("*vocab.txt: The vocabulary is empty*");

        File.WriteAllText(vocab, "[PAD]\n[UNK]\n[CLS]\n[UNK]\n[SEP]\n[MASK]\n");
        FluentActions.Invoking(() => HuggingFaceBertTokenizer.FromVocabularyFile(vocab))
            .Should().Throw<TokenizerFileException>().Where(e => e.LineNumber == 4).WithMessage("*vocab.txt, line 4: The token \"[UNK]\" (id 3) duplicates line 2*");

        File.WriteAllText(vocab, "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n");
        FluentActions.Invoking(() => HuggingFaceBertTokenizer.FromVocabularyFile(vocab))
            .Should().Throw<TokenizerFileException>().WithMessage("*vocab.txt: The mask_token \"[MASK]\" is not in the vocabulary*");

        File.WriteAllBytes(vocab, [(byte)'[', (byte)'P', (byte)'A', (byte)'D', (byte)']', (byte)'\n', 0xFF, 0xFE, (byte)'\n']);
        FluentActions.Invoking(() => HuggingFaceBertTokenizer.FromVocabularyFile(vocab))
            .Should().Throw<TokenizerFileException>().WithMessage("*not valid UTF-8*");

        FluentActions.Invoking(() => HuggingFaceBertTokenizer.FromVocabulary(["[PAD]", "[UNK]", "[PAD]"]))
            .Should().Throw<ArgumentException>().WithMessage("Vocabulary entry 2: The token \"[PAD]\" (id 2) duplicates line 1*");
    }

    [Theory]
    [InlineData("{\n  \"do_lower_case\": true,\n  oops\n}", "*tokenizer_config.json, line 3: not valid JSON (line 3*")]
    [InlineData("{\"do_lower_case\": \"yes\"}", "*tokenizer_config.json: \"do_lower_case\" must be true or false; got \"yes\"*")]
    [InlineData("{\"model_max_length\": 1}", "*\"model_max_length\" must be an integer of at least 2; got 1*")]
    [InlineData("{\"sep_token\": 5}", "*\"sep_token\" must be a non-empty string*")]
    [InlineData("[1, 2]", "*must hold a JSON object*")]
    public void A_bad_tokenizer_config_is_reported_with_file_and_key_or_line(string json, string message)
    {
        File.Copy(TokenizationFixtures.UncasedVocabulary, Path.Combine(_directory, "vocab.txt"));
        File.WriteAllText(Path.Combine(_directory, "tokenizer_config.json"), json);
        FluentActions.Invoking(() => HuggingFaceBertTokenizer.FromFolder(_directory))
            .Should().Throw<TokenizerFileException>().WithMessage(message);
    }

    [Fact]
    public void Invalid_options_are_rejected()
    {
        FluentActions.Invoking(() => HuggingFaceBertTokenizer.FromVocabularyFile(TokenizationFixtures.UncasedVocabulary, new HuggingFaceBertTokenizerOptions { MaxInputCharsPerWord = 0 }))
            .Should().Throw<ArgumentOutOfRangeException>().WithParameterName("MaxInputCharsPerWord");
        FluentActions.Invoking(() => HuggingFaceBertTokenizer.FromVocabularyFile(TokenizationFixtures.UncasedVocabulary, new HuggingFaceBertTokenizerOptions { ModelMaxLength = 1 }))
            .Should().Throw<ArgumentOutOfRangeException>().WithParameterName("ModelMaxLength");
        FluentActions.Invoking(() => HuggingFaceBertTokenizer.FromVocabularyFile(TokenizationFixtures.UncasedVocabulary, new HuggingFaceBertTokenizerOptions { PadToken = "" }))
            .Should().Throw<ArgumentException>().WithParameterName("PadToken");
        FluentActions.Invoking(() => HuggingFaceBertTokenizer.FromVocabularyFile(TokenizationFixtures.UncasedVocabulary, new HuggingFaceBertTokenizerOptions { PadToken = "<pad>" }))
            .Should().Throw<TokenizerFileException>().WithMessage("*pad_token \"<pad>\" is not in the vocabulary*");
    }

    // Every key of the transformers-written reference file has the same value in ours (and no other keys when exact).
    private static void AssertJsonContains(string actualPath, string referencePath, bool exact)
    {
        using JsonDocument actual = JsonDocument.Parse(File.ReadAllText(actualPath));
        using JsonDocument reference = JsonDocument.Parse(File.ReadAllText(referencePath));
        var actualProperties = actual.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetRawText());
        foreach (JsonProperty property in reference.RootElement.EnumerateObject())
        {
            actualProperties.Should().ContainKey(property.Name);
            actualProperties[property.Name].Should().Be(property.Value.GetRawText(), $"\"{property.Name}\" in {Path.GetFileName(actualPath)}");
        }

        if (exact)
            actualProperties.Keys.Should().BeEquivalentTo(reference.RootElement.EnumerateObject().Select(p => p.Name));
    }
}
