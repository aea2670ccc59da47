using KnowledgeDistillation.Data;

namespace KnowledgeDistillation.Lucene.Tests;

public class Bm25IndexStorageTests
{
    private static readonly CorpusDocument[] Corpus =
    [
        new("d1", "Vitamin D", "Vitamin D deficiency is linked to bone loss."),
        new("d2", "", "Aspirin lowers the risk of heart attack."),
        new("d3", "Sleep", "Shift work disturbs sleep and raises blood pressure."),
    ];

    [Fact]
    public void An_index_built_on_disk_reopens_with_its_settings_and_results()
    {
        using var temp = new TempDirectory();
        string path = temp.Sub("index");
        var options = new Bm25IndexOptions { Stemmer = Bm25Stemmer.None, RemoveStopWords = false };
        var progress = new List<int>();

        using (Bm25Index built = Bm25Index.Build(Corpus, path, options, progress: new SynchronousProgress<int>(progress.Add)))
        {
            built.DirectoryPath.Should().Be(Path.GetFullPath(path));
            built.DocumentCount.Should().Be(3);
            using Bm25Index reopened = Bm25Index.Open(path);
            reopened.Options.Stemmer.Should().Be(Bm25Stemmer.None);
            reopened.Options.RemoveStopWords.Should().BeFalse();
            reopened.Search("the blood pressure", 3).Should().Equal(built.Search("the blood pressure", 3));
            // Without stemming "losses" does not match "loss": the stored settings, not the defaults, analyze the query.
            reopened.Search("losses", 3).Should().BeEmpty();
        }
        progress.Should().EndWith(3);
        Directory.GetDirectories(temp.Path).Select(Path.GetFileName).Should().Equal("index");
    }

    [Fact]
    public async Task An_index_builds_from_an_async_stream()
    {
        using var temp = new TempDirectory();
        using Bm25Index index = await Bm25Index.BuildAsync(Stream(), temp.Sub("async"));
        index.DocumentCount.Should().Be(3);
        index.Search("aspirin", 1)[0].DocumentId.Should().Be("d2");

        static async IAsyncEnumerable<CorpusDocument> Stream()
        {
            foreach (CorpusDocument d in Corpus)
            {
                await Task.Yield();
                yield return d;
            }
        }
    }

    [Fact]
    public void Building_over_a_non_empty_directory_needs_overwrite_and_then_replaces_it()
    {
        using var temp = new TempDirectory();
        string path = temp.Sub("index");
        Bm25Index.Build(Corpus, path).Dispose();

        FluentActions.Invoking(() => Bm25Index.Build(Corpus.Take(1), path))
            .Should().Throw<IOException>().WithMessage($"*'{Path.GetFullPath(path)}'*not empty*Overwrite*");

        using (Bm25Index replaced = Bm25Index.Build(Corpus.Take(1), path, new Bm25IndexOptions { Overwrite = true }))
            replaced.DocumentCount.Should().Be(1);
        using (Bm25Index reopened = Bm25Index.Open(path))
            reopened.DocumentCount.Should().Be(1);
        Directory.GetDirectories(temp.Path).Select(Path.GetFileName).Should().Equal("index");
    }

    [Fact]
    public void An_empty_existing_directory_is_used()
    {
        using var temp = new TempDirectory();
        string path = temp.Sub("empty");
        Directory.CreateDirectory(path);
        using Bm25Index index = Bm25Index.Build(Corpus, path);
        index.DocumentCount.Should().Be(3);
    }

    [Fact]
    public void A_failed_build_leaves_nothing_behind()
    {
        using var temp = new TempDirectory();
        string path = temp.Sub("index");
        CorpusDocument[] duplicate = [.. Corpus, new("d2", "", "again")];

        FluentActions.Invoking(() => Bm25Index.Build(duplicate, path))
            .Should().Throw<ArgumentException>().WithMessage("Document id 'd2' appears twice*positions 1 and 3*");

        Directory.EnumerateFileSystemEntries(temp.Path).Should().BeEmpty("neither the target nor the staging directory may remain");
    }

