using KnowledgeDistillation.Data;
using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Workflow.Scoring;

namespace KnowledgeDistillation.Cli.Tests;

/// <summary>
/// <see cref="ScoreStep"/>'s whole step, which kd score, the QuickStart and DomainAdaptation run: the scores through the
/// cache, and the fusion with BM25 applied to the examples or only measured.
/// </summary>
public class ScoreStepTests
{
    private static readonly CorpusDocument[] Corpus =
    [
        new("d1", "Vitamin D", "vitamin d supports bone density in older adults"),
        new("d2", "Statins", "statins may cause muscle pain in some patients"),
        new("d3", "Coffee", "coffee late in the day worsens sleep quality"),
        new("d4", "Trains", "the timetable of regional trains changes in winter"),
        new("d5", "Bread", "a simple recipe for sourdough bread"),
    ];

    private static readonly DistillationExample[] Examples =
    [
        new("vitamin d bone density", [Corpus[0].FullText], [Corpus[1].FullText, Corpus[3].FullText]),
        new("statins muscle pain", [Corpus[1].FullText], [Corpus[0].FullText, Corpus[4].FullText]),
        new("coffee sleep", [Corpus[2].FullText], [Corpus[3].FullText, Corpus[4].FullText]),
    ];

    [Fact]
    public async Task The_fusion_replaces_the_examples_scores_only_when_asked_and_the_cache_holds_every_pair()
    {
        using var data = new TestData();
        using Bm25Index index = Bm25Index.BuildInMemory(Corpus);
        using var teacher = new FixedTeacher();

        ScoreRun fused = await ScoreStep.RunAsync(teacher, index, Request(data.File("a.kdscores"), fuse: true));
        ScoreRun measured = await ScoreStep.RunAsync(teacher, index, Request(data.File("b.kdscores"), fuse: false));

        fused.Scoring.Pairs.Should().Be(9);
        fused.FusionWeight.Should().Be(0.5);
        fused.Tuning.Should().BeNull("no dev queries were given");
        measured.Examples.Should().BeSameAs(measured.Scoring.ScoredExamples, "without fusing the examples keep the teacher's scores");
        fused.Examples![0].PositiveScores.Should().NotEqual(fused.Scoring.ScoredExamples![0].PositiveScores!, "the fused scores are z-scores mixed with BM25's");
        fused.Examples.Select(e => e.Query).Should().Equal(Examples.Select(e => e.Query));

        // A second run finds every pair in the cache the first one closed.
        ScoreRun again = await ScoreStep.RunAsync(teacher, index, Request(data.File("a.kdscores"), fuse: true));
        again.Scoring.Reused.Should().Be(9);
        again.Scoring.Scored.Should().Be(0);
        again.Examples!.Select(e => e.PositiveScores).Should().BeEquivalentTo(fused.Examples.Select(e => e.PositiveScores), o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task A_shard_cannot_fuse_and_tuning_needs_dev_queries()
    {
        using var data = new TestData();
        using Bm25Index index = Bm25Index.BuildInMemory(Corpus);
        using var teacher = new FixedTeacher();
        ScoreRequest request = Request(data.File("c.kdscores"), fuse: true);

        Func<Task> sharded = () => ScoreStep.RunAsync(teacher, index, request with { Scoring = new ScoreOptions { Shard = Shard.Parse("0/2") } });
        Func<Task> untuned = () => ScoreStep.RunAsync(teacher, index, request with { Fusion = new FusionRequest() });
        await sharded.Should().ThrowAsync<ArgumentException>().WithMessage("*merge the shard caches*");
        await untuned.Should().ThrowAsync<ArgumentException>().WithMessage("*dev queries*");
    }

    private static ScoreRequest Request(string cache, bool fuse) => new()
    {
        Examples = Examples,
        CachePath = cache,
        Fusion = new FusionRequest { Weight = 0.5, FuseExamples = fuse },
    };

    /// <summary>A deterministic teacher: the score is the number of words the query and the document share.</summary>
    private sealed class FixedTeacher : ITeacher, IDisposable
    {
        public string Identity => "fixed-word-overlap";

        public Task<float[]> ScoreAsync(IReadOnlyList<QueryDocumentPair> pairs, CancellationToken cancellationToken = default)
            => Task.FromResult(pairs.Select(p => (float)p.Query.Split(' ').Intersect(p.Document.Split(' ')).Count()).ToArray());

        public void Dispose()
        {
        }
    }
}
