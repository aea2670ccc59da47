using KnowledgeDistillation.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Losses;

/// <summary>
/// Embedding regression for compressing a bi-encoder teacher into a smaller bi-encoder: the mean over all elements of
/// <c>(P(x_s) − x_t)²</c>, where x_s and x_t are the student's and the teacher's embeddings of the same texts and P is
/// either the identity or a learned linear projection <c>x·Wᵀ + b</c> (sentence-transformers' <c>MSELoss</c> for model
/// distillation, with an optional projection when the sizes differ).
/// </summary>
/// <remarks>
/// <para>
/// It compares query embeddings when <see cref="TeacherOutput.QueryEmbeddings"/> is given and candidate embeddings when
/// <see cref="TeacherOutput.DocumentEmbeddings"/> is given (all rows together, so every embedding weighs the same); the
/// student output must hold the matching embeddings. Teacher scores are not used.
/// </para>
/// <para>
/// The projection's parameters belong to the loss: a trainer must optimise them along with the student's, through
/// <see cref="ITrainableLoss.NamedParameters"/> (names <c>projection.weight</c> <c>[d_t, d_s]</c> and
/// <c>projection.bias</c> <c>[d_t]</c>). A loss with a projection owns native memory: dispose it. It is not thread-safe.
/// </para>
/// </remarks>
public sealed class EmbeddingMseLoss : ITrainableLoss, IDisposable
{
    private readonly Linear? _projection;
    private bool _disposed;

