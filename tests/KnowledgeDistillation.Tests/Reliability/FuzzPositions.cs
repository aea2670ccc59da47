namespace KnowledgeDistillation.Tests.Reliability;

/// <summary>
/// Which byte positions a fuzz test damages. Small files get every position. Larger ones get, in <c>dotnet test</c>, the
/// first and last 256 bytes (headers, trailers, directories) and a seeded sample of the rest, which keeps each family to
/// a few seconds; set <c>KD_FUZZ=full</c> to damage every position (minutes).
/// </summary>
internal static class FuzzPositions
{
    public static bool Full => string.Equals(Environment.GetEnvironmentVariable("KD_FUZZ"), "full", StringComparison.OrdinalIgnoreCase);

    public static IEnumerable<int> Of(int length, int budget, int seed)
    {
        if (Full || length <= budget)
            return Enumerable.Range(0, length);
        const int edge = 256;
        var random = new Random(seed);
        var positions = new SortedSet<int>(Enumerable.Range(0, Math.Min(edge, length)).Concat(Enumerable.Range(Math.Max(0, length - edge), Math.Min(edge, length))));
        while (positions.Count < budget)
            positions.Add(random.Next(length));
        return positions;
    }
}
