using System.Globalization;
using System.Text;

namespace KnowledgeDistillation.Tests.Tokenization;

/// <summary>
/// A deliberately plain re-statement of HF's BERT normalizer and pre-tokenizer for test expectations, built on .NET's
/// own Unicode support (ICU's NFD, <see cref="Rune"/> categories) rather than the library's tables and single pass:
/// clean, space out CJK ideographs, NFD + drop Mn, lowercase (İ → i + U+0307), split on whitespace, isolate punctuation.
/// </summary>
internal static class IndependentBertNormalizer
{
    /// <summary>The normalized text with every whitespace removed, for comparing a substring with a token.</summary>
    internal static string NormalizeWithoutSpaces(string text, bool lowerCase, bool stripAccents) =>
        string.Concat(Normalize(text, lowerCase, stripAccents).Where(c => c != ' '));

    /// <summary>The pre-tokenized words of <paramref name="text"/>: what WordPiece receives, in order.</summary>
    internal static List<string> Words(string text, bool lowerCase, bool stripAccents)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        void End()
        {
            if (word.Length > 0)
                words.Add(word.ToString());
            word.Clear();
        }

        foreach (Rune rune in Normalize(text, lowerCase, stripAccents).EnumerateRunes())
        {
            if (rune.Value == ' ')
            {
                End();
            }
            else if (IsPunctuation(rune))
            {
                End();
                words.Add(rune.ToString());
            }
            else
            {
                word.Append(rune.ToString());
            }
        }

        End();
        return words;
    }

    /// <summary>transformers' <c>clean_up_tokenization</c>, written out from its documented replacement list.</summary>
    internal static string CleanUpTokenization(string text)
    {
        (string From, string To)[] rules = [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")];
        foreach ((string from, string to) in rules)
            text = text.Replace(from, to, StringComparison.Ordinal);
        return text;
    }

    private static string Normalize(string text, bool lowerCase, bool stripAccents)
    {
        // Clean: drop U+FFFD (and lone surrogates, which EnumerateRunes reports as U+FFFD) and Cc/Cf/Co; whitespace → ' '.
        var cleaned = new StringBuilder();
        foreach (Rune rune in text.EnumerateRunes())
        {
            if (Rune.IsWhiteSpace(rune))
            {
                cleaned.Append(' ');
                continue;
            }

            UnicodeCategory category = Rune.GetUnicodeCategory(rune);
            if (rune.Value == 0xFFFD || category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.PrivateUse)
                continue;
            if (IsCjk(rune.Value))
                cleaned.Append(' ').Append(rune.ToString()).Append(' ');
            else
                cleaned.Append(rune.ToString());
        }

        string result = cleaned.ToString();
        if (stripAccents)
        {
            var stripped = new StringBuilder();
            foreach (Rune rune in result.Normalize(NormalizationForm.FormD).EnumerateRunes())
            {
                if (Rune.GetUnicodeCategory(rune) != UnicodeCategory.NonSpacingMark)
                    stripped.Append(rune.ToString());
            }

            result = stripped.ToString();
        }

        if (lowerCase)
        {
            var lowered = new StringBuilder();
            foreach (Rune rune in result.EnumerateRunes())
                lowered.Append(rune.Value == 0x130 ? "i\u0307" : Rune.ToLowerInvariant(rune).ToString());
            result = lowered.ToString();
        }

        return result;
    }

    private static bool IsPunctuation(Rune rune) =>
        rune.Value is (>= 33 and <= 47) or (>= 58 and <= 64) or (>= 91 and <= 96) or (>= 123 and <= 126)
        || Rune.GetUnicodeCategory(rune) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;

    // HF's Rust ranges (Extension E from U+2B920).
    private static bool IsCjk(int c) =>
        c is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x2A6DF) or (>= 0x2A700 and <= 0x2B73F)
            or (>= 0x2B740 and <= 0x2B81F) or (>= 0x2B920 and <= 0x2CEAF) or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);
}
