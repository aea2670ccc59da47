using System.Buffers;
using System.Text;

namespace KnowledgeDistillation.Tokenization;

// Decoding as HF's BertTokenizerFast.decode: the WordPiece decoder (with its cleanup), then clean_up_tokenization.
public sealed partial class HuggingFaceBertTokenizer
{
    /// <summary>
    /// Decodes ids to text as HF's <c>BertTokenizerFast.decode(ids)</c> does with its defaults: special tokens kept,
    /// "##" pieces glued to the token before, one space between words, and <c>clean_up_tokenization</c> (no space
    /// before <c>. , ! ?</c>, and <c>" ' "</c>, <c>" n't"</c>, <c>" 'm"</c>, <c>" 's"</c>, <c>" 've"</c>, <c>" 're"</c>
    /// joined). The result is the normalized text (lowercased, accents stripped for uncased models), not the original.
    /// </summary>
    /// <param name="ids">The ids, with or without [CLS]/[SEP].</param>
    /// <exception cref="InvalidOperationException">An id is outside the vocabulary (as <see cref="Microsoft.ML.Tokenizers.Tokenizer.Decode(IEnumerable{int})"/> documents).</exception>
    public override string Decode(IEnumerable<int> ids) => Decode(ids, skipSpecialTokens: false);

