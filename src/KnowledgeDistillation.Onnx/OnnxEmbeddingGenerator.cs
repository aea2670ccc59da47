using KnowledgeDistillation.Models;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace KnowledgeDistillation.Onnx;

/// <summary>
/// Microsoft.Extensions.AI's <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> over an <see cref="OnnxEmbeddingModel"/>,
/// for one kind of text: an asymmetric model (different query and document prefixes) takes one generator per kind,
/// both sharing one model. Thread-safe; runs on the calling thread.
/// </summary>
public sealed class OnnxEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>The provider name in <see cref="Metadata"/>.</summary>
    public const string ProviderName = "KnowledgeDistillation.Onnx";

    private readonly bool _ownsModel;

    /// <summary>Creates a generator over a model.</summary>
    /// <param name="model">The model.</param>
    /// <param name="kind">Queries or documents: which prefix texts get.</param>
    /// <param name="ownsModel">Whether disposing the generator disposes the model.</param>
    public OnnxEmbeddingGenerator(OnnxEmbeddingModel model, TextKind kind = TextKind.Document, bool ownsModel = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        Model = model;
        Kind = kind;
        _ownsModel = ownsModel;
        Metadata = new EmbeddingGeneratorMetadata(ProviderName, new Uri(Path.GetFullPath(model.ModelPath)), Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(model.ModelPath))), model.EmbeddingDimension);
    }

    /// <summary>The model.</summary>
    public OnnxEmbeddingModel Model { get; }

    /// <summary>Whether texts are embedded as queries or as documents.</summary>
    public TextKind Kind { get; }

    /// <summary>The provider, the model file, the folder's name as the model id, and the dimension.</summary>
    public EmbeddingGeneratorMetadata Metadata { get; }

    /// <summary>Loads a model folder into a generator that owns it.</summary>
    /// <param name="directory">The folder (see <see cref="OnnxEmbeddingModel"/>).</param>
    /// <param name="kind">Queries or documents.</param>
    /// <param name="options">Model settings; <see langword="null"/> keeps the folder's.</param>
    /// <param name="logger">Receives what was loaded and from where; nothing is logged when <see langword="null"/>.</param>
    /// <returns>The generator; disposing it releases the model.</returns>
    /// <exception cref="DirectoryNotFoundException">As for <see cref="OnnxEmbeddingModel.FromFolder"/>.</exception>
    /// <exception cref="FileNotFoundException">As for <see cref="OnnxEmbeddingModel.FromFolder"/>.</exception>
    /// <exception cref="KnowledgeDistillation.Formats.Checkpoints.CheckpointException">As for <see cref="OnnxEmbeddingModel.FromFolder"/>.</exception>
    public static OnnxEmbeddingGenerator FromFolder(string directory, TextKind kind = TextKind.Document, OnnxEmbeddingModelOptions? options = null, ILogger? logger = null)
        => new(OnnxEmbeddingModel.FromFolder(directory, options, logger), kind, ownsModel: true);

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A value is <see langword="null"/>, or <see cref="EmbeddingGenerationOptions.Dimensions"/> asks for another size than the model's.</exception>
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<string> texts = EmbeddingGenerators.Texts(values, options, Model.EmbeddingDimension, "model");
        float[][] vectors = Model.EmbedCounting(texts, Kind, out long tokens, cancellationToken);
        return Task.FromResult(EmbeddingGenerators.Result(vectors, Metadata.DefaultModelId, tokens));
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
        => EmbeddingGenerators.GetService(this, Model, Metadata, serviceType, serviceKey);

    /// <summary>Disposes the model when the generator owns it.</summary>
    public void Dispose()
    {
        if (_ownsModel)
            Model.Dispose();
    }
}
