using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KnowledgeDistillation.Configuration;

/// <summary>
/// Typed reads of one JSON configuration file (<c>config.json</c>, <c>tokenizer_config.json</c>,
/// <c>modules.json</c>, ...), the one reader behind every configuration the library loads. Every error names the file
/// and the key; the caller chooses the exception type (a checkpoint or a tokenizer file error).
/// </summary>
/// <remarks>A JSON <c>null</c> counts as absent (transformers writes, for example, <c>"classifier_dropout": null</c>).</remarks>
internal sealed class JsonConfigFile
{
    /// <summary>Builds the caller's exception from the file, the problem, the 1-based line (when known) and the cause.</summary>
    internal delegate Exception ErrorFactory(string source, string problem, int? line, Exception? inner);

    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ErrorFactory _error;

    private JsonConfigFile(JsonNode root, string source, ErrorFactory error)
    {
        Root = root;
        Source = source;
        _error = error;
    }

    /// <summary>The file (or other source) the JSON came from.</summary>
    public string Source { get; }

    /// <summary>The parsed document.</summary>
    public JsonNode Root { get; }

    /// <summary>The root as an object; an error when it is not one.</summary>
    public JsonObject Object => Root as JsonObject ?? throw Error("the file must hold a JSON object.");

    /// <summary>The same reads over a nested object of this file (errors still name the file).</summary>
    public JsonConfigFile Child(JsonNode node) => new(node, Source, _error);

    /// <summary>Reads and parses a file.</summary>
    public static JsonConfigFile Load(string path, ErrorFactory error) => Parse(ReadText(path, error), path, error);

    /// <summary>Reads a file as strict UTF-8; invalid bytes are an error that gives the line.</summary>
    public static string ReadText(string path, ErrorFactory error)
    {
        try
        {
            // The default decoder would turn invalid bytes into U+FFFD, silently renaming a key (so that it is ignored
            // or reported missing) or changing a value; Python's json.load refuses such a file.
            return File.ReadAllText(path, s_strictUtf8);
        }
        catch (DecoderFallbackException ex)
        {
            int? line = Data.Utf8Lines.FindFirstInvalid(path) is { } found ? (int)Math.Min(found.Line, int.MaxValue) : null;
            throw error(path, $"not valid UTF-8{(line is { } l ? $" (line {l})" : "")}: {ex.Message}", line, ex);
        }
    }

    /// <summary>Reads and parses a file when it exists.</summary>
    public static JsonConfigFile? LoadIfExists(string path, ErrorFactory error) => File.Exists(path) ? Load(path, error) : null;

    // A key given twice is refused while parsing, with its line: JsonNode would otherwise throw an ArgumentException on
    // first access of the object, and Python's json silently keeps the last value, so the file is ambiguous.
    private static readonly JsonDocumentOptions s_documentOptions = new() { AllowDuplicateProperties = false };

    /// <summary>Parses JSON text; invalid JSON (a key given twice included) is an error that gives the line and byte.</summary>
    public static JsonConfigFile Parse(string json, string source, ErrorFactory error)
    {
        try
        {
            JsonNode root = JsonNode.Parse(json, documentOptions: s_documentOptions) ?? throw error(source, "the file must hold a JSON object.", null, null);
            CheckText(root);
            return new JsonConfigFile(root, source, error);
        }
        catch (JsonException ex)
        {
            int line = (int)(ex.LineNumber ?? 0) + 1;
            throw error(source, $"not valid JSON (line {line}, byte {(ex.BytePositionInLine ?? 0) + 1}): {ex.Message}", line, ex);
        }
        catch (InvalidOperationException ex)
        {
            throw error(source, $"a name or string is not valid Unicode text (an escaped lone surrogate such as \"\\ud800\"): {ex.Message}", null, ex);
        }
    }

