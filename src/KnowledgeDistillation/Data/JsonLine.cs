using System.Text.Json;

namespace KnowledgeDistillation.Data;

/// <summary>Field access on one JSON line, turning every problem into a <see cref="MalformedLineException"/>.</summary>
internal static class JsonLine
{
    // A key given twice is refused: lookups would silently take one of the values (Python's json keeps the last), so
    // the line is ambiguous.
    private static readonly JsonDocumentOptions s_options = new() { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64, AllowDuplicateProperties = false };

    internal static JsonDocument Parse(string line)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line, s_options);
        }
        catch (JsonException e)
        {
            throw new MalformedLineException($"is not valid JSON ({e.Message})", e);
        }
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            JsonValueKind kind = document.RootElement.ValueKind;
            document.Dispose();
            throw new MalformedLineException($"is a JSON {Kind(kind)}, not an object");
        }
        return document;
    }

    internal static string RequireString(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
            throw new MalformedLineException($"field \"{name}\" is missing");
        if (value.ValueKind != JsonValueKind.String)
            throw new MalformedLineException($"field \"{name}\" is a {Kind(value.ValueKind)}, not a string");
        return Text(value, $"field \"{name}\"");
    }

    /// <summary>An id: a string, or a number taken as written (some BEIR-style files write numeric ids).</summary>
    internal static string RequireId(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
            throw new MalformedLineException($"field \"{name}\" is missing");
        string id = value.ValueKind switch
        {
            JsonValueKind.String => Text(value, $"field \"{name}\""),
            JsonValueKind.Number => value.GetRawText(),
            _ => throw new MalformedLineException($"field \"{name}\" is a {Kind(value.ValueKind)}, not a string"),
        };
        if (id.Length == 0)
            throw new MalformedLineException($"field \"{name}\" is empty");
        return id;
    }

    internal static string OptionalString(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
            return "";
        if (value.ValueKind != JsonValueKind.String)
            throw new MalformedLineException($"field \"{name}\" is a {Kind(value.ValueKind)}, not a string");
        return Text(value, $"field \"{name}\"");
    }

    internal static string[] RequireStringArray(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
            throw new MalformedLineException($"field \"{name}\" is missing");
        if (value.ValueKind != JsonValueKind.Array)
            throw new MalformedLineException($"field \"{name}\" is a {Kind(value.ValueKind)}, not an array of strings");
        var result = new string[value.GetArrayLength()];
        int i = 0;
        foreach (JsonElement item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
                throw new MalformedLineException($"\"{name}\"[{i}] is a {Kind(item.ValueKind)}, not a string");
            result[i] = Text(item, $"\"{name}\"[{i}]");
            i++;
        }
        return result;
    }

    /// <summary>An optional array of finite numbers; <see langword="null"/> when absent or JSON null.</summary>
    internal static float[]? OptionalScores(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.Array)
            throw new MalformedLineException($"field \"{name}\" is a {Kind(value.ValueKind)}, not an array of numbers");
        var result = new float[value.GetArrayLength()];
        int i = 0;
        foreach (JsonElement item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number)
                throw new MalformedLineException($"\"{name}\"[{i}] is a {Kind(item.ValueKind)}, not a number");
            float score = (float)item.GetDouble();
            if (!float.IsFinite(score))
                throw new MalformedLineException($"\"{name}\"[{i}] = {item.GetRawText()} does not fit a finite float");
            result[i++] = score;
        }
        return result;
    }

    /// <summary>
    /// A string value. An escaped lone surrogate (<c>"\ud800"</c>, which Python's <c>json.dumps</c> writes for text that
    /// is not valid Unicode) is not text: System.Text.Json refuses to decode it, and so do we, naming the field.
    /// </summary>
    private static string Text(JsonElement value, string what)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException e)
        {
            throw new MalformedLineException($"{what} holds an escaped lone surrogate ({Shorten(value.GetRawText())}), which is not valid Unicode text", e);
        }
    }

    private static string Shorten(string raw) => raw.Length <= 40 ? raw : string.Concat(raw.AsSpan(0, 37), "...");

    private static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString(),
    };
}