    /// <summary>
    /// Creates the loss; its settings are constructor arguments, as sentence-transformers' losses take them. Give both
    /// dimensions to learn a linear projection from the student's embedding size to the teacher's; leave both unset (the
    /// default) to compare the embeddings directly, which needs equal sizes.
    /// </summary>
    /// <param name="studentDimension">The student's embedding size d_s, the projection's input. Default <see langword="null"/> (no projection).</param>
    /// <param name="teacherDimension">The teacher's embedding size d_t, the projection's output. Default <see langword="null"/> (no projection).</param>
    /// <param name="projectionSeed">
    /// The seed of the projection's initialisation (PyTorch's <c>nn.Linear</c> default: weight and bias uniform in
    /// ±1/√d_s). Default 0.
    /// </param>
    /// <param name="projectionDType">The projection's element type; it must match the student's embeddings. Default <see cref="ScalarType.Float32"/>.</param>
    /// <param name="projectionDevice">The projection's device; it must match the student's. Default <see langword="null"/> (CPU).</param>
    /// <exception cref="ArgumentException">Only one of the two dimensions is set.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is not positive.</exception>
    public EmbeddingMseLoss(
        int? studentDimension = null,
        int? teacherDimension = null,
        long projectionSeed = 0,
        ScalarType projectionDType = ScalarType.Float32,
        Device? projectionDevice = null)
    {
        if (studentDimension.HasValue != teacherDimension.HasValue)
            throw new ArgumentException("Set both studentDimension and teacherDimension for a projection, or neither.", studentDimension.HasValue ? nameof(teacherDimension) : nameof(studentDimension));
        if (studentDimension is not int ds || teacherDimension is not int dt)
            return;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ds, nameof(studentDimension));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dt, nameof(teacherDimension));

        _projection = nn.Linear(ds, dt, hasBias: true, device: projectionDevice, dtype: projectionDType);
        double bound = 1.0 / Math.Sqrt(ds);
        using var generator = new Generator((ulong)projectionSeed);
        using (no_grad())
        {
            _projection.weight!.uniform_(-bound, bound, generator);
            _projection.bias!.uniform_(-bound, bound, generator);
        }
    }

    /// <inheritdoc />
    public string Name => "embedding-mse";

    /// <summary>Whether the loss learns a projection from the student's embedding size to the teacher's.</summary>
    public bool HasProjection => _projection is not null;

    /// <inheritdoc />
    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters()
    {
        if (_projection is null)
            yield break;
        yield return ("projection.weight", _projection.weight!);
        yield return ("projection.bias", _projection.bias!);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">
    /// The teacher has no embeddings, the student lacks the matching ones, or the shapes do not fit (the message gives
    /// them).
    /// </exception>
    /// <exception cref="ObjectDisposedException">The loss was disposed.</exception>
    public Tensor Compute(StudentOutput student, TeacherOutput teacher)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (teacher.QueryEmbeddings is null && teacher.DocumentEmbeddings is null)
        {
            throw new ArgumentException(
                "The embedding-mse loss needs teacher embeddings (TeacherOutput.QueryEmbeddings and/or DocumentEmbeddings); the teacher output has none.",
                nameof(teacher));
        }

        using var scope = NewDisposeScope();
        var predictions = new List<Tensor>(2);
        var targets = new List<Tensor>(2);
        if (teacher.QueryEmbeddings is { } teacherQueries)
        {
            Tensor studentQueries = student.QueryEmbeddings ?? throw MissingStudent("QueryEmbeddings", nameof(student));
            Add(studentQueries, teacherQueries, "query");
        }
        if (teacher.DocumentEmbeddings is { } teacherDocuments)
        {
            Tensor studentDocuments = student.DocumentEmbeddings ?? throw MissingStudent("DocumentEmbeddings", nameof(student));
            if (teacherDocuments.shape[0] != studentDocuments.shape[0] || teacherDocuments.shape[1] != studentDocuments.shape[1])
                throw ShapeMismatch("document", studentDocuments, teacherDocuments, nameof(teacher));
            Add(studentDocuments.flatten(0, 1), teacherDocuments.flatten(0, 1), "document");
        }

        Tensor prediction = predictions.Count == 1 ? predictions[0] : cat(predictions, 0);
        Tensor target = targets.Count == 1 ? targets[0] : cat(targets, 0);
        return (prediction - target).Squared().mean().MoveToOuterDisposeScope();

        void Add(Tensor fromStudent, Tensor fromTeacher, string kind)
        {
            if (fromStudent.shape[0] != fromTeacher.shape[0])
                throw ShapeMismatch(kind, fromStudent, fromTeacher, nameof(teacher));
            long ds = fromStudent.shape[^1], dt = fromTeacher.shape[^1];
            Tensor projected;
            if (_projection is null)
            {
                if (ds != dt)
                {
                    throw new ArgumentException(
                        $"Student {kind} embeddings {LossInputs.Shape(fromStudent)} and teacher {kind} embeddings {LossInputs.Shape(fromTeacher)} differ in size ({ds} vs {dt}); create the loss with a projection (new EmbeddingMseLoss(studentDimension: {ds}, teacherDimension: {dt})).",
                        nameof(teacher));
                }
                projected = fromStudent;
            }
            else
            {
                long inFeatures = _projection.weight!.shape[1], outFeatures = _projection.weight.shape[0];
                if (ds != inFeatures || dt != outFeatures)
                {
                    throw new ArgumentException(
                        $"The projection maps {inFeatures} to {outFeatures} dimensions but the student {kind} embeddings are {LossInputs.Shape(fromStudent)} and the teacher's {LossInputs.Shape(fromTeacher)}.",
                        nameof(student));
                }
                projected = _projection.forward(fromStudent);
            }
            predictions.Add(projected);
            targets.Add(LossInputs.Align(fromTeacher, projected));
        }
    }

    /// <summary>Releases the projection's tensors.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _projection?.Dispose();
    }

    private static ArgumentException MissingStudent(string property, string parameter) =>
        new($"The teacher gave {property} but StudentOutput.{property} is missing; the student output must hold the embeddings the teacher's are compared with.", parameter);

    private static ArgumentException ShapeMismatch(string kind, Tensor fromStudent, Tensor fromTeacher, string parameter) =>
        new($"Student {kind} embeddings {LossInputs.Shape(fromStudent)} and teacher {kind} embeddings {LossInputs.Shape(fromTeacher)} do not cover the same texts.", parameter);
}