    // Strings are unescaped only when read; read them all now, so that a lone surrogate is an error naming the file
    // rather than an InvalidOperationException from whichever key is read first.
    private static void CheckText(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (KeyValuePair<string, JsonNode?> property in o)
                    CheckText(property.Value);
                break;
            case JsonArray a:
                foreach (JsonNode? item in a)
                    CheckText(item);
                break;
            case JsonValue v when v.TryGetValue(out JsonElement e) && e.ValueKind == JsonValueKind.String:
                _ = e.GetString();
                break;
        }
    }

    /// <summary>The value of a key of the root object, or <see langword="null"/> when absent or JSON null.</summary>
    public JsonNode? Get(string key) => Object.TryGetPropertyValue(key, out JsonNode? node) ? node : null;

    /// <summary>A required integer.</summary>
    public int RequiredInt(string key) => Int(key) ?? throw Error($"the required key \"{key}\" is missing.");

    /// <summary>An integer (a JSON number without a fraction that fits in 32 bits).</summary>
    public int? Int(string key) => Get(key) is { } node ? IntOf(node) ?? throw WrongType(key, "an integer", node) : null;

    /// <summary>A number.</summary>
    public double? Double(string key)
        => Get(key) is { } node ? (Element(node) is { ValueKind: JsonValueKind.Number } e ? e.GetDouble() : throw WrongType(key, "a number", node)) : null;

    /// <summary><see langword="true"/> or <see langword="false"/>.</summary>
    public bool? Bool(string key)
        => Get(key) is { } node ? (Element(node) is { ValueKind: JsonValueKind.True or JsonValueKind.False } e ? e.GetBoolean() : throw WrongType(key, "true or false", node)) : null;

    /// <summary>A string.</summary>
    public string? String(string key)
        => Get(key) is { } node ? (Element(node) is { ValueKind: JsonValueKind.String } e ? e.GetString() : throw WrongType(key, "a string", node)) : null;

    /// <summary>An array of strings.</summary>
    public List<string>? Strings(string key)
    {
        if (Get(key) is not { } node)
            return null;
        if (node is not JsonArray array)
            throw WrongType(key, "an array of strings", node);
        var list = new List<string>(array.Count);
        foreach (JsonNode? item in array)
            list.Add(item is not null && Element(item) is { ValueKind: JsonValueKind.String } e ? e.GetString()! : throw WrongType(key, "an array of strings", node));
        return list;
    }

    /// <summary>An object of label ids ("0", "1", ...) to names, numbered without gaps.</summary>
    public SortedDictionary<int, string>? Labels(string key)
    {
        if (Get(key) is not { } node)
            return null;
        if (node is not JsonObject obj)
            throw WrongType(key, "an object mapping label ids to names", node);
        var labels = new SortedDictionary<int, string>();
        foreach (KeyValuePair<string, JsonNode?> kv in obj)
        {
            if (!int.TryParse(kv.Key, NumberStyles.None, CultureInfo.InvariantCulture, out int id)
                || kv.Value is null || Element(kv.Value) is not { ValueKind: JsonValueKind.String } e)
            {
                throw WrongType(key, "an object mapping label ids (\"0\", \"1\", ...) to names", node);
            }
            labels[id] = e.GetString()!;
        }
        for (int i = 0; i < labels.Count; i++)
        {
            if (!labels.ContainsKey(i))
                throw Error($"\"{key}\" must number its labels 0..{labels.Count - 1}; label {i} is missing.");
        }
        return labels;
    }

    /// <summary>The caller's exception for a problem with this file.</summary>
    public Exception Error(string problem) => _error(Source, problem, null, null);

    /// <summary>The error for a key whose value has the wrong type or range.</summary>
    public Exception WrongType(string key, string expected, JsonNode node) => Error($"\"{key}\" must be {expected}; got {node.ToJsonString()}.");

    private static int? IntOf(JsonNode node) => Element(node) is { ValueKind: JsonValueKind.Number } e && e.TryGetInt32(out int i) ? i : null;

    private static JsonElement? Element(JsonNode node) => node is JsonValue v && v.TryGetValue(out JsonElement e) ? e : null;
}
