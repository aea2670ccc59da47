using KnowledgeDistillation.Data;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Tests.Abstractions;

namespace KnowledgeDistillation.Tests.Retrieval;

public class DenseRetrieverTests
{
    internal static readonly CorpusDocument[] Corpus =
    [
        new("d1", "Cats", "cats purr and sleep"),
        new("d2", "", "dogs bark at the mail carrier"),
        new("d3", "Fish", "fish swim in the sea"),
        new("d4", "", "birds sing in the morning"),
        new("d5", "Cats and dogs", "cats chase dogs"),
    ];

    [Fact]
    public async Task Retrieval_ranks_the_corpus_as_the_students_own_scores_do()
    {
        using var student = new BagOfWordsStudent(dimension: 16);
        var progress = new List<EvaluationProgress>();
        using var retriever = DenseRetriever.Create(student, Corpus, new DenseRetrieverOptions { EncodeBatchSize = 2 }, new SynchronousProgress<EvaluationProgress>(progress.Add));

        var results = await retriever.RetrieveAsync(["cats purr", "fish swim in the sea"], topK: 3);

        progress.Select(p => p.Completed).Should().Equal(2, 4, 5);
        progress.Should().OnlyContain(p => p.Stage == "corpus" && p.Total == 5);
        float[][] docs = student.Encode(Corpus.Select(d => d.FullText).ToArray(), TextKind.Document);
        string[] queries = ["cats purr", "fish swim in the sea"];
        for (int q = 0; q < 2; q++)
        {
            float[] query = student.Encode([queries[q]], TextKind.Query)[0];
            using var scope = TorchSharp.torch.NewDisposeScope();
            float[] scores = student.Score(TorchSharp.torch.tensor(query).unsqueeze(0), TorchSharp.torch.tensor(docs.SelectMany(d => d).ToArray()).reshape(5, 16)).data<float>().ToArray();
            var expected = Enumerable.Range(0, 5).OrderByDescending(i => scores[i]).Take(3).Select(i => Corpus[i].Id);
            results[q].Select(d => d.DocumentId).Should().Equal(expected);
        }
        results[0][0].DocumentId.Should().Be("d1");
        results[1][0].DocumentId.Should().Be("d3");
    }

    [Fact]
    public async Task The_student_is_encoded_in_inference_mode_and_restored()
    {
        using var student = new BagOfWordsStudent();
        student.IsTraining = true;
        using var retriever = DenseRetriever.Create(student, Corpus);
        student.IsTraining.Should().BeTrue();
        (await retriever.RetrieveAsync(["cats"], 100)).Single().Should().HaveCount(5);
    }

    [Fact]
    public void Duplicate_document_ids_are_refused()
    {
        using var student = new BagOfWordsStudent();
        FluentActions.Invoking(() => DenseRetriever.Create(student, [.. Corpus, new CorpusDocument("d3", "", "again")]))
            .Should().Throw<ArgumentException>().WithMessage("*'d3' appears twice*position 5*");
    }

    [Fact]
    public void Encoding_honours_cancellation()
    {
        using var student = new BagOfWordsStudent();
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        FluentActions.Invoking(() => DenseRetriever.Create(student, Corpus, cancellationToken: cts.Token)).Should().Throw<OperationCanceledException>();
    }
}
