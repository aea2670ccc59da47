using System.Diagnostics;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Abstractions;

/// <summary>A minimal <see cref="ITrainer"/>: plain SGD over seeded, shuffled batches.</summary>
internal sealed class SgdTrainer(int epochs, int batchSize, int negatives, double learningRate, int seed) : ITrainer
{
    public async Task<TrainingResult> TrainAsync(
        IStudent student,
        IDistillationLoss loss,
        IReadOnlyList<DistillationExample> examples,
        IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var random = new Random(seed);
        var parameters = student.NamedParameters().Select(p => p.Parameter).ToArray();
        using var optimizer = optim.SGD(parameters, learningRate);
        int stepsPerEpoch = (examples.Count + batchSize - 1) / batchSize;
        int total = epochs * stepsPerEpoch, step = 0;
        double last = double.NaN;
        bool wasTraining = student.IsTraining;
        student.IsTraining = true;
        try
        {
            for (int epoch = 0; epoch < epochs; epoch++)
            {
                var order = Enumerable.Range(0, examples.Count).OrderBy(_ => random.Next()).ToArray();
                for (int start = 0; start < order.Length; start += batchSize)
                {
                    if (cancellationToken.IsCancellationRequested)
                        return new TrainingResult(step, last, Cancelled: true, clock.Elapsed);
                    var batch = DistillationBatch.FromExamples(order.Skip(start).Take(batchSize).Select(i => examples[i]).ToArray(), negatives, random);
                    using (var scope = NewDisposeScope())
                    {
                        optimizer.zero_grad();
                        Tensor value = loss.Compute(student.Forward(batch), TeacherOutput.FromBatch(batch));
                        value.backward();
                        optimizer.step();
                        last = value.item<float>();
                    }
                    step++;
                    progress?.Report(new TrainingProgress(step, total, epoch, last, new Dictionary<string, double>(), learningRate,
                        step * batchSize / clock.Elapsed.TotalSeconds, null));
                    await Task.Yield();
                }
            }
        }
        finally
        {
            student.IsTraining = wasTraining;
        }
        return new TrainingResult(step, last, Cancelled: false, clock.Elapsed);
    }
}
