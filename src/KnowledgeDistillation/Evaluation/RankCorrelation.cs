namespace KnowledgeDistillation.Evaluation;

/// <summary>
/// Rank correlations between two score lists over the same items, as scipy's <c>spearmanr</c> and <c>kendalltau</c>
/// (tau-b): Spearman's rho is the Pearson correlation of average ranks; Kendall's tau-b is
/// (C − D) / sqrt((C + D + Tx)(C + D + Ty)), where pairs tied in both lists count in neither term.
/// </summary>
public static class RankCorrelation
{
    /// <summary>Spearman's rank correlation, with tied values given their average rank.</summary>
    /// <param name="x">The first scores.</param>
    /// <param name="y">The second scores, for the same items.</param>
    /// <returns>rho in [−1, 1]; NaN when undefined (fewer than two items, or either list constant).</returns>
    /// <exception cref="ArgumentException">The lists differ in length or hold NaN.</exception>
    public static double Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        Check(x, y);
        if (x.Count < 2)
            return double.NaN;
        double[] rx = AverageRanks(x), ry = AverageRanks(y);
        double mx = rx.Average(), my = ry.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < rx.Length; i++)
        {
            double dx = rx[i] - mx, dy = ry[i] - my;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }
        return sxx == 0 || syy == 0 ? double.NaN : Math.Clamp(sxy / Math.Sqrt(sxx * syy), -1, 1);
    }

    /// <summary>Kendall's tau-b, in O(n log n) (Knight's algorithm).</summary>
    /// <param name="x">The first scores.</param>
    /// <param name="y">The second scores, for the same items.</param>
    /// <returns>tau-b in [−1, 1]; NaN when undefined (fewer than two items, or either list constant).</returns>
    /// <exception cref="ArgumentException">The lists differ in length or hold NaN.</exception>
    public static double KendallTauB(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        Check(x, y);
        int n = x.Count;
        if (n < 2)
            return double.NaN;
        // Sort by (x, y); then discordant pairs are exactly the inversions of y in that order.
        int[] order = Enumerable.Range(0, n).ToArray();
        Array.Sort(order, (a, b) => x[a] != x[b] ? x[a].CompareTo(x[b]) : y[a].CompareTo(y[b]));
        long pairs = (long)n * (n - 1) / 2;
        long tiedX = 0, tiedXY = 0;
        for (int i = 0, j; i < n; i = j)
        {
            j = i + 1;
            while (j < n && x[order[j]] == x[order[i]])
                j++;
            tiedX += (long)(j - i) * (j - i - 1) / 2;
            for (int a = i, b; a < j; a = b)
            {
                b = a + 1;
                while (b < j && y[order[b]] == y[order[a]])
                    b++;
                tiedXY += (long)(b - a) * (b - a - 1) / 2;
            }
        }
        double[] ys = order.Select(i => y[i]).ToArray();
        long discordant = CountInversions(ys, new double[n], 0, n);
        long tiedY = 0;
        for (int i = 0, j; i < n; i = j)
        {
            j = i + 1;
            while (j < n && ys[j] == ys[i])
                j++;
            tiedY += (long)(j - i) * (j - i - 1) / 2;
        }
        double denominator = Math.Sqrt((double)(pairs - tiedX) * (pairs - tiedY));
        if (denominator == 0)
            return double.NaN;
        double numerator = pairs - tiedX - tiedY + tiedXY - 2.0 * discordant;
        return Math.Clamp(numerator / denominator, -1, 1);
    }

    // Merge sort of values[start, end) ascending; returns the number of pairs i < j with values[i] > values[j].
    private static long CountInversions(double[] values, double[] buffer, int start, int end)
    {
        if (end - start < 2)
            return 0;
        int middle = (start + end) / 2;
        long count = CountInversions(values, buffer, start, middle) + CountInversions(values, buffer, middle, end);
        int left = start, right = middle, k = start;
        while (left < middle && right < end)
        {
            if (values[right] < values[left])
            {
                count += middle - left;
                buffer[k++] = values[right++];
            }
            else
            {
                buffer[k++] = values[left++];
            }
        }
        while (left < middle)
            buffer[k++] = values[left++];
        while (right < end)
            buffer[k++] = values[right++];
        Array.Copy(buffer, start, values, start, end - start);
        return count;
    }

    internal static double[] AverageRanks(IReadOnlyList<double> values)
    {
        int n = values.Count;
        int[] order = Enumerable.Range(0, n).ToArray();
        Array.Sort(order, (a, b) => values[a].CompareTo(values[b]));
        var ranks = new double[n];
        for (int i = 0, j; i < n; i = j)
        {
            j = i + 1;
            while (j < n && values[order[j]] == values[order[i]])
                j++;
            double rank = (i + j - 1) / 2.0 + 1;
            for (int t = i; t < j; t++)
                ranks[order[t]] = rank;
        }
        return ranks;
    }

    private static void Check(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count)
            throw new ArgumentException($"The score lists differ in length: {x.Count} and {y.Count}.", nameof(y));
        for (int i = 0; i < x.Count; i++)
        {
            if (double.IsNaN(x[i]) || double.IsNaN(y[i]))
                throw new ArgumentException($"Item {i} has a NaN score; rank correlations need comparable scores.", double.IsNaN(x[i]) ? nameof(x) : nameof(y));
        }
    }
}
