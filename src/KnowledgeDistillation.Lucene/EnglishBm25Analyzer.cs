using Lucene.Net.Analysis;
using Lucene.Net.Analysis.Core;
using Lucene.Net.Analysis.En;
using Lucene.Net.Analysis.Standard;
using Lucene.Net.Analysis.TokenAttributes;
using Lucene.Net.Util;

namespace KnowledgeDistillation.Lucene;

/// <summary>
/// Anserini's default English analyzer: StandardTokenizer → EnglishPossessiveFilter → LowerCaseFilter → StopFilter
/// (Lucene's English stop words) → PorterStemFilter, with the stop and stem steps switchable.
/// </summary>
internal sealed class EnglishBm25Analyzer(bool removeStopWords, Bm25Stemmer stemmer) : Analyzer
{
    internal const LuceneVersion Version = LuceneVersion.LUCENE_48;

    protected override TokenStreamComponents CreateComponents(string fieldName, TextReader reader)
    {
        var source = new StandardTokenizer(Version, reader);
        TokenStream result = new EnglishPossessiveFilter(Version, source);
        result = new LowerCaseFilter(Version, result);
        if (removeStopWords)
            result = new StopFilter(Version, result, EnglishAnalyzer.DefaultStopSet);
        if (stemmer == Bm25Stemmer.Porter)
            result = new PorterStemFilter(result);
        return new TokenStreamComponents(source, result);
    }

    /// <summary>The terms the analyzer makes of a text, in order, repeats included.</summary>
    internal List<string> Terms(string field, string text)
    {
        var terms = new List<string>();
        using TokenStream stream = GetTokenStream(field, text);
        ICharTermAttribute term = stream.AddAttribute<ICharTermAttribute>();
        stream.Reset();
        while (stream.IncrementToken())
            terms.Add(term.ToString());
        stream.End();
        return terms;
    }
}
