using KnowledgeDistillation.Data;
using KnowledgeDistillation.IO;
using KnowledgeDistillation.Tests.Shared;

namespace KnowledgeDistillation.Lucene.Tests;

/// <summary>
/// An on-disk index is published with the library's one atomic write: its files flushed, the folder renamed into place,
/// the parent directory flushed; a crash on either side of the rename leaves a whole index, old or new.
/// </summary>
public class Bm25IndexAtomicWriteTests
{
    private static readonly CorpusDocument[] Corpus =
    [
        new("d1", "Vitamin D", "Vitamin D deficiency is linked to bone loss."),
        new("d2", "", "Aspirin lowers the risk of heart attack."),
        new("d3", "Sleep", "Shift work disturbs sleep and raises blood pressure."),
    ];

    private static readonly Bm25IndexOptions Overwrite = new() { Overwrite = true };

    [Fact]
    public void A_built_index_is_flushed_then_renamed_then_its_directory_flushed()
    {
        using var temp = new TempDirectory();
        string path = temp.Sub("index");

        List<(AtomicWrite.Step Step, string Path)> steps = AtomicWriteRecorder.Record(() => Bm25Index.Build(Corpus, path).Dispose());

        steps.Select(s => s.Step).Should().Equal(AtomicWrite.Step.Flushed, AtomicWrite.Step.Renamed, AtomicWrite.Step.DirectorySynced);
        Path.GetFileName(steps[0].Path).Should().StartWith(".index.building-", "the staging folder is flushed, not the target");
        steps[1].Path.Should().Be(Path.GetFullPath(path));
        steps[2].Path.Should().Be(temp.Path);
    }

    [Fact]
    public void A_crash_before_the_rename_leaves_the_old_index_whole()
    {
        using var temp = new TempDirectory();
        string path = temp.Sub("index");
        Bm25Index.Build(Corpus, path).Dispose();

        FluentActions.Invoking(() => AtomicWriteRecorder.Record(() => Bm25Index.Build(Corpus.Take(1), path, Overwrite).Dispose(), (step, _) => step == AtomicWrite.Step.Flushed))
            .Should().Throw<SimulatedCrash>();

        using Bm25Index reopened = Bm25Index.Open(path);
        reopened.DocumentCount.Should().Be(3);
        Directory.GetDirectories(temp.Path).Select(Path.GetFileName).Should().Equal("index");
    }

    [Fact]
    public void A_crash_right_after_the_rename_leaves_the_whole_new_index()
    {
        using var temp = new TempDirectory();
        string path = temp.Sub("index");
        Bm25Index.Build(Corpus, path).Dispose();

        FluentActions.Invoking(() => AtomicWriteRecorder.Record(() => Bm25Index.Build(Corpus.Take(1), path, Overwrite).Dispose(), (step, _) => step == AtomicWrite.Step.Renamed))
            .Should().Throw<SimulatedCrash>();

        using Bm25Index reopened = Bm25Index.Open(path);
        reopened.DocumentCount.Should().Be(1);
        reopened.Search("vitamin", 3).Select(d => d.DocumentId).Should().Equal("d1");
    }
}
