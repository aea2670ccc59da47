namespace KnowledgeDistillation.Workflow;

/// <summary>
/// Progress of a Workflow step that runs in stages (scoring, then tuning; encoding the corpus, then mining): the stage
/// under way and how far it is. A front end shows each stage as its own bar.
/// </summary>
/// <param name="Stage">What the step is doing, as a short lower-case phrase (for example <c>scoring (shard 0/1)</c>).</param>
/// <param name="Done">Units of the stage done.</param>
/// <param name="Total">Units of the stage in all.</param>
public sealed record StepProgress(string Stage, double Done, double Total);
