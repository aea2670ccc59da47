using KnowledgeDistillation.Training;

namespace QuickStart;

/// <summary>What the QuickStart trains and where it reads and writes. The defaults finish in minutes on two CPU cores.</summary>
public sealed record QuickStartOptions
{
    /// <summary>The BEIR-format SciFact folder (corpus.jsonl, queries.jsonl, qrels/train.tsv, qrels/test.tsv).</summary>
    public required string DataDirectory { get; init; }

    /// <summary>A folder with the bert-base-uncased <c>vocab.txt</c> for models trained from scratch.</summary>
    public required string VocabularyDirectory { get; init; }

    /// <summary>The report folder: table, run files, the distilled student, curves, the teacher-score cache.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Seed of every model initialisation, sampling and shuffling. Default 42.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>A Hugging Face cross-encoder folder to use as the teacher instead of training one; <see langword="null"/> trains one.</summary>
    public string? TeacherDirectory { get; init; }

    /// <summary>A sentence-transformers or Hugging Face BERT folder to start both students from; <see langword="null"/> starts from scratch.</summary>
    public string? StudentDirectory { get; init; }

    /// <summary>
    /// Title pseudo-queries added to the training queries (at most one per document with a title of three words or
    /// more). Default <see cref="int.MaxValue"/>: every such document, so that the students see most of the corpus.
    /// </summary>
    public int PseudoQueries { get; init; } = int.MaxValue;

    /// <summary>
    /// Title pseudo-queries (of <see cref="PseudoQueries"/>) the teacher also trains on. Default 0: a title finds its own
    /// document by exact match alone, so the teacher's loss on them is near zero and they only dilute the real queries.
    /// </summary>
    public int TeacherPseudoQueries { get; init; }

    /// <summary>Train queries held out as a dev set for the training curves. Default 60.</summary>
    public int DevQueries { get; init; } = 60;

    /// <summary>
    /// Optimiser steps of the cross-encoder teacher. Default 400 (600 until December 2026: the run took 11 minutes on an
    /// AVX2-only AMD EPYC, docs/results.md "Time").
    /// </summary>
    public int TeacherSteps { get; init; } = 400;

    /// <summary>Queries per teacher step (each with 1 positive + 7 BM25 negatives). Default 8.</summary>
    public int TeacherBatchSize { get; init; } = 8;

    /// <summary>Longest (query, document) input of the teacher, in tokens. Default 128.</summary>
    public int TeacherMaxLength { get; init; } = 128;

    /// <summary>
    /// Optimiser steps of each student. Default 1,000: with <see cref="StudentBatchSize"/> 8 and
    /// <see cref="StudentMaxLength"/> 64, three times the updates of the old 300 × 16 × 128 at less compute, which is where
    /// soft labels pull ahead of hard ones (docs/results.md, "The default students").
    /// </summary>
    public int StudentSteps { get; init; } = 1000;

    /// <summary>Queries per student step. Default 8.</summary>
    public int StudentBatchSize { get; init; } = 8;

    /// <summary>Hard negatives per query in a student batch (the other queries' documents are negatives too). Default 2.</summary>
    public int StudentNegatives { get; init; } = 2;

    /// <summary>Peak learning rate of the students; <see langword="null"/> (default) is 1e-3 from scratch and 2e-5 from <see cref="StudentDirectory"/> (the Workflow's defaults).</summary>
    public double? StudentLearningRate { get; init; }

    /// <summary>Longest student input, in tokens, in training and evaluation. Default 64.</summary>
    public int StudentMaxLength { get; init; } = 64;

    /// <summary>Negatives per training example the students sample from (and the teacher scores). Default 4.</summary>
    public int ScoredNegatives { get; init; } = 4;

    /// <summary>Dev evaluations during each student's training, for the curves. Default 3.</summary>
    public int CurvePoints { get; init; } = 3;

    /// <summary>BM25 candidates the teacher reranks. Default 50.</summary>
    public int RerankDepth { get; init; } = 50;

    /// <summary>
    /// Weight of z-normalised BM25 in the teacher + BM25 fusion row; <see langword="null"/> (default) tunes it on the dev
    /// queries (0, 0.1, …, 1, the best dev nDCG@10).
    /// </summary>
    public double? FusionWeight { get; init; }

    /// <summary>
    /// The distillation recipe (<see cref="KnowledgeDistillation.Workflow.Training.DistillationRecipes"/>): <c>margin-mse+contrastive</c> (default),
    /// <c>kl+contrastive</c>, <c>kl</c>, <c>margin-mse</c> or <c>margin-mse-unscaled+contrastive</c>.
    /// </summary>
    public string Recipe { get; init; } = "margin-mse+contrastive";

    /// <summary>Weight of the soft-label term against the contrastive term in the mixed recipes. Default 1.</summary>
    public double SoftWeight { get; init; } = 1.0;

    /// <summary>
    /// What the distilled student learns from: <c>fusion</c> (default), the teacher's scores fused with BM25's (per-query
    /// z-scores, BM25 weighted as in the fusion row: tuned on the dev queries or <see cref="FusionWeight"/>), because
    /// that fusion is the stronger teacher; or <c>teacher</c>, the cross-encoder's scores alone.
    /// </summary>
    public string DistilFrom { get; init; } = Pipeline.FusionTargets;

    /// <summary>
    /// How the teacher and the students train (<see cref="TrainerOptions.Precision"/>): default
    /// <see cref="TrainingPrecision.Auto"/>, bfloat16 autocast where a one-time timing probe finds it faster on this CPU.
    /// </summary>
    public TrainingPrecision Precision { get; init; } = TrainingPrecision.Auto;

    /// <summary>Use only the first documents, queries and test queries (for tests); <see langword="null"/> uses everything.</summary>
    public (int Documents, int TrainQueries, int TestQueries)? Slice { get; init; }

    /// <summary>
    /// Longer training (<c>--full</c>): 1,500 teacher steps and students of 1,200 steps × 16 queries × 128 tokens (about
    /// five times the default's student compute): about 20 minutes on two cores (docs/results.md has the measured numbers).
    /// </summary>
    public static QuickStartOptions Full(QuickStartOptions o) => o with
    {
        TeacherSteps = 1500,
        StudentSteps = 1200,
        StudentBatchSize = 16,
        StudentMaxLength = 128,
        CurvePoints = 6,
    };
}
