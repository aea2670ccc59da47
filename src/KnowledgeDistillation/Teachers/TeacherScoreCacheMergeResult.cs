namespace KnowledgeDistillation.Teachers;

/// <summary>What <see cref="TeacherScoreCacheMerge.MergeAsync"/> read and wrote.</summary>
/// <param name="TeacherIdentity">The teacher whose scores every input (and the output) holds.</param>
/// <param name="Inputs">The number of input files read.</param>
/// <param name="RecordsRead">Intact records read from the inputs (and from an existing output).</param>
/// <param name="Written">Records in the merged file: one per distinct pair.</param>
/// <param name="DuplicatesDropped">Records of a pair already written with the same score, left out.</param>
/// <param name="Conflicts">
/// Records of a pair already written with a different score (the first one is kept). A deterministic teacher has none;
/// a teacher whose scores depend on the batch a pair was scored in (padding, kernel choice) can differ in the last bits.
/// </param>
/// <param name="DiscardedTailBytes">
/// Bytes left out of the inputs: torn tails (a shard killed mid-write) and damaged records, 24 bytes each; the good
/// records after a damaged one are merged.
/// </param>
public sealed record TeacherScoreCacheMergeResult(
    string TeacherIdentity, int Inputs, long RecordsRead, long Written, long DuplicatesDropped, long Conflicts, long DiscardedTailBytes);
