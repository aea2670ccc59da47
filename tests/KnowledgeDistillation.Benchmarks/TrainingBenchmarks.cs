using BenchmarkDotNet.Attributes;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>
/// One training step as <see cref="Training.DistillationTrainer"/> runs it: the student encodes 32 queries and 160
/// documents (one positive, four negatives each) with dropout on, Margin-MSE against the teacher scores, backward,
/// gradient clipping at 1.0, AdamW step. Rate = examples (queries) per second. MiniLM shapes only.
/// </summary>
[Config(typeof(BenchConfig))]
public class TrainingBenchmarks
{
    private BiEncoderStudent? _student;
    private AdamW? _optimizer;
    private List<Parameter> _parameters = [];
    private DistillationBatch? _batch;
    private readonly MarginMseLoss _loss = new();

    [Params("minilm")]
    public string Shape { get; set; } = "minilm";

    [Params(128)]
    public int Length { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        BenchEnvironment.ConfigureTorch();
        _batch = Workloads.TrainingBatch();
        _student = BiEncoderStudent.FromPretrained(BenchEnvironment.ModelDirectory(Shape, "encoder"), new BiEncoderStudentOptions { MaxSequenceLength = Length });
        _student.IsTraining = true;
        _parameters = _student.NamedParameters().Select(p => p.Parameter).ToList();
        _optimizer = optim.AdamW(_parameters, lr: 2e-5, weight_decay: 0.01);
    }

    [Benchmark]
    public float TrainStep() => Step(_student!, _optimizer!, _parameters, _batch!, _loss);

    /// <summary>The trainer's inner loop for one micro-batch, without the bookkeeping.</summary>
    internal static float Step(BiEncoderStudent student, AdamW optimizer, List<Parameter> parameters, DistillationBatch batch, IDistillationLoss loss)
    {
        using (NewDisposeScope())
            optimizer.zero_grad(); // inside a scope: TorchSharp's zero_grad leaves one gradient wrapper per parameter
        float value = ForwardBackward(student, batch, loss);
        nn.utils.clip_grad_norm_(parameters, 1.0);
        optimizer.step();
        return value;
    }

    /// <summary>The same step with one of the trainers' optimisers (<c>adamw</c> mode).</summary>
    internal static float Step(BiEncoderStudent student, Training.ITrainingOptimizer optimizer, List<Parameter> parameters, DistillationBatch batch, IDistillationLoss loss)
    {
        optimizer.ZeroGrad();
        float value = ForwardBackward(student, batch, loss);
        nn.utils.clip_grad_norm_(parameters, 1.0);
        optimizer.Step();
        return value;
    }

    /// <summary>Forward, loss and backward of one batch, its tensors disposed; returns the loss.</summary>
    private static float ForwardBackward(BiEncoderStudent student, DistillationBatch batch, IDistillationLoss loss)
    {
        using var scope = NewDisposeScope();
        StudentOutput output = student.Forward(batch);
        TeacherOutput targets = TeacherOutput.FromBatch(batch, output.Scores.device);
        Tensor l = loss.Compute(output, targets);
        float value = l.item<float>();
        l.backward();
        return value;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _optimizer?.Dispose();
        _student?.Dispose();
        _optimizer = null;
        _student = null;
    }
}
