using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Retrieval;

namespace KnowledgeDistillation.Workflow.Data;

/// <summary>
/// BM25's run over a dataset's queries and a teacher reranking it: written once here, below both the evaluate step and
/// the fusion tuning of the score step, which each need them (a home in either would make the two namespaces a cycle).
/// </summary>
internal static class FirstStage
{
    /// <summary>BM25's top <paramref name="topK"/> for each query of <paramref name="data"/>, by query id.</summary>
    public static Dictionary<string, IReadOnlyList<ScoredDocument>> Bm25(Bm25Index index, RetrievalDataset data, int topK, CancellationToken cancellationToken)
    {
        IReadOnlyList<IReadOnlyList<ScoredDocument>> results = index.Search(data.Queries.Select(q => q.Text).ToArray(), topK, cancellationToken: cancellationToken);
        return data.Queries.Zip(results).ToDictionary(p => p.First.Id, p => p.Second, StringComparer.Ordinal);
    }

    /// <summary>The teacher reranking each query's first <paramref name="depth"/> candidates.</summary>
    public static Task<EvaluationResult> RerankAsync(
        ITeacher teacher, RetrievalDataset data, IReadOnlyDictionary<string, IReadOnlyList<ScoredDocument>> candidates, int depth,
        string? runFile, string runTag, IProgress<EvaluationProgress>? progress, CancellationToken cancellationToken)
    {
        var top = candidates.ToDictionary(p => p.Key, p => (IReadOnlyList<ScoredDocument>)p.Value.Take(depth).ToArray(), StringComparer.Ordinal);
        var evaluator = new RerankingEvaluator(data.Corpus, data.Queries, data.Judgments, top,
            new RerankingEvaluatorOptions { Depth = depth, RunFilePath = runFile, RunTag = runTag });
        return evaluator.EvaluateAsync(teacher, progress, cancellationToken);
    }
}
