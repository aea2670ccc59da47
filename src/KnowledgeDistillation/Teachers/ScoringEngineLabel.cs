namespace KnowledgeDistillation.Teachers;

/// <summary>
/// The engine, precision and quantization written into a teacher identity (<c>…;engine=onnxruntime;precision=int8;quantization=dynamic</c>),
/// read back to say why two caches' scores must not be mixed. A libtorch cross-encoder's identity
/// (<c>cross-encoder/bert:sha256:…</c>) carries its dtype inside the hash only, as it always has, so older caches keep opening.
/// </summary>
internal static class ScoringEngineLabel
{
    /// <summary>Where the engine fields start in an identity.</summary>
    public const string Marker = ";engine=";

    /// <summary>The engine fields of an identity (<c>engine=onnxruntime;precision=int8;quantization=dynamic</c>).</summary>
    public static string Fields(string engine, string precision, string quantization) => $"engine={engine};precision={precision};quantization={quantization}";

    /// <summary>"engine=…;precision=…" of an identity, "engine=libtorch" for a libtorch cross-encoder, else <see langword="null"/>.</summary>
    public static string? Describe(string identity)
    {
        int at = identity.IndexOf(Marker, StringComparison.Ordinal);
        if (at >= 0)
            return identity[(at + 1)..];
        return identity.StartsWith("cross-encoder/bert:", StringComparison.Ordinal) ? "engine=libtorch" : null;
    }

    /// <summary>A sentence naming the engines of two identities when they differ, else "".</summary>
    public static string Difference(string stored, string wanted)
    {
        string? a = Describe(stored), b = Describe(wanted);
        return a is null || b is null || string.Equals(a, b, StringComparison.Ordinal)
            ? ""
            : $" The stored scores came from {a}, the teacher's come from {b}: scores of different engines, precisions or quantizations are not mixed.";
    }
}
