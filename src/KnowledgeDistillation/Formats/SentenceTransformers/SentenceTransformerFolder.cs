using KnowledgeDistillation.Configuration;

namespace KnowledgeDistillation.Formats.SentenceTransformers;

/// <summary>
/// What a model folder says about a sentence-transformers model: where the transformer lives and the settings of the
/// modules after it. For a plain Hugging Face folder (no <c>modules.json</c>) only <see cref="TransformerDirectory"/>
/// is set.
/// </summary>
internal sealed record SentenceTransformerFolder
{
    /// <summary>The folder holding config.json, the weights and the tokenizer (the root, or a module subfolder).</summary>
    public required string TransformerDirectory { get; init; }

    /// <summary>Whether the folder has a <c>modules.json</c>.</summary>
    public bool IsSentenceTransformer { get; init; }

    /// <summary><c>max_seq_length</c> of <c>sentence_bert_config.json</c>.</summary>
    public int? MaxSeqLength { get; init; }

    /// <summary>The <c>sentence_bert_config.json</c> read, if any: errors about its values name it.</summary>
    public string? SentenceBertConfigPath { get; init; }

    /// <summary>The <c>Pooling</c> module's <c>config.json</c> read, if any: errors about its values name it.</summary>
    public string? PoolingConfigPath { get; init; }

    /// <summary><c>do_lower_case</c> of <c>sentence_bert_config.json</c>.</summary>
    public bool? DoLowerCase { get; init; }

    /// <summary>The pooling of the <c>Pooling</c> module.</summary>
    public PoolingMode? Pooling { get; init; }

    /// <summary><c>include_prompt</c> of the <c>Pooling</c> module.</summary>
    public bool? IncludePrompt { get; init; }

    /// <summary><c>word_embedding_dimension</c> of the <c>Pooling</c> module.</summary>
    public int? WordEmbeddingDimension { get; init; }

    /// <summary>Whether a <c>Normalize</c> module follows the pooling.</summary>
    public bool Normalize { get; init; }

    /// <summary><c>prompts</c> of <c>config_sentence_transformers.json</c>.</summary>
    public IReadOnlyDictionary<string, string> Prompts { get; init; } = new Dictionary<string, string>();

    /// <summary><c>default_prompt_name</c> of <c>config_sentence_transformers.json</c>.</summary>
    public string? DefaultPromptName { get; init; }

    /// <summary><c>similarity_fn_name</c> of <c>config_sentence_transformers.json</c>.</summary>
    public EmbeddingSimilarity? Similarity { get; init; }

    /// <summary>The query prompt <c>encode_query</c> would use: <c>prompts["query"]</c>, else the default prompt.</summary>
    public string? QueryPrompt => Prompts.TryGetValue("query", out string? p) ? p : DefaultPrompt;

    /// <summary>The document prompt <c>encode_document</c> would use: "document", "passage", "corpus", else the default prompt.</summary>
    public string? DocumentPrompt
    {
        get
        {
            foreach (string name in (string[])["document", "passage", "corpus"])
            {
                if (Prompts.TryGetValue(name, out string? p))
                    return p;
            }
            return DefaultPrompt;
        }
    }

    private string? DefaultPrompt => DefaultPromptName is { } n && Prompts.TryGetValue(n, out string? p) ? p : null;
}
