using KnowledgeDistillation.Retrieval;
using Microsoft.Extensions.Logging;

namespace KnowledgeDistillation.Tests.Retrieval.Mining;

/// <summary>A retriever that returns fixed rankings by query text, as a search engine with known results would.</summary>
internal sealed class TableRetriever(IReadOnlyDictionary<string, string[]> rankings) : ICandidateRetriever
{
    public List<int> BatchSizes { get; } = [];

    public int TopKSeen { get; private set; }

    public Task<IReadOnlyList<IReadOnlyList<ScoredDocument>>> RetrieveAsync(IReadOnlyList<string> queries, int topK, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        BatchSizes.Add(queries.Count);
        TopKSeen = topK;
        IReadOnlyList<IReadOnlyList<ScoredDocument>> result = queries
            .Select(q => (IReadOnlyList<ScoredDocument>)(rankings.TryGetValue(q, out string[]? ids) ? ids : [])
                .Take(topK).Select((id, r) => new ScoredDocument(id, 100f - r)).ToArray())
            .ToArray();
        return Task.FromResult(result);
    }
}

/// <summary>A teacher that scores a pair by looking the document text up (every query alike), counting its calls.</summary>
internal sealed class TextScoreTeacher(IReadOnlyDictionary<string, float> scores, float unknown = 0f) : ITeacher
{
    public List<int> CallSizes { get; } = [];

    public string Identity => "test:text-score";

    public Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
    {
        CallSizes.Add(pairs.Count);
        return Task.FromResult(pairs.Select(p => scores.TryGetValue(p.Document, out float s) ? s : unknown).ToArray());
    }
}

/// <summary>A teacher that returns whatever it is told to, to test how the miner handles a misbehaving teacher.</summary>
internal sealed class BrokenTeacher(Func<int, float[]> scores) : ITeacher
{
    public string Identity => "test:broken";

    public Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
        => Task.FromResult(scores(pairs.Count));
}

/// <summary>Collects log messages.</summary>
internal sealed class ListLogger : ILogger
{
    public List<(LogLevel Level, string Message)> Entries { get; } = [];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        => Entries.Add((logLevel, formatter(state, exception)));
}
