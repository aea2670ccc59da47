namespace KnowledgeDistillation.Configuration;

/// <summary>How a <c>BiEncoderStudent</c> turns token states into one embedding (sentence-transformers' <c>Pooling</c>).</summary>
public enum PoolingMode
{
    /// <summary>The mean over real tokens, padding excluded (<c>pooling_mode_mean_tokens</c>): the default.</summary>
    Mean,

    /// <summary>The state of the first token, [CLS] (<c>pooling_mode_cls_token</c>), as BGE models use.</summary>
    Cls,

    /// <summary>The element-wise maximum over real tokens, padding excluded (<c>pooling_mode_max_tokens</c>).</summary>
    Max,
}
