using KnowledgeDistillation.Data;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Tests.Abstractions;

namespace KnowledgeDistillation.Tests.Reliability;

/// <summary>Inputs that used to fail with a message about something else now say what is wrong.</summary>
public class UnclearErrorTests
{
    [Fact]
    public void An_empty_corpus_is_refused_by_the_retrieval_evaluator_and_the_retriever_saying_so()
    {
        var qrels = new RelevanceJudgments();
        qrels.Add("q1", "d1", 1);
        QueryRecord[] queries = [new("q1", "cats")];

        FluentActions.Invoking(() => new RetrievalEvaluator([], queries, qrels))
            .Should().Throw<ArgumentException>().WithMessage("The corpus is empty*").Which.ParamName.Should().Be("corpus");

        using var student = new BagOfWordsStudent();
        FluentActions.Invoking(() => DenseRetriever.Create(student, []))
            .Should().Throw<ArgumentException>().WithMessage("The corpus is empty*").Which.ParamName.Should().Be("corpus");
    }
}
