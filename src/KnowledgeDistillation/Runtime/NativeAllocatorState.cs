namespace KnowledgeDistillation.Runtime;

/// <summary>Whether <see cref="NativeAllocator"/> tuned glibc's malloc, and if not, why.</summary>
internal sealed record NativeAllocatorState(bool IsTuned, string Reason)
{
    public static NativeAllocatorState Tuned { get; } = new(true, "glibc malloc: no mmap for large blocks, no heap trimming");

    public static NativeAllocatorState Off(string reason) => new(false, reason);
}
