using System.Text.Json;
using KnowledgeDistillation;
using KnowledgeDistillation.Evaluation;
using Samples.Common;

namespace DomainAdaptation;

/// <summary>
/// A training student's loss and dev curves, written beside its checkpoints after every step and evaluation, so that a
/// run that resumes at the last checkpoint reports the whole curves. Points after the step a run resumes at (written
/// after the last checkpoint of a killed run) are dropped as the resumed run reports that step again.
/// </summary>
internal sealed class PartialCurves(string path)
{
    private int _step;

    /// <summary>The loss after every step so far.</summary>
    public List<(int Step, double Value)> Losses { get; private set; } = [];

    /// <summary>The dev nDCG@10 at every evaluation so far (not the start's).</summary>
    public List<(int Step, double Value)> Dev { get; private set; } = [];

    /// <summary>Reads the curves a stopped run wrote; returns whether it left a checkpoint to resume at.</summary>
    public async Task<bool> LoadAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
            return false;
        Saved? saved;
        try
        {
            saved = JsonSerializer.Deserialize<Saved>(await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false));
        }
        catch (JsonException)
        {
            // Written atomically, so not expected; the curves then start where the resumed run does.
            saved = null;
        }
        Losses = [.. (saved?.Loss ?? []).Select(p => ((int)p[0], p[1]))];
        Dev = [.. (saved?.Dev ?? []).Select(p => ((int)p[0], p[1]))];
        return Directory.EnumerateDirectories(Path.GetDirectoryName(path)!, "checkpoint-*").Any();
    }

    /// <summary>Records a step's loss (dropping points a killed run wrote after its last checkpoint).</summary>
    public void Loss(int step, double value)
    {
        _step = step;
        Losses.RemoveAll(p => p.Step >= step);
        Dev.RemoveAll(p => p.Step >= step);
        Losses.Add((step, value));
        Save();
    }

    /// <summary>An evaluator that records nDCG@10 at the current step.</summary>
    public IStudentEvaluator Recording(IStudentEvaluator inner) => new Recorder(this, inner);

    private void Save()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var saved = new Saved([.. Losses.Select(p => new[] { p.Step, p.Value })], [.. Dev.Select(p => new[] { p.Step, p.Value })]);
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(saved));
    }

    private sealed record Saved(double[][] Loss, double[][] Dev);

    private sealed class Recorder(PartialCurves curves, IStudentEvaluator inner) : IStudentEvaluator
    {
        public async Task<IReadOnlyDictionary<string, double>> EvaluateAsync(IStudent student, CancellationToken cancellationToken = default)
        {
            IReadOnlyDictionary<string, double> metrics = await inner.EvaluateAsync(student, cancellationToken).ConfigureAwait(false);
            curves.Dev.Add((curves._step, metrics[MetricNames.Ndcg10]));
            curves.Save();
            return metrics;
        }
    }
}
