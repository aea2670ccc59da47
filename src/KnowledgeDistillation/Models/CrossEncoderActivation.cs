namespace KnowledgeDistillation.Models;

/// <summary>What <see cref="CrossEncoderTeacher"/> applies to the selected logit before returning it.</summary>
public enum CrossEncoderActivation
{
    /// <summary>Nothing: the raw logit (the default; what Margin-MSE and listwise KL expect).</summary>
    None,

    /// <summary>
    /// The logistic sigmoid, giving scores in (0, 1): what sentence-transformers' <c>CrossEncoder.predict</c> returns
    /// by default for a model with one label.
    /// </summary>
    Sigmoid,
}
