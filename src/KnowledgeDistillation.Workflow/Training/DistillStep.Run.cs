using KnowledgeDistillation.Models;
using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Training;
using KnowledgeDistillation.Workflow.Scoring;
using Microsoft.Extensions.Logging;

namespace KnowledgeDistillation.Workflow.Training;

// The whole distill step (kd distill, the QuickStart's and DomainAdaptation's students): create or take the student,
// record the dev curve, train, keep the best dev checkpoint, save.
public static partial class DistillStep
{
    /// <summary>
    /// Trains a student on the examples. With an evaluator (<see cref="DistillationTrainerOptions.Evaluator"/>) the dev
    /// curve is recorded; with <see cref="DistillationTrainerOptions.BestStudentDirectory"/> as well, the best dev
    /// checkpoint (the last step's when it is the best) is the student kept; with <see cref="DistillOptions.AverageWithStart"/>
    /// it is then averaged with the starting weights. Saves it to
    /// <see cref="DistillRequest.OutputPath"/> when given. With a checkpoint folder that holds a checkpoint of the same
    /// settings, training resumes there; when the step loads a saved student, only a checkpoint trained from the same
    /// starting weights (a request that passes <see cref="DistillRequest.Student"/> may pass the partly trained object
    /// of an earlier attempt, so its start is not checked). With the <see cref="DistillationRecipes.EmbeddingMse"/> recipe and no
    /// <see cref="DistillRequest.EmbeddingTeacher"/>, the student folder at its full depth is the embedding teacher: loaded
    /// as the student is, it embeds every query and document of the examples before the first step and is disposed at the end.
    /// </summary>
    /// <param name="request">What to train, how, and where to save it.</param>
    /// <param name="progress">Receives a report after every step; optional.</param>
    /// <param name="logger">Receives checkpoint, resume and evaluation messages; optional.</param>
    /// <param name="cancellationToken">Stops at the next step (writing a checkpoint when a folder is set).</param>
    /// <returns>The run and its student; dispose it.</returns>
    /// <exception cref="OperationCanceledException">Cancelled; the same call resumes from the checkpoint.</exception>
    /// <exception cref="CheckpointMismatchException">The checkpoint folder's latest checkpoint was written by a run with other settings, or from other starting weights.</exception>
    /// <exception cref="ArgumentException">The embedding-mse recipe without a student folder, invalid <see cref="ModelDescription.Layers"/>, or <see cref="DistillOptions.AverageWithStart"/> without a starting student (<see cref="ArgumentOutOfRangeException"/> outside [0, 1]).</exception>
    public static async Task<DistillRun> RunAsync(
        DistillRequest request, IProgress<TrainingProgress>? progress = null, ILogger<DistillationTrainer>? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        DistillOptions options = request.Options;
        BiEncoderStudent? student = request.Student;
        BiEncoderStudent? parent = null;
        Dictionary<string, TorchSharp.torch.Tensor>? start = null;
        try
        {
            WeightAveraging.CheckShare(options.AverageWithStart, nameof(DistillOptions.AverageWithStart));
            if (options.AverageWithStart > 0 && student is null && options.Model.NameOrPath is null)
                throw new ArgumentException("AverageWithStart averages the trained weights with those of the student training started from; a new student's start is random weights: give a saved one (ModelDescription.NameOrPath, kd distill's --student).", nameof(request));
            IDistillationLoss loss = request.Loss ?? DistillationRecipes.Create(options.Recipe, options.SoftWeight);
            if (student is null)
            {
                student = CreateStudent(options, request.Tokenizer);
                // Loaded here, so these are the start's weights: a checkpoint of another start (another folder, other
                // layers of the same count, a new student's) is then refused rather than resumed.
                options = options with { Trainer = options.Trainer with { StartIdentity = WeightFingerprint.StartOf(options.Model.NameOrPath is null, student.NamedParameters()) } };
            }
            // The start, copied before training moves it (a resumed run's start is the same folder, loaded the same way).
            if (options.AverageWithStart > 0)
                start = WeightAveraging.Snapshot(student);
            EmbeddingTeacher? embeddingTeacher = request.EmbeddingTeacher;
            if (embeddingTeacher is null && options.Recipe == DistillationRecipes.EmbeddingMse)
            {
                (parent, embeddingTeacher) = LoadParent(options);
                // Every query and document of the examples, embedded up front: a resumed run then learns the same targets.
                string[] queries = [.. request.Examples.Select(e => e.Query).Distinct(StringComparer.Ordinal)];
                string[] documents = [.. request.Examples.SelectMany(e => e.Positives.Concat(e.Negatives)).Distinct(StringComparer.Ordinal)];
                if (logger is not null)
                    EmbeddingParent(logger, queries.Length, documents.Length, options.Model.NameOrPath!);
                var clock = System.Diagnostics.Stopwatch.StartNew();
                await embeddingTeacher.EmbedAllAsync(queries, documents, cancellationToken).ConfigureAwait(false);
                if (logger is not null)
                    EmbeddedParent(logger, clock.Elapsed.TotalSeconds);
            }
            int step = 0;
            var curve = new List<(int Step, double Value)>();
            DistillationTrainerOptions trainer = options.Trainer;
            CurveRecorder? recorder = trainer.Evaluator is { } dev ? new CurveRecorder(dev, trainer.BestMetric, () => step, curve) : null;
            if (recorder is not null && request.EvaluateStart)
            {
                // The untrained point, so that the curve starts where the model started.
                student.IsTraining = false;
                await recorder.EvaluateAsync(student, cancellationToken).ConfigureAwait(false);
            }
            var steps = new SynchronousProgress<TrainingProgress>(p =>
            {
                step = p.Step;
                progress?.Report(p);
            });
            DistillOptions run = recorder is null ? options : options with { Trainer = trainer with { Evaluator = recorder } };
            TrainingResult result = await TrainAsync(student, loss, request.Examples, run, steps, logger, embeddingTeacher, cancellationToken).ConfigureAwait(false);
            if (result.Cancelled)
                throw new OperationCanceledException(cancellationToken);

            bool fromBest = false;
            if (recorder is not null && trainer.BestStudentDirectory is { } best && Directory.Exists(best))
            {
                // The trainer saved every new best there; loaded back it is the same weights as when it was evaluated.
                BiEncoderStudent kept = Load(best, MaxLengthFor(options, options.Model.NameOrPath));
                student.Dispose();
                student = kept;
                fromBest = true;
            }
            if (start is not null)
            {
                WeightAveraging.Average(student, start, options.AverageWithStart);
                if (logger is not null)
                    AveragedWithStart(logger, 1 - options.AverageWithStart, options.AverageWithStart);
            }
            if (request.OutputPath is { } output)
                await student.SaveAsync(output, cancellationToken).ConfigureAwait(false);
            return new DistillRun(student, result, curve, BestOf(curve, request.EvaluateStart), fromBest);
        }
        catch
        {
            student?.Dispose();
            throw;
        }
        finally
        {
            parent?.Dispose();
            foreach (TorchSharp.torch.Tensor tensor in start?.Values ?? Enumerable.Empty<TorchSharp.torch.Tensor>())
                tensor.Dispose();
        }
    }

