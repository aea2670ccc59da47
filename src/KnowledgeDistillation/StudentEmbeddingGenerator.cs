using Microsoft.Extensions.AI;

namespace KnowledgeDistillation;

/// <summary>
/// Microsoft.Extensions.AI's <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> over a student's
/// <see cref="IStudent.Encode"/>, for one kind of text, so the application code that will later serve the exported ONNX
/// model (KnowledgeDistillation.Onnx's <c>OnnxEmbeddingGenerator</c>) runs against the TorchSharp student during
/// development. Thread-safe when the student's <see cref="IStudent.Encode"/> is (a <see cref="Models.BiEncoderStudent"/> not in
/// training mode); runs on the calling thread.
/// </summary>
public sealed class StudentEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>The provider name in <see cref="Metadata"/>.</summary>
    public const string ProviderName = "KnowledgeDistillation";

    private readonly bool _ownsStudent;

    /// <summary>Creates a generator over a student.</summary>
    /// <param name="student">The student; in evaluation mode when generating.</param>
    /// <param name="kind">Queries or documents (a <see cref="Models.BiEncoderStudent"/> gives them different prefixes).</param>
    /// <param name="ownsStudent">Whether disposing the generator disposes the student.</param>
    /// <param name="modelId">The model id reported in <see cref="Metadata"/> and on each embedding; none by default.</param>
    public StudentEmbeddingGenerator(IStudent student, TextKind kind = TextKind.Document, bool ownsStudent = false, string? modelId = null)
    {
        ArgumentNullException.ThrowIfNull(student);
        Student = student;
        Kind = kind;
        _ownsStudent = ownsStudent;
        Metadata = new EmbeddingGeneratorMetadata(ProviderName, providerUri: null, modelId, student.EmbeddingDimension);
    }

    /// <summary>The student.</summary>
    public IStudent Student { get; }

    /// <summary>Whether texts are embedded as queries or as documents.</summary>
    public TextKind Kind { get; }

    /// <summary>The provider, the model id and the dimension.</summary>
    public EmbeddingGeneratorMetadata Metadata { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A value is <see langword="null"/>, or <see cref="EmbeddingGenerationOptions.Dimensions"/> asks for another size than the student's.</exception>
    /// <exception cref="InvalidOperationException">The student is in training mode.</exception>
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<string> texts = EmbeddingGenerators.Texts(values, options, Student.EmbeddingDimension, "student");
        return Task.FromResult(EmbeddingGenerators.Result(Student.Encode(texts, Kind, cancellationToken), Metadata.DefaultModelId));
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
        => EmbeddingGenerators.GetService(this, Student, Metadata, serviceType, serviceKey);

    /// <summary>Disposes the student when the generator owns it.</summary>
    public void Dispose()
    {
        if (_ownsStudent)
            Student.Dispose();
    }
}
