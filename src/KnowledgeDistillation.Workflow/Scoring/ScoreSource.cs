using KnowledgeDistillation.Lucene;

namespace KnowledgeDistillation.Workflow.Scoring;

/// <summary>
/// The inputs of <see cref="ScoreStep"/>'s <c>RunAsync</c> with a source
/// by name, for a caller that holds no teacher or index yet (<c>kd score</c>): the teacher argument, how to load it, the
/// corpus BM25 indexes and, to tune the fusion, the dev queries held out of it.
/// </summary>
public sealed record ScoreSource
{
    /// <summary><c>bm25</c>, or a local teacher folder or <c>.onnx</c> file (<see cref="TeacherSpec"/>).</summary>
    public required string Teacher { get; init; }

    /// <summary>Engine and scoring settings of the teacher. Default libtorch, 32 pairs per forward pass.</summary>
    public TeacherLoadOptions Load { get; init; } = new();

    /// <summary>
    /// The corpus (a BEIR folder or an MS MARCO <c>collection.tsv</c>) for the <c>bm25</c> teacher and the fusion;
    /// <see langword="null"/> (default) builds no index.
    /// </summary>
    public string? Corpus { get; init; }

    /// <summary>
    /// Dev queries to hold out of <see cref="Corpus"/>'s <see cref="DevSplit"/> (as <c>kd mine --dev-queries</c> held
    /// them out) for tuning the fusion weight; then <see cref="Corpus"/> must be a BEIR folder. Default none.
    /// </summary>
    public int? DevQueries { get; init; }

    /// <summary>The BEIR split the dev queries come from. Default <c>train</c>.</summary>
    public string DevSplit { get; init; } = "train";

    /// <summary>BM25's settings for the <c>bm25</c> teacher and the fusion's BM25 scores. Default <see cref="Bm25SearchOptions"/>' defaults.</summary>
    public Bm25SearchOptions Bm25 { get; init; } = new();
}
