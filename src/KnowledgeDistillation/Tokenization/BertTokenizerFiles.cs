using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.IO;
using Microsoft.Extensions.Logging;

namespace KnowledgeDistillation.Tokenization;

/// <summary>Reads and writes the Hugging Face tokenizer files of a BERT model folder.</summary>
internal static partial class BertTokenizerFiles
{
    internal const string VocabularyFileName = "vocab.txt";
    internal const string ConfigFileName = "tokenizer_config.json";
    internal const string SpecialTokensMapFileName = "special_tokens_map.json";

    /// <summary>
    /// The token on each line, line i being id i. Only line ends are removed (\n, \r\n, \r, like Python's text mode in
    /// HF's <c>load_vocab</c>); no line is skipped, since skipping would shift every later id.
    /// </summary>
    internal static List<string> ReadVocabulary(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"The vocabulary file {path} does not exist; a BERT tokenizer needs vocab.txt (one token per line).", path);
        var tokens = new List<string>(32_000);
        using var reader = new StreamReader(path, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: true);
        try
        {
            while (reader.ReadLine() is { } line)
                tokens.Add(line);
        }
        catch (DecoderFallbackException e)
        {
            // The decoder reads ahead in blocks, so the bad bytes may be on a later line than the last one read.
            int line = KnowledgeDistillation.Data.Utf8Lines.FindFirstInvalid(path) is { } found ? (int)Math.Min(found.Line, int.MaxValue) : tokens.Count + 1;
            throw new TokenizerFileException(path, line, "The vocabulary is not valid UTF-8.", e);
        }

