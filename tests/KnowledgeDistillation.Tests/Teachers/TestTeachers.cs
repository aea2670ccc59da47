namespace KnowledgeDistillation.Tests.Teachers;

/// <summary>
/// The crash test's deterministic teacher, written again here (FNV-1a of the texts mapped to [-10, 10]) so the test
/// checks the child process's stored scores against an independent computation. Records every pair it is asked for.
/// </summary>
internal sealed class DeterministicTeacher(string identity = "crash-test:fnv1a") : ITeacher
{
    private readonly List<QueryDocumentPair> _asked = [];

    public string Identity => identity;

    public int Calls { get; private set; }

    public List<int> BatchSizes { get; } = [];

    public IReadOnlyList<QueryDocumentPair> Asked
    {
        get
        {
            lock (_asked)
                return _asked.ToArray();
        }
    }

    public Func<int, Task>? BeforeBatch { get; init; }

    public async Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
    {
        if (BeforeBatch is not null)
            await BeforeBatch(Calls);
        lock (_asked)
        {
            Calls++;
            BatchSizes.Add(pairs.Count);
            _asked.AddRange(pairs);
        }
        return pairs.Select(p => Score(p.Query, p.Document)).ToArray();
    }

    public static float Score(string query, string document)
    {
        uint hash = 2166136261;
        foreach (char c in query + "\u0001" + document)
        {
            hash ^= c;
            hash *= 16777619;
        }
        return hash % 20001 / 1000f - 10f;
    }
}

/// <summary>A teacher that misbehaves in a chosen way.</summary>
internal sealed class BrokenTeacher(string identity, Func<IReadOnlyList<QueryDocumentPair>, float[]> score) : ITeacher
{
    public string Identity => identity;

    public Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
        => Task.FromResult(score(pairs));
}
