using KnowledgeDistillation.Tests.Abstractions;

namespace KnowledgeDistillation.Tests.Training;

internal static class TrainerTestData
{
    private static readonly string[] s_topics = ["cats", "dogs", "fish", "birds", "trees", "rivers", "stars", "clouds", "rocks", "roads", "ships", "bells"];

    /// <summary>Queries share a topic word with their positive; each has exactly <paramref name="negatives"/> negatives.</summary>
    public static List<DistillationExample> Examples(int negatives = 3, bool twoPositives = true)
        => s_topics.Select((t, i) => new DistillationExample(
            query: $"about {t}",
            positives: twoPositives ? [$"{t} {t} facts", $"{t} notes"] : [$"{t} {t} facts"],
            negatives: Enumerable.Range(1, negatives).Select(k => $"{s_topics[(i + k) % s_topics.Length]} facts").ToArray(),
            positiveScores: twoPositives ? [5f, 4f] : [5f],
            negativeScores: Enumerable.Range(1, negatives).Select(k => (float)-k).ToArray(),
            id: $"q{i}")).ToList();

    public static float[] Weights(IStudent student)
        => student.NamedParameters().SelectMany(p => p.Parameter.detach().data<float>().ToArray()).ToArray();

    public static string TempDirectory() => Path.Combine(Path.GetTempPath(), $"kd-trainer-{Guid.NewGuid():N}");

    public sealed class ListProgress : IProgress<TrainingProgress>
    {
        public List<TrainingProgress> Reports { get; } = [];

        public Action<TrainingProgress>? OnReport { get; init; }

        public void Report(TrainingProgress value)
        {
            Reports.Add(value);
            OnReport?.Invoke(value);
        }
    }

    public static BagOfWordsStudent Student(double dropout = 0.2) => new(seed: 11, dropout: dropout) { IsTraining = false };
}
