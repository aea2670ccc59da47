namespace KnowledgeDistillation.Workflow.Mining;

/// <summary>What <see cref="MineStep"/> produced.</summary>
/// <param name="Examples">The examples: the queries' first (judged, or unjudged with <see cref="MineLabels.None"/>), then the pseudo-queries'.</param>
/// <param name="FromQueries">How many of them come from the queries.</param>
public sealed record MineResult(IReadOnlyList<DistillationExample> Examples, int FromQueries)
{
    /// <summary>How many come from pseudo-queries.</summary>
    public int FromPseudoQueries => Examples.Count - FromQueries;

    /// <summary>
    /// Where the pseudo-queries came from (<see cref="PseudoQuerySource.Title"/> or <see cref="PseudoQuerySource.Sentence"/>,
    /// <see cref="PseudoQuerySource.Auto"/> resolved); <see langword="null"/> when none were asked for.
    /// </summary>
    public PseudoQuerySource? PseudoQuerySource { get; init; }
}
