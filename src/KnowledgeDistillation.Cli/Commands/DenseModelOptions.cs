using System.CommandLine;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Models;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Cli.Commands;

/// <summary>
/// How a bi-encoder given on the command line turns token states into embeddings (<c>--pooling</c>, <c>--normalize</c>,
/// <c>--similarity</c>, <c>--max-length</c>), and its loading: a sentence-transformers folder says all of this itself; a
/// Hugging Face BERT folder or a bare ONNX export does not, and then mean pooling and cosine similarity are the defaults.
/// </summary>
internal sealed class DenseModelOptions
{
    /// <summary>The value of <c>--pooling</c>, <c>--similarity</c> that defers to the model folder.</summary>
    public const string Auto = "auto";

    public Option<string> Pooling { get; } = new("--pooling")
    {
        Description = "How a dense model pools its token states: auto (the sentence-transformers pooling config of the folder, else mean), mean, cls or max.",
        DefaultValueFactory = _ => Auto,
    };

    public Option<bool?> Normalize { get; } = new("--normalize")
    {
        Description = "L2-normalise a dense model's embeddings (--normalize true|false; default: the folder's sentence-transformers Normalize module, else off). With cosine similarity the ranking is the same either way.",
    };

    public Option<string> Similarity { get; } = new("--similarity")
    {
        Description = "How a dense model compares embeddings: auto (the folder's sentence-transformers similarity_fn_name, else cosine), cosine or dot.",
        DefaultValueFactory = _ => Auto,
    };

    public Option<int?> MaxLength { get; } = new("--max-length")
    {
        Description = "Longest text a dense model encodes, in tokens (default: the folder's max_seq_length, else the tokenizer's model_max_length capped at the model's positions).",
    };

    public DenseModelOptions()
    {
        Pooling.AcceptOnlyFromAmong(Auto, "mean", "cls", "max");
        Similarity.AcceptOnlyFromAmong(Auto, "cosine", "dot");
    }

    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { Pooling, Normalize, Similarity, MaxLength })
            command.Options.Add(option);
    }

    /// <summary>Whether any of these options was set (they mean nothing for BM25).</summary>
    public bool AnyGiven(CliRun run)
        => run.Value(Pooling) != Auto || run.Value(Normalize) is not null || run.Value(Similarity) != Auto || run.Value(MaxLength) is not null;

    /// <summary>
    /// Loads the bi-encoder at <paramref name="path"/>: a folder (sentence-transformers, Hugging Face BERT, or ONNX:
    /// <c>model.onnx</c> or <c>onnx/model.onnx</c> with <c>vocab.txt</c>) or a <c>.onnx</c> file with <c>vocab.txt</c>
    /// beside it (or in the parent folder of an <c>onnx/</c> folder, whose sentence-transformers files then apply too), as
    /// <see cref="BiEncoderStudent.FromPretrained"/> reads them, in <paramref name="dtype"/> (float32, or bfloat16 for
    /// <c>--engine auto</c>'s probe). Options given win over the folder's settings.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The path does not exist.</exception>
    /// <exception cref="FileNotFoundException">A .onnx file has no vocab.txt beside it; the message names the folders looked in.</exception>
    /// <exception cref="CheckpointException">The model files are malformed or do not fit together.</exception>
    /// <exception cref="UsageException">--max-length is below 2 or above the model's positions.</exception>
    public BiEncoderStudent Load(CliRun run, string path, int encodeBatchSize, ScalarType dtype)
    {
        PoolingMode? pooling = run.Value(Pooling) switch
        {
            "mean" => PoolingMode.Mean,
            "cls" => PoolingMode.Cls,
            "max" => PoolingMode.Max,
            _ => null,
        };
        EmbeddingSimilarity? similarity = run.Value(Similarity) switch
        {
            "cosine" => EmbeddingSimilarity.Cosine,
            "dot" => EmbeddingSimilarity.Dot,
            _ => null,
        };
        return LoadStudent(run, path, pooling, run.Value(Normalize), similarity, run.Value(MaxLength), encodeBatchSize, dtype);
    }

    /// <summary>
    /// Loads a bi-encoder as <see cref="Load"/> does, with the settings given (<see langword="null"/>: the folder's, else
    /// mean pooling, no normalisation, cosine similarity) in <paramref name="dtype"/> (float32, or bfloat16 for
    /// <c>--engine auto</c>'s probe). <c>kd evaluate</c> loads its students through this.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The path does not exist.</exception>
    /// <exception cref="FileNotFoundException">A .onnx file has no vocab.txt beside it; the message names the folders looked in.</exception>
    /// <exception cref="CheckpointException">The model files are malformed or do not fit together.</exception>
    /// <exception cref="UsageException"><paramref name="maxLength"/> is below 2 or above the model's positions.</exception>
    public static BiEncoderStudent LoadStudent(CliRun run, string path, PoolingMode? pooling, bool? normalize, EmbeddingSimilarity? similarity, int? maxLength, int encodeBatchSize, ScalarType dtype)
    {
        if (maxLength is < 2)
            throw new UsageException($"--max-length {maxLength} cannot hold [CLS] and [SEP]; give 2 or more.");
        if (!ModelFolder.IsOnnxFile(path) && !Directory.Exists(path))
            throw new DirectoryNotFoundException($"The model {Path.GetFullPath(path)} does not exist (give a model folder or a .onnx file).");

        // Only a sentence-transformers folder (modules.json) records pooling, normalisation and similarity; for a .onnx
        // file that is the folder its tokenizer is in (FromPretrained reads it there too). The vocabulary is looked for
        // here, before anything is loaded.
        string settings = ModelFolder.TokenizerFolder(path);
        bool folderSays = File.Exists(Path.Combine(settings, "modules.json"));
        if (pooling is null && !folderSays)
        {
            pooling = PoolingMode.Mean;
            // Said once: --engine auto's bfloat16 candidate is the same model loaded a second time.
            if (dtype == ScalarType.Float32)
                run.Info($"{Path.GetFileName(Path.TrimEndingDirectorySeparator(path))}: no sentence-transformers pooling config, so mean pooling (--pooling to change)");
        }
        var options = new BiEncoderStudentOptions
        {
            Pooling = pooling,
            Normalize = normalize,
            Similarity = similarity,
            MaxSequenceLength = maxLength,
            EncodeBatchSize = encodeBatchSize,
            DType = dtype,
        };
        try
        {
            return BiEncoderStudent.FromPretrained(path, options, run.Logger);
        }
        catch (CheckpointException e) when (maxLength is not null && e.Message.Contains("maximum sequence length", StringComparison.Ordinal))
        {
            throw new UsageException($"--max-length {maxLength}: {e.Message}");
        }
    }
}
