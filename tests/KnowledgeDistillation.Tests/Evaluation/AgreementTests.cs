using System.Text.Json;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Tests.Abstractions;

namespace KnowledgeDistillation.Tests.Evaluation;

public class AgreementTests
{
    [Fact]
    public void Correlations_equal_the_python_reference_per_query_and_on_average()
    {
        JsonElement fixture = EvaluationFixtures.Load("agreement_cases.json");
        var teacher = new Dictionary<string, IReadOnlyList<float>>();
        var student = new Dictionary<string, IReadOnlyList<float>>();
        foreach (JsonElement q in fixture.GetProperty("queries").EnumerateArray())
        {
            string id = q.GetProperty("query").GetString()!;
            float[] t = q.GetProperty("teacher").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
            float[] s = q.GetProperty("student").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
            teacher[id] = t;
            student[id] = s;
            double[] x = t.Select(v => (double)v).ToArray(), y = s.Select(v => (double)v).ToArray();
            AssertCorrelation(RankCorrelation.Spearman(x, y), q.GetProperty("spearman"), $"Spearman of {id}");
            AssertCorrelation(RankCorrelation.KendallTauB(x, y), q.GetProperty("kendall"), $"Kendall of {id}");
        }

        AgreementResult result = AgreementResult.FromScores(teacher, student);

        result.MeanSpearman.Should().BeApproximately(fixture.GetProperty("mean_spearman").GetDouble(), 1e-12);
        result.MeanKendallTau.Should().BeApproximately(fixture.GetProperty("mean_kendall").GetDouble(), 1e-12);
        result.SpearmanQueries.Should().Be(fixture.GetProperty("spearman_queries").GetInt32());
        result.KendallQueries.Should().Be(fixture.GetProperty("kendall_queries").GetInt32());
    }

    [Fact]
    public void Kendall_tau_b_matches_the_quadratic_definition_on_long_lists_with_many_ties()
    {
        var random = new Random(5);
        for (int trial = 0; trial < 20; trial++)
        {
            int n = random.Next(2, 400);
            double[] x = Enumerable.Range(0, n).Select(_ => (double)random.Next(12)).ToArray();
            double[] y = x.Select(v => random.NextDouble() < 0.3 ? random.Next(12) : v + random.Next(3)).ToArray();
            RankCorrelation.KendallTauB(x, y).Should().BeApproximately(QuadraticTauB(x, y), 1e-12);
        }
    }

    [Fact]
    public void Mismatched_lists_are_refused()
    {
        FluentActions.Invoking(() => RankCorrelation.Spearman([1, 2], [1])).Should().Throw<ArgumentException>().WithMessage("*2 and 1*");
        FluentActions.Invoking(() => RankCorrelation.KendallTauB([1, double.NaN], [1, 2])).Should().Throw<ArgumentException>().WithMessage("*Item 1*NaN*");
    }

    [Fact]
    public async Task The_evaluator_compares_student_and_teacher_on_the_candidates_and_scores_the_teacher_once()
    {
        CorpusDocument[] corpus = Enumerable.Range(0, 12).Select(i => new CorpusDocument($"d{i}", "", string.Join(' ', Enumerable.Range(0, i % 5 + 1).Select(w => $"w{w}")))).ToArray();
        QueryRecord[] queries = [new("q1", "w0 w1 w2"), new("q2", "w3 w4"), new("q3", "nothing")];
        var candidates = new Dictionary<string, IReadOnlyList<ScoredDocument>>
        {
            ["q1"] = corpus.Take(8).Select((d, i) => new ScoredDocument(d.Id, -i)).ToArray(),
            ["q2"] = corpus.Skip(4).Select((d, i) => new ScoredDocument(d.Id, -i)).ToArray(),
        };
        var teacher = new RemoteTeacher(TimeSpan.Zero);
        using var student = new BagOfWordsStudent(dimension: 16);
        var evaluator = new AgreementEvaluator(corpus, queries, candidates, new AgreementEvaluatorOptions { Depth = 6, TeacherBatchSize = 5 });

        AgreementResult first = await evaluator.EvaluateAsync(student, teacher);
        AgreementResult second = await evaluator.EvaluateAsync(student, teacher);

        evaluator.QueryCount.Should().Be(2, "q3 has no candidates");
        teacher.Calls.Should().Be(3, "12 pairs in batches of 5, scored on the first call only");
        second.Should().BeEquivalentTo(first);
        // Independent check of q1: teacher = word overlap, student = the student's own cosine scores.
        string[] q1Docs = corpus.Take(6).Select(d => d.FullText).ToArray();
        double[] t = q1Docs.Select(d => (double)RemoteTeacher.Overlap("w0 w1 w2", d)).ToArray();
        float[] qv = student.Encode(["w0 w1 w2"], TextKind.Query)[0];
        double[] s = student.Encode(q1Docs, TextKind.Document).Select(dv => Cosine(qv, dv)).ToArray();
        first.PerQuerySpearman["q1"].Should().BeApproximately(RankCorrelation.Spearman(t, s), 1e-5);
        first.PerQueryKendallTau["q1"].Should().BeApproximately(RankCorrelation.KendallTauB(t, s), 1e-5);
        first.MeanSpearman.Should().BeApproximately((first.PerQuerySpearman["q1"] + first.PerQuerySpearman["q2"]) / 2, 1e-12);
    }

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }

    private static double QuadraticTauB(double[] x, double[] y)
    {
        long c = 0, d = 0, tx = 0, ty = 0;
        for (int i = 0; i < x.Length; i++)
        {
            for (int j = i + 1; j < x.Length; j++)
            {
                double dx = x[i] - x[j], dy = y[i] - y[j];
                if (dx == 0 && dy == 0)
                    continue;
                if (dx == 0)
                    tx++;
                else if (dy == 0)
                    ty++;
                else if (dx > 0 == dy > 0)
                    c++;
                else
                    d++;
            }
        }
        double denominator = Math.Sqrt((double)(c + d + tx) * (c + d + ty));
        return denominator == 0 ? double.NaN : (c - d) / denominator;
    }

    private static void AssertCorrelation(double actual, JsonElement expected, string what)
    {
        if (expected.ValueKind == JsonValueKind.Null)
            actual.Should().Be(double.NaN, what + " is undefined");
        else
            actual.Should().BeApproximately(expected.GetDouble(), 1e-12, what);
    }
}
