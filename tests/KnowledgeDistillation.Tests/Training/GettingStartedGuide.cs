using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Retrieval.Mining;
using KnowledgeDistillation.Teachers;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Training;

namespace KnowledgeDistillation.Tests.Training;

/// <summary>
/// The code of docs/getting-started.md, compiled (GettingStartedGuideTests checks that every C# block of the guide is
/// here verbatim) and run on a slice of SciFact.
/// </summary>
internal static class GettingStartedGuide
{
    public static async Task<double> RunAsync(string scifactFolder, string vocabularyFolder, string outputFolder,
        int maxDocuments = int.MaxValue, int steps = 1000, CancellationToken cancellationToken = default)
    {
        // --- 1. read
        var dataset = new BeirDataset(scifactFolder);
        var corpus = new List<CorpusDocument>();
        await foreach (CorpusDocument document in dataset.ReadCorpusAsync(cancellationToken: cancellationToken))
            corpus.Add(document);
        var queries = new List<QueryRecord>();
        await foreach (QueryRecord query in dataset.ReadQueriesAsync(cancellationToken: cancellationToken))
            queries.Add(query);
        RelevanceJudgments train = await dataset.ReadQrelsAsync("train", cancellationToken: cancellationToken);
        RelevanceJudgments test = await dataset.ReadQrelsAsync("test", cancellationToken: cancellationToken);
        // --- end

        corpus = Slice(corpus, train, test, maxDocuments);

        // --- 2. mine
        using Bm25Index index = Bm25Index.BuildInMemory(corpus, cancellationToken: cancellationToken);
        var bm25 = new Bm25Retriever(index, new Bm25SearchOptions { K1 = 0.9f, B = 0.4f });
        var miner = new HardNegativeMiner(bm25, corpus, teacher: null,
            new HardNegativeMinerOptions { MinRank = 1, MaxRank = 50, NegativesPerQuery = 7 });
        IReadOnlyList<DistillationExample> examples = await miner.MineAsync(queries, train, cancellationToken: cancellationToken);
        // --- end

        // --- 3. teacher
        HuggingFaceBertTokenizer tokenizer = HuggingFaceBertTokenizer.FromVocabularyFile(Path.Combine(vocabularyFolder, "vocab.txt"));
        var config = new BertConfig(tokenizer.VocabularySize, hiddenSize: 128, numHiddenLayers: 2,
            numAttentionHeads: 2, intermediateSize: 512, maxPositionEmbeddings: 512)
        {
            ExactMatchEmbedding = true, // lets a from-scratch cross-encoder see which words query and document share
        }.WithNumLabels(1);
        BertForSequenceClassification model = BertForSequenceClassification.Create(config, seed: 42);
        var teacherTrainer = new CrossEncoderTrainer(tokenizer, new CrossEncoderTrainerOptions
        {
            LearningRate = 1e-3, // from scratch; 2e-5 (the default) to fine-tune a pretrained cross-encoder
            BatchSize = 8,
            NegativesPerQuery = 7,
            MaxLength = 128,
            MaxSteps = steps,
        });
        await teacherTrainer.TrainAsync(model, examples, cancellationToken: cancellationToken);
        using var crossEncoder = new CrossEncoderTeacher(model, tokenizer, new CrossEncoderTeacherOptions { MaxLength = 128 });
        // --- end

        // --- 4. score
        Directory.CreateDirectory(outputFolder);
        await using CachingTeacher teacher = await CachingTeacher.OpenAsync(
            crossEncoder, Path.Combine(outputFolder, "teacher-scores.cache"), cancellationToken: cancellationToken);
        // Scores what the cache lacks (storing each batch as it goes) and attaches every pair's score to its example.
        IReadOnlyList<DistillationExample> scored = await teacher.ScoreExamplesAsync(examples, cancellationToken);
        // --- end

        // --- 5. distil
        using BiEncoderStudent student = BiEncoderStudent.Create(
            new BertConfig(tokenizer.VocabularySize, 128, 2, 2, 512, 512), tokenizer,
            new BiEncoderStudentOptions { MaxSequenceLength = 128, Pooling = PoolingMode.Mean, Similarity = EmbeddingSimilarity.Cosine },
            seed: 42);
        // ForCosineStudent: z-scored teacher margins times 0.1, since a cosine student's margins are at most 2.
        var loss = new WeightedLoss(
            (MarginMseLoss.ForCosineStudent(), 1.0),
            (new ContrastiveLoss(), 1.0)); // in-batch negatives: Margin-MSE alone never pushes unrelated documents away
        var trainer = new DistillationTrainer(new DistillationTrainerOptions
        {
            LearningRate = 1e-3,
            BatchSize = 16,
            NegativesPerQuery = 3,
            MaxSteps = steps,
        });
        TrainingResult result = await trainer.TrainAsync(student, loss, scored, cancellationToken: cancellationToken);
        // --- end

        // --- 6. evaluate
        var evaluator = new RetrievalEvaluator(corpus, queries, test, new RetrievalEvaluatorOptions
        {
            TopK = 100,
            RunFilePath = Path.Combine(outputFolder, "run.student.trec"),
        });
        EvaluationResult evaluation = await evaluator.EvaluateAsync(student, cancellationToken: cancellationToken);
        Console.WriteLine($"nDCG@10 {evaluation[MetricNames.Ndcg10]:F4}, {evaluation.QueriesPerSecond:F0} queries/s");
        // --- end

        // --- 7. save
        await student.SaveAsync(Path.Combine(outputFolder, "student"), cancellationToken);
        // Python: SentenceTransformer("<outputFolder>/student") loads it unchanged.
        // --- end
        return result.Steps > 0 ? evaluation[MetricNames.Ndcg10] : double.NaN;
    }

    /// <summary>Keeps every judged document and the first others, up to <paramref name="maxDocuments"/>.</summary>
    private static List<CorpusDocument> Slice(List<CorpusDocument> corpus, RelevanceJudgments train, RelevanceJudgments test, int maxDocuments)
    {
        if (corpus.Count <= maxDocuments)
            return corpus;
        var keep = train.QueryIds.SelectMany(train.RelevantDocuments).Concat(test.QueryIds.SelectMany(test.RelevantDocuments)).ToHashSet(StringComparer.Ordinal);
        foreach (CorpusDocument d in corpus)
        {
            if (keep.Count >= maxDocuments)
                break;
            keep.Add(d.Id);
        }
        return corpus.Where(d => keep.Contains(d.Id)).ToList();
    }
}
