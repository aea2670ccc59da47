using KnowledgeDistillation;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Teachers;

namespace DomainAdaptation;

/// <summary>A model's ranking of one out-of-domain sample's candidates: nDCG@10 and MRR@10 of the positives.</summary>
public sealed record OutOfDomainScore(string Dataset, double Ndcg10, double Mrr10, int Queries);

/// <summary>
/// Issue 25 goal 6's small out-of-domain check: FlagEmbedding's MS MARCO (10 queries, 1 positive + 25 negatives) and
/// NQ (10 queries, 1 + 100) knowledge-distillation samples. A model reranks each query's candidates by cosine; a
/// domain-adapted student should not lose here. Ten queries make it a check for collapse, not a measure: one query
/// moves nDCG@10 by up to 0.1, and so does bf16 inference, which is why the pipeline passes fp32 models.
/// </summary>
public static class OutOfDomainCheck
{
    /// <summary>The samples' files (tests/fixtures/data, copied beside the sample by its project) and their names in the report.</summary>
    public static IReadOnlyList<(string File, string Dataset)> Samples { get; } =
    [
        ("msmarco_10q_pos1_neg25_teacher_scores.jsonl", "MS MARCO"),
        ("nq_10q_pos1_neg100_teacher_scores.jsonl", "NQ"),
    ];

    /// <summary>Reads the samples from <paramref name="directory"/>.</summary>
    public static async Task<IReadOnlyList<(string Dataset, IReadOnlyList<DistillationExample> Examples)>> LoadAsync(string directory, CancellationToken cancellationToken)
    {
        var loaded = new List<(string, IReadOnlyList<DistillationExample>)>();
        foreach ((string file, string dataset) in Samples)
        {
            var examples = new List<DistillationExample>();
            await foreach (DistillationExample e in FlagEmbeddingJsonl.ReadAsync(Path.Combine(directory, file), cancellationToken: cancellationToken).ConfigureAwait(false))
                examples.Add(e);
            loaded.Add((dataset, examples));
        }
        return loaded;
    }

    /// <summary>Ranks every sample query's positives and negatives by the model's cosine and scores the ranking.</summary>
    public static async Task<IReadOnlyList<OutOfDomainScore>> EvaluateAsync(
        IStudent model, IReadOnlyList<(string Dataset, IReadOnlyList<DistillationExample> Examples)> samples, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        // The cosine of the model's query and document embeddings, as a bi-encoder teacher scores pairs.
        var cosine = new EmbeddingTeacher(new StudentEmbeddingGenerator(model, TextKind.Document), new StudentEmbeddingGenerator(model, TextKind.Query));
        var scores = new List<OutOfDomainScore>();
        foreach ((string dataset, IReadOnlyList<DistillationExample> examples) in samples)
        {
            var run = new Dictionary<string, IReadOnlyList<ScoredDocument>>(StringComparer.Ordinal);
            var judgments = new RelevanceJudgments();
            for (int i = 0; i < examples.Count; i++)
            {
                DistillationExample e = examples[i];
                string query = $"q{i}";
                QueryDocumentPair[] pairs = [.. e.Positives.Concat(e.Negatives).Select(d => new QueryDocumentPair(e.Query, d))];
                float[] similarity = await cosine.ScoreAsync(pairs, cancellationToken).ConfigureAwait(false);
                for (int p = 0; p < e.Positives.Count; p++)
                    judgments.Add(query, $"d{p}", 1);
                run[query] = similarity.Select((c, j) => new ScoredDocument($"d{j}", c)).OrderByDescending(x => x.Score).ToArray();
            }
            MetricResults metrics = RankingMetrics.Evaluate(run, judgments);
            scores.Add(new OutOfDomainScore(dataset, metrics[MetricNames.Ndcg10], metrics[MetricNames.Mrr10], examples.Count));
        }
        return scores;
    }
}
