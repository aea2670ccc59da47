using KnowledgeDistillation.Models;
using KnowledgeDistillation.Workflow.Data;
using KnowledgeDistillation.Workflow.Scoring;

namespace KnowledgeDistillation.Workflow.Evaluation;

/// <summary>What <see cref="EvaluateStep.RunAsync"/> evaluates, on which data, and what it writes.</summary>
public sealed record EvaluateRequest
{
    /// <summary>The model: a student or reranker folder or <c>.onnx</c> file; ignored for <see cref="EvaluationTarget.Bm25"/>.</summary>
    public required string Model { get; init; }

    /// <summary>What <see cref="Model"/> is.</summary>
    public required EvaluationTarget Target { get; init; }

    /// <summary>The dataset split to evaluate on.</summary>
    public required DatasetSource Data { get; init; }

    /// <summary>BM25 candidates a reranker reranks per query. Default 100.</summary>
    public int Depth { get; init; } = 100;

    /// <summary>Documents a student or BM25 retrieves per query. Default 100.</summary>
    public int TopK { get; init; } = 100;

    /// <summary>A TREC run file to write the ranking to; <see langword="null"/> (default) writes none.</summary>
    public string? RunFile { get; init; }

    /// <summary>The engine, batch and length of a reranker or student (<see cref="TeacherSpec.LoadAsync"/>, <see cref="StudentSpec.LoadAsync"/>). Default libtorch.</summary>
    public TeacherLoadOptions Engine { get; init; } = new();

    /// <summary>
    /// Loads the libtorch student with the caller's settings (pooling, normalisation, length) in the dtype given
    /// (<see cref="BiEncoderStudentOptions.DType"/>: float32, or bfloat16 for the auto engine's probe);
    /// <see langword="null"/> (default) reads them all from the folder (<see cref="BiEncoderStudent.FromPretrained"/>).
    /// </summary>
    public Func<TorchSharp.torch.ScalarType, BiEncoderStudent>? LoadStudent { get; init; }

    /// <summary>A reranker's score cache: cached pairs are not scored again, new ones are stored. Default none.</summary>
    public string? CachePath { get; init; }

    /// <summary>Pairs per teacher call through <see cref="CachePath"/>. Default 64.</summary>
    public int CacheBatchSize { get; init; } = 64;

    /// <summary>A reranker's run fused with BM25's with this BM25 weight in [0, 1] is evaluated too (<see cref="KnowledgeDistillation.Teachers.TeacherScoreFusion.FuseRuns"/>). Default none.</summary>
    public double? FusionWeight { get; init; }
}