        if (tokens.Count == 0)
            throw new TokenizerFileException(path, null, "The vocabulary is empty; a BERT vocab.txt has one token per line.");
        return tokens;
    }

    /// <summary>
    /// Options from <c>tokenizer_config.json</c>, falling back to <c>special_tokens_map.json</c> for special tokens and
    /// to <see cref="HuggingFaceBertTokenizerOptions"/>' defaults for everything missing.
    /// </summary>
    internal static HuggingFaceBertTokenizerOptions ReadOptions(string directory, ILogger logger)
    {
        var defaults = new HuggingFaceBertTokenizerOptions();
        string configPath = Path.Combine(directory, ConfigFileName);
        string mapPath = Path.Combine(directory, SpecialTokensMapFileName);
        JsonConfigFile? config = JsonConfigFile.LoadIfExists(configPath, FileError);
        JsonConfigFile? map = JsonConfigFile.LoadIfExists(mapPath, FileError);
        if (config is null)
            Log.MissingConfig(logger, configPath);

        if (config?.Get("tokenizer_class") is JsonValue tokenizerClass && tokenizerClass.TryGetValue(out string? className)
            && !className.Contains("Bert", StringComparison.Ordinal) && !className.Contains("Electra", StringComparison.Ordinal))
        {
            Log.UnexpectedTokenizerClass(logger, configPath, className);
        }

        string Special(string key, string fallback) => ReadSpecialToken(config, key) ?? ReadSpecialToken(map, key) ?? fallback;

        return new HuggingFaceBertTokenizerOptions
        {
            LowerCase = config?.Bool("do_lower_case") ?? defaults.LowerCase,
            StripAccents = config?.Bool("strip_accents"),
            TokenizeChineseChars = config?.Bool("tokenize_chinese_chars") ?? defaults.TokenizeChineseChars,
            SplitSpecialTokens = config?.Bool("split_special_tokens") ?? defaults.SplitSpecialTokens,
            ModelMaxLength = ReadModelMaxLength(config, logger) ?? defaults.ModelMaxLength,
            MaxInputCharsPerWord = ReadPositiveInt(config, "max_input_chars_per_word") ?? defaults.MaxInputCharsPerWord,
            UnknownToken = Special("unk_token", defaults.UnknownToken),
            SepToken = Special("sep_token", defaults.SepToken),
            PadToken = Special("pad_token", defaults.PadToken),
            ClsToken = Special("cls_token", defaults.ClsToken),
            MaskToken = Special("mask_token", defaults.MaskToken),
        };
    }

    /// <summary>Writes vocab.txt, tokenizer_config.json and special_tokens_map.json, each atomically.</summary>
    internal static async Task WriteAsync(string directory, IReadOnlyList<string> tokens, HuggingFaceBertTokenizerOptions options,
        CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);

        var vocabulary = new StringBuilder(tokens.Count * 8);
        foreach (string token in tokens)
            vocabulary.Append(token).Append('\n');
        await WriteAtomicallyAsync(Path.Combine(directory, VocabularyFileName), Encoding.UTF8.GetBytes(vocabulary.ToString()), cancellationToken).ConfigureAwait(false);

        // Key order and values as transformers' save_pretrained writes them for BertTokenizer(Fast).
        byte[] config = WriteJson(w =>
        {
            w.WriteBoolean("do_lower_case", options.LowerCase);
            w.WriteBoolean("do_basic_tokenize", true);
            w.WriteNull("never_split");
            w.WriteBoolean("tokenize_chinese_chars", options.TokenizeChineseChars);
            if (options.StripAccents is { } strip)
                w.WriteBoolean("strip_accents", strip);
            else
                w.WriteNull("strip_accents");
            w.WriteBoolean("clean_up_tokenization_spaces", true);
            w.WriteBoolean("split_special_tokens", options.SplitSpecialTokens);
            w.WriteString("tokenizer_class", "BertTokenizer");
            w.WriteNumber("model_max_length", options.ModelMaxLength);
            if (options.MaxInputCharsPerWord != new HuggingFaceBertTokenizerOptions().MaxInputCharsPerWord)
                w.WriteNumber("max_input_chars_per_word", options.MaxInputCharsPerWord);
            WriteSpecialTokens(w, options);
        });
        await WriteAtomicallyAsync(Path.Combine(directory, ConfigFileName), config, cancellationToken).ConfigureAwait(false);

        byte[] map = WriteJson(w => WriteSpecialTokens(w, options));
        await WriteAtomicallyAsync(Path.Combine(directory, SpecialTokensMapFileName), map, cancellationToken).ConfigureAwait(false);
    }

    private static void WriteSpecialTokens(Utf8JsonWriter w, HuggingFaceBertTokenizerOptions options)
    {
        w.WriteString("unk_token", options.UnknownToken);
        w.WriteString("sep_token", options.SepToken);
        w.WriteString("pad_token", options.PadToken);
        w.WriteString("cls_token", options.ClsToken);
        w.WriteString("mask_token", options.MaskToken);
    }

    private static byte[] WriteJson(Action<Utf8JsonWriter> writeProperties)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writeProperties(writer);
            writer.WriteEndObject();
        }

        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    private static Task WriteAtomicallyAsync(string path, byte[] content, CancellationToken cancellationToken)
        => AtomicWrite.WriteFileAsync(path, async (stream, ct) => await stream.WriteAsync(content, ct).ConfigureAwait(false), cancellationToken);

    private static Exception FileError(string source, string problem, int? line, Exception? inner) => new TokenizerFileException(source, line, problem, inner);

    private static int? ReadPositiveInt(JsonConfigFile? file, string key)
    {
        if (file?.Get(key) is not { } node)
            return null;
        return file.Int(key) is > 0 and int number ? number : throw file.WrongType(key, "a positive integer", node);
    }

    private static int? ReadModelMaxLength(JsonConfigFile? file, ILogger logger)
    {
        const string key = "model_max_length";
        if (file?.Get(key) is not { } node)
            return null;
        double number = file.Double(key) ?? 0;
        if (number < 2 || number != Math.Floor(number))
            throw file.WrongType(key, "an integer of at least 2", node);
        if (number > int.MaxValue)
        {
            // transformers writes int(1e30) when a model does not declare a limit.
            Log.UnboundedModelMaxLength(logger, file.Source, HuggingFaceBertTokenizerOptions.DefaultModelMaxLength);
            return null;
        }

        return (int)number;
    }

    private static string? ReadSpecialToken(JsonConfigFile? file, string key)
    {
        if (file?.Get(key) is not { } node)
            return null;
        // Either "[CLS]" or, in newer files, an AddedToken object {"content": "[CLS]", ...}.
        string? token = node switch
        {
            JsonValue v when v.TryGetValue(out string? text) => text,
            JsonObject o => file.Child(o).Get("content") is JsonValue c && c.TryGetValue(out string? content) ? content : null,
            _ => null,
        };
        if (string.IsNullOrEmpty(token))
            throw file.WrongType(key, "a non-empty string or an object with a \"content\" string", node);
        return token;
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "{Path} not found; using bert-base-uncased defaults (lowercase, strip accents, model_max_length 512, [CLS]/[SEP]/[PAD]/[UNK]/[MASK]).")]
        internal static partial void MissingConfig(ILogger logger, string path);

        [LoggerMessage(Level = LogLevel.Warning, Message = "{Path} names tokenizer_class {TokenizerClass}; it is tokenized as a BERT WordPiece tokenizer, which may not match that class.")]
        internal static partial void UnexpectedTokenizerClass(ILogger logger, string path, string tokenizerClass);

        [LoggerMessage(Level = LogLevel.Information, Message = "{Path} sets no real model_max_length (transformers' 1e30 placeholder); using {Default}.")]
        internal static partial void UnboundedModelMaxLength(ILogger logger, string path, int @default);
    }
}