    // The embedding-mse recipe's teacher: the student folder at its full depth, loaded as the student is (length,
    // pooling, normalisation, prompts), named by its files and length so that a checkpoint of another parent is not resumed.
    private static (BiEncoderStudent Model, EmbeddingTeacher Teacher) LoadParent(DistillOptions options)
    {
        string folder = options.Model.NameOrPath ?? throw new ArgumentException(
            $"The {DistillationRecipes.EmbeddingMse} recipe restores a student to the model it was cut from: give that model's folder (ModelDescription.NameOrPath, kd distill's --student).", nameof(options));
        BiEncoderStudent model = Load(folder, MaxLengthFor(options, folder));
        try
        {
            return (model, new EmbeddingTeacher(model.AsIEmbeddingGenerator(TextKind.Document), model.AsIEmbeddingGenerator(TextKind.Query), TeacherSpec.BiEncoderIdentity(folder, model.MaxSequenceLength)));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    // The trainer's rule: the first evaluation during training that beats every earlier one (the step-0 point excluded).
    private static (int Step, double Value)? BestOf(List<(int Step, double Value)> curve, bool hasStart)
    {
        (int Step, double Value)? best = null;
        foreach ((int Step, double Value) point in curve.Skip(hasStart ? 1 : 0))
        {
            if (best is null || point.Value > best.Value.Value)
                best = point;
        }
        return best;
    }

    /// <summary>Records the metric the trainer keeps the best checkpoint by, at the step the training has reached.</summary>
    private sealed class CurveRecorder(IStudentEvaluator inner, string metric, Func<int> currentStep, List<(int Step, double Value)> points) : IStudentEvaluator
    {
        public async Task<IReadOnlyDictionary<string, double>> EvaluateAsync(IStudent student, CancellationToken cancellationToken = default)
        {
            IReadOnlyDictionary<string, double> metrics = await inner.EvaluateAsync(student, cancellationToken).ConfigureAwait(false);
            points.Add((currentStep(), metrics[metric]));
            return metrics;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Embedding {Queries} queries and {Documents} documents with {Folder} at full depth: the embedding-mse targets, once before the first step.")]
    private static partial void EmbeddingParent(ILogger logger, int queries, int documents, string folder);

    [LoggerMessage(Level = LogLevel.Information, Message = "Targets embedded in {Seconds:F0} s.")]
    private static partial void EmbeddedParent(ILogger logger, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Weights averaged with the start's (WiSE-FT): {Trained} × trained + {Start} × start.")]
    private static partial void AveragedWithStart(ILogger logger, double trained, double start);
}