    [Fact]
    public void A_cancelled_build_leaves_nothing_behind_and_keeps_an_existing_index()
    {
        using var temp = new TempDirectory();
        string path = temp.Sub("index");
        Bm25Index.Build(Corpus, path).Dispose();
        using var cts = new CancellationTokenSource();

        FluentActions.Invoking(() => Bm25Index.Build(CancelAfterTwo(cts), path, new Bm25IndexOptions { Overwrite = true }, cancellationToken: cts.Token))
            .Should().Throw<OperationCanceledException>();

        Directory.GetDirectories(temp.Path).Select(Path.GetFileName).Should().Equal("index");
        using Bm25Index old = Bm25Index.Open(path);
        old.DocumentCount.Should().Be(3);

        static IEnumerable<CorpusDocument> CancelAfterTwo(CancellationTokenSource cts)
        {
            yield return Corpus[0];
            yield return Corpus[1];
            cts.Cancel();
            yield return Corpus[2];
        }
    }

    [Fact]
    public void Bad_documents_are_rejected_by_position()
    {
        FluentActions.Invoking(() => Bm25Index.BuildInMemory([Corpus[0], new CorpusDocument(" ", "", "x")]))
            .Should().Throw<ArgumentException>().WithMessage("Document 1 of the corpus has an empty id*");
        FluentActions.Invoking(() => Bm25Index.BuildInMemory([Corpus[0], null!]))
            .Should().Throw<ArgumentException>().WithMessage("Document 1 of the corpus is null*");
    }

    [Fact]
    public void Opening_a_missing_directory_names_the_path()
    {
        using var temp = new TempDirectory();
        string path = temp.Sub("nowhere");
        FluentActions.Invoking(() => Bm25Index.Open(path))
            .Should().Throw<DirectoryNotFoundException>().WithMessage($"*'{path}'*does not exist*");
    }

    [Fact]
    public void Opening_a_directory_without_an_index_names_the_path()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(Path.Combine(temp.Path, "notes.txt"), "not an index");
        FluentActions.Invoking(() => Bm25Index.Open(temp.Path))
            .Should().Throw<InvalidDataException>().WithMessage($"*'{temp.Path}'*no Lucene index*");
    }

    [Theory]
    [InlineData("segments_", false)]
    [InlineData(".si", false)]
    [InlineData(".tim", false)]
    [InlineData(".tim", true)]
    [InlineData(".doc", true)]
    [InlineData(".fdt", true)]
    public void Opening_a_damaged_index_names_the_path(string damaged, bool flipInsteadOfTruncate)
    {
        using var temp = new TempDirectory();
        string path = temp.Sub("index");
        Bm25Index.Build(Corpus, path).Dispose();
        string file = Directory.GetFiles(path).Single(f => Path.GetFileName(f).Contains(damaged, StringComparison.Ordinal));
        byte[] bytes = File.ReadAllBytes(file);
        if (flipInsteadOfTruncate)
        {
            bytes[bytes.Length / 2] ^= 0xFF;
            File.WriteAllBytes(file, bytes);
        }
        else
        {
            File.WriteAllBytes(file, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        }

        FluentActions.Invoking(() => Bm25Index.Open(path))
            .Should().Throw<InvalidDataException>().WithMessage($"*'{Path.GetFullPath(path)}'*");
    }

    [Fact]
    public void Opening_a_lucene_index_not_written_by_bm25index_is_rejected()
    {
        using var temp = new TempDirectory();
        using (var store = global::Lucene.Net.Store.FSDirectory.Open(temp.Path))
        using (var analyzer = new global::Lucene.Net.Analysis.Core.WhitespaceAnalyzer(global::Lucene.Net.Util.LuceneVersion.LUCENE_48))
        using (var writer = new global::Lucene.Net.Index.IndexWriter(store, new global::Lucene.Net.Index.IndexWriterConfig(global::Lucene.Net.Util.LuceneVersion.LUCENE_48, analyzer)))
        {
            writer.AddDocument([new global::Lucene.Net.Documents.TextField("body", "hello", global::Lucene.Net.Documents.Field.Store.NO)]);
            writer.Commit();
        }
        FluentActions.Invoking(() => Bm25Index.Open(temp.Path))
            .Should().Throw<InvalidDataException>().WithMessage($"*'{temp.Path}' was not written by Bm25Index*");
    }

    [Fact]
    public void Building_where_a_file_exists_is_rejected()
    {
        using var temp = new TempDirectory();
        string file = temp.Sub("index");
        File.WriteAllText(file, "x");
        FluentActions.Invoking(() => Bm25Index.Build(Corpus, file)).Should().Throw<IOException>().WithMessage("*a file of that name exists*");
    }
}