    /// <summary>Decodes ids to text as HF's <c>BertTokenizerFast.decode</c> does (see <see cref="Decode(IEnumerable{int})"/>).</summary>
    /// <param name="ids">The ids.</param>
    /// <param name="skipSpecialTokens">Leave out [CLS], [SEP], [PAD], [MASK] and [UNK] (HF's <c>skip_special_tokens</c>).</param>
    /// <param name="cleanUpTokenizationSpaces">
    /// Apply <c>clean_up_tokenization</c> to the whole text (HF's <c>clean_up_tokenization_spaces</c>, true in BERT
    /// checkpoints). Off, the WordPiece decoder still removes the space before a token that starts with
    /// <c>. , ! ?</c>, as HF's fast decoder does.
    /// </param>
    /// <exception cref="InvalidOperationException">An id is outside the vocabulary.</exception>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens, bool cleanUpTokenizationSpaces = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var text = new StringBuilder();
        bool first = true;
        int position = 0;
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)_vocabulary.Count)
                throw new InvalidOperationException($"Token id {id} at position {position} is outside the vocabulary of {_vocabulary.Count} tokens.");
            position++;
            if (skipSpecialTokens && _specialIds.Contains(id))
                continue;
            AppendDecodedToken(text, _vocabulary[id], first);
            first = false;
        }

        string decoded = text.ToString();
        return cleanUpTokenizationSpaces ? CleanUpTokenization(decoded) : decoded;
    }

    /// <summary>
    /// Decodes ids into <paramref name="destination"/> (special tokens kept, spaces cleaned up, as
    /// <see cref="Decode(IEnumerable{int})"/>).
    /// </summary>
    /// <param name="ids">The ids.</param>
    /// <param name="destination">Receives the text.</param>
    /// <param name="idsConsumed">How many ids the written text decodes.</param>
    /// <param name="charsWritten">How many characters were written.</param>
    /// <returns>
    /// <see cref="OperationStatus.Done"/>; <see cref="OperationStatus.DestinationTooSmall"/> with the decoding of the
    /// longest prefix of <paramref name="ids"/> that fits; or <see cref="OperationStatus.InvalidData"/> at the first id
    /// outside the vocabulary, with the ids before it decoded.
    /// </returns>
    public override OperationStatus Decode(IEnumerable<int> ids, Span<char> destination, out int idsConsumed, out int charsWritten) =>
        Decode(ids, destination, skipSpecialTokens: false, out idsConsumed, out charsWritten);

    /// <summary>Decodes ids into <paramref name="destination"/>; see <see cref="Decode(IEnumerable{int}, Span{char}, out int, out int)"/>.</summary>
    /// <param name="ids">The ids.</param>
    /// <param name="destination">Receives the text.</param>
    /// <param name="skipSpecialTokens">Leave out [CLS], [SEP], [PAD], [MASK] and [UNK].</param>
    /// <param name="idsConsumed">How many ids the written text decodes.</param>
    /// <param name="charsWritten">How many characters were written.</param>
    public OperationStatus Decode(IEnumerable<int> ids, Span<char> destination, bool skipSpecialTokens, out int idsConsumed, out int charsWritten)
    {
        ArgumentNullException.ThrowIfNull(ids);
        int[] all = ids.ToArray();
        int valid = 0;
        while (valid < all.Length && (uint)all[valid] < (uint)_vocabulary.Count)
            valid++;

        string text = Decode(all.AsSpan(0, valid).ToArray(), skipSpecialTokens);
        if (text.Length <= destination.Length)
        {
            text.CopyTo(destination);
            idsConsumed = valid;
            charsWritten = text.Length;
            return valid == all.Length ? OperationStatus.Done : OperationStatus.InvalidData;
        }

        // The longest prefix whose decoding fits (no ids always fits; the decoded length grows with the prefix).
        int low = 0;
        int high = valid - 1;
        while (low < high)
        {
            int middle = low + ((high - low + 1) / 2);
            if (Decode(all.AsSpan(0, middle).ToArray(), skipSpecialTokens).Length <= destination.Length)
                low = middle;
            else
                high = middle - 1;
        }

        string prefix = Decode(all.AsSpan(0, low).ToArray(), skipSpecialTokens);
        prefix.CopyTo(destination);
        idsConsumed = low;
        charsWritten = prefix.Length;
        return OperationStatus.DestinationTooSmall;
    }

    // HF's fast WordPiece decoder (cleanup on, as in BERT's tokenizer.json): a "##" piece loses its prefix and joins the
    // token before (except as the very first token), any other token gets a leading space, and each token is cleaned.
    private static void AppendDecodedToken(StringBuilder text, string token, bool first)
    {
        if (first)
        {
            text.Append(token.Contains(' ', StringComparison.Ordinal) ? CleanUpDecodedToken(token) : token);
            return;
        }

        if (token.StartsWith(WordPieceVocabulary.ContinuationPrefix, StringComparison.Ordinal))
        {
            string piece = token[WordPieceVocabulary.ContinuationPrefix.Length..];
            text.Append(piece.Contains(' ', StringComparison.Ordinal) ? CleanUpDecodedToken(piece) : piece);
            return;
        }

        // Only a token that starts like one of the patterns (or has a space inside) can change.
        if (token.Length > 0 && token[0] is '.' or '?' or '!' or ',' or '\'' or 'n' || token.Contains(' ', StringComparison.Ordinal))
        {
            text.Append(CleanUpDecodedToken(" " + token));
            return;
        }

        text.Append(' ').Append(token);
    }

    // tokenizers' decoders::wordpiece::cleanup, applied to each token.
    private static string CleanUpDecodedToken(string token) =>
        token.Replace(" .", ".", StringComparison.Ordinal)
            .Replace(" ?", "?", StringComparison.Ordinal)
            .Replace(" !", "!", StringComparison.Ordinal)
            .Replace(" ,", ",", StringComparison.Ordinal)
            .Replace(" ' ", "'", StringComparison.Ordinal)
            .Replace(" n't", "n't", StringComparison.Ordinal)
            .Replace(" 'm", "'m", StringComparison.Ordinal)
            .Replace(" do not", " don't", StringComparison.Ordinal)
            .Replace(" 's", "'s", StringComparison.Ordinal)
            .Replace(" 've", "'ve", StringComparison.Ordinal)
            .Replace(" 're", "'re", StringComparison.Ordinal);

    /// <summary>transformers' <c>PreTrainedTokenizerBase.clean_up_tokenization</c>, applied to the whole text.</summary>
    internal static string CleanUpTokenization(string text) =>
        text.Replace(" .", ".", StringComparison.Ordinal)
            .Replace(" ?", "?", StringComparison.Ordinal)
            .Replace(" !", "!", StringComparison.Ordinal)
            .Replace(" ,", ",", StringComparison.Ordinal)
            .Replace(" ' ", "'", StringComparison.Ordinal)
            .Replace(" n't", "n't", StringComparison.Ordinal)
            .Replace(" 'm", "'m", StringComparison.Ordinal)
            .Replace(" 's", "'s", StringComparison.Ordinal)
            .Replace(" 've", "'ve", StringComparison.Ordinal)
            .Replace(" 're", "'re", StringComparison.Ordinal);
}
