namespace KnowledgeDistillation.Tokenization;

/// <summary>
/// HF tokenizers' (Rust) <c>longest_first</c> pair truncation, which is what <c>BertTokenizerFast</c>, and so
/// sentence-transformers' CrossEncoder, uses. It is not the slow Python algorithm (one token at a time from the longer
/// side, ties from the second): when both sides are cut and the budget is odd, Rust gives the extra token to the
/// second sequence where Python gives it to the first.
/// </summary>
internal static class LongestFirstTruncation
{
    /// <summary>The lengths to keep of sequences of <paramref name="first"/> and <paramref name="second"/> tokens within <paramref name="budget"/>.</summary>
    internal static (int First, int Second) Fit(int first, int second, int budget)
    {
        if (first + second <= budget)
            return (first, second);
        if (budget == 0)
            return (0, 0);

        // The shorter side (the first one on a tie) keeps everything if the longer can absorb the cut; otherwise the
        // budget is halved, the longer side taking the odd token.
        bool firstIsShorter = first <= second;
        int shorter = firstIsShorter ? first : second;
        int longer = shorter > budget ? shorter : Math.Max(shorter, budget - shorter);
        if (shorter + longer > budget)
        {
            shorter = budget / 2;
            longer = shorter + (budget % 2);
        }

        return firstIsShorter ? (shorter, longer) : (longer, shorter);
    }
}
