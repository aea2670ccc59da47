using Microsoft.Extensions.AI;

namespace KnowledgeDistillation;

/// <summary>
/// What the library's two <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> implementations share: the TorchSharp
/// <see cref="StudentEmbeddingGenerator"/> and KnowledgeDistillation.Onnx's <c>OnnxEmbeddingGenerator</c> (which sees
/// this through InternalsVisibleTo, as it already does <see cref="Models.EncodingBatches"/>, so the serving package keeps one
/// copy without a public helper type).
/// </summary>
internal static class EmbeddingGenerators
{
    /// <summary>Checks the request and returns the texts as a list.</summary>
    /// <exception cref="ArgumentException">A text is <see langword="null"/>, or another dimension than <paramref name="dimension"/> was requested.</exception>
    public static IReadOnlyList<string> Texts(IEnumerable<string> values, EmbeddingGenerationOptions? options, int dimension, string owner)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (options?.Dimensions is { } d && d != dimension)
            throw new ArgumentException($"The {owner}'s embeddings have {dimension} dimensions; {d} were requested.", nameof(options));
        IReadOnlyList<string> texts = values as IReadOnlyList<string> ?? values.ToArray();
        for (int i = 0; i < texts.Count; i++)
        {
            if (texts[i] is null)
                throw new ArgumentException($"Text {i} is null.", nameof(values));
        }
        return texts;
    }

    /// <summary>Wraps vectors as the generator's result, each stamped with the time and the model id.</summary>
    public static GeneratedEmbeddings<Embedding<float>> Result(float[][] vectors, string? modelId, long? tokens = null)
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        var result = new GeneratedEmbeddings<Embedding<float>>(vectors.Length);
        if (tokens is { } n)
            result.Usage = new UsageDetails { InputTokenCount = n, TotalTokenCount = n };
        foreach (float[] vector in vectors)
            result.Add(new Embedding<float>(vector) { CreatedAt = now, ModelId = modelId });
        return result;
    }

    /// <summary><see cref="IEmbeddingGenerator.GetService"/>: the metadata, the wrapped model, or the generator itself.</summary>
    public static object? GetService(object generator, object model, EmbeddingGeneratorMetadata metadata, Type serviceType, object? serviceKey)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
            return null;
        if (serviceType == typeof(EmbeddingGeneratorMetadata))
            return metadata;
        if (serviceType.IsInstanceOfType(model))
            return model;
        return serviceType.IsInstanceOfType(generator) ? generator : null;
    }
}
