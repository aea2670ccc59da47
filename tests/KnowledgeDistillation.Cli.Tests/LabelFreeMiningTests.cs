using System.Text.Json;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Workflow.Training;

namespace KnowledgeDistillation.Cli.Tests;

/// <summary>
/// <c>kd mine --labels none</c>: label-free mining of unjudged queries (positive: the first stage's top candidate) and
/// pseudo-queries (positive: their document, or for a sentence the rest of it) that opens no qrels, and <c>--retriever</c> given twice (BM25 and a
/// bi-encoder fused by reciprocal rank fusion).
/// </summary>
public class LabelFreeMiningTests
{
    private static async Task<JsonElement> MineAsync(params string[] args)
    {
        Kd.Result r = await Kd.RunAsync(["mine", "--labels", "none", "--negatives", "3", "--max-rank", "8", "--json", .. args]);
        r.ExitCode.Should().Be(0, r.Error);
        using JsonDocument json = JsonDocument.Parse(r.Out);
        return json.RootElement.Clone();
    }

    [Fact]
    public async Task Without_qrels_or_with_garbage_qrels_it_mines_the_same_and_each_positive_is_bm25_s_top_document()
    {
        using var data = new TestData();
        string beir = await data.BeirSliceAsync(queries: 20, documents: 150);
        // The same corpus and queries with no qrels folder at all.
        string bare = data.File("bare");
        Directory.CreateDirectory(bare);
        foreach (string file in new[] { "corpus.jsonl", "queries.jsonl" })
            File.Copy(Path.Combine(beir, file), Path.Combine(bare, file));
        // And the original folder with qrels no reader accepts: opened, they fail the run (checked below).
        await File.WriteAllTextAsync(Path.Combine(beir, "qrels", "train.tsv"), "this is\tnot\ta qrels file\nnor\tthis\n");
        await File.WriteAllTextAsync(Path.Combine(beir, "qrels", "test.tsv"), "garbage\n");

        JsonElement fromBare = await MineAsync("--data", bare, "--output", data.File("bare.jsonl"));
        JsonElement fromGarbage = await MineAsync("--data", beir, "--output", data.File("garbage.jsonl"));
        Kd.Result judged = await Kd.RunAsync("mine", "--data", beir, "--output", data.File("judged.jsonl"));
        judged.ExitCode.Should().Be(ExitCodes.BadInput, "the garbage qrels fail a run that reads them");
        // Judged mining of the folder without qrels fails, and the message points at label-free mining.
        Kd.Result noQrels = await Kd.RunAsync("mine", "--data", bare, "--output", data.File("none.jsonl"));
        noQrels.ExitCode.Should().Be(ExitCodes.BadInput);
        noQrels.Error.Should().Contain("no qrels for split 'train'").And.Contain("--labels none");
        File.Exists(data.File("none.jsonl")).Should().BeFalse();

        string mined = await File.ReadAllTextAsync(data.File("bare.jsonl"));
        mined.Should().NotBeEmpty();
        (await File.ReadAllTextAsync(data.File("garbage.jsonl"))).Should().Be(mined);
        foreach (JsonElement result in new[] { fromBare, fromGarbage })
        {
            result.GetProperty("labels").GetString().Should().Be("none");
            result.GetProperty("retriever").GetString().Should().Be("bm25");
            result.GetProperty("examples").GetInt32().Should().Be(20);
            result.GetProperty("fromQueries").GetInt32().Should().Be(20, "every query of queries.jsonl is mined");
            result.GetProperty("fromPseudoQueries").GetInt32().Should().Be(0);
            result.GetProperty("pseudoQuerySource").ValueKind.Should().Be(JsonValueKind.Null, "none were asked for");
            result.GetProperty("devQueries").GetInt32().Should().Be(0);
        }

        // The check: BM25 (k1 0.9, b 0.4) over the corpus, independently of the miner.
        List<CorpusDocument> corpus = await CorpusAsync(bare);
        using Bm25Index index = Bm25Index.BuildInMemory(corpus);
        var text = corpus.ToDictionary(d => d.Id, d => d.FullText);
        foreach (DistillationExample example in await ReadAsync(data.File("bare.jsonl")))
        {
            string[] ranking = index.Search(example.Query, 8).Select(d => text[d.DocumentId]).ToArray();
            example.Positives.Should().Equal([ranking[0]], "an unjudged query's positive is the first stage's top candidate");
            example.Negatives.Should().HaveCount(3).And.OnlyContain(n => Array.IndexOf(ranking, n) > 0, "negatives come from ranks 2 to 8");
        }
    }

    [Fact]
    public async Task A_queries_file_replaces_the_folder_s_queries()
    {
        using var data = new TestData();
        string beir = await data.BeirSliceAsync(queries: 20, documents: 150);
        Directory.Delete(Path.Combine(beir, "qrels"), recursive: true);
        string queries = data.File("unjudged.jsonl");
        string[] texts = ["coronavirus vaccine trial results", "gene expression in tumour cells", "diabetes and insulin resistance"];
        await File.WriteAllLinesAsync(queries, texts.Select((t, i) => JsonSerializer.Serialize(new Dictionary<string, string> { ["_id"] = $"u{i}", ["text"] = t })));

        JsonElement result = await MineAsync("--data", beir, "--queries", queries, "--output", data.File("out.jsonl"));

        result.GetProperty("fromQueries").GetInt32().Should().Be(3);
        (await ReadAsync(data.File("out.jsonl"))).Select(e => e.Query).Should().Equal(texts);

        // The same queries as MS MARCO TSV (qid<TAB>text), read by the file's name.
        string tsv = data.File("unjudged.tsv");
        await File.WriteAllLinesAsync(tsv, texts.Select((t, i) => $"u{i}\t{t}"));
        await MineAsync("--data", beir, "--queries", tsv, "--output", data.File("tsv.jsonl"));
        (await File.ReadAllTextAsync(data.File("tsv.jsonl"))).Should().Be(await File.ReadAllTextAsync(data.File("out.jsonl")));
    }

    [Fact]
    public async Task From_a_corpus_alone_title_pseudo_queries_keep_the_document_they_came_from_even_when_bm25_ranks_another_first()
    {
        using var data = new TestData();
        string beir = await data.BeirSliceAsync(queries: 5, documents: 120);
        string corpusOnly = data.File("corpus-only");
        Directory.CreateDirectory(corpusOnly);
        List<CorpusDocument> documents = await CorpusAsync(beir);
        // A decoy (its two-word title makes no pseudo-query) that repeats one document's title: BM25 ranks it above that document.
        CorpusDocument source = documents.First(d => d.Title.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length >= 5);
        var decoy = new CorpusDocument("decoy", "decoy note", string.Join(' ', Enumerable.Repeat(source.Title, 3)));
        documents.Add(decoy);
        await File.WriteAllLinesAsync(Path.Combine(corpusOnly, "corpus.jsonl"),
            documents.Select(d => JsonSerializer.Serialize(new Dictionary<string, string> { ["_id"] = d.Id, ["title"] = d.Title, ["text"] = d.Text })));
        using (Bm25Index index = Bm25Index.BuildInMemory(documents))
            index.Search(source.Title, 1)[0].DocumentId.Should().Be("decoy", "the decoy is BM25's top document for the title");

        JsonElement result = await MineAsync("--data", corpusOnly, "--pseudo-queries", "all", "--output", data.File("out.jsonl"));

        // The default (auto) takes titles where at least half the documents have one, as --pseudo-query-source title does.
        result.GetProperty("pseudoQuerySource").GetString().Should().Be("title");
        await MineAsync("--data", corpusOnly, "--pseudo-queries", "all", "--pseudo-query-source", "title", "--output", data.File("title.jsonl"));
        (await File.ReadAllTextAsync(data.File("title.jsonl"))).Should().Be(await File.ReadAllTextAsync(data.File("out.jsonl")));
        int titled = documents.Count(d => d.Title.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length >= 3);
        result.GetProperty("fromQueries").GetInt32().Should().Be(0, "the folder has no queries.jsonl");
        List<DistillationExample> mined = await ReadAsync(data.File("out.jsonl"));
        result.GetProperty("fromPseudoQueries").GetInt32().Should().Be(mined.Count);
        // Every titled document is a pseudo-query; one whose title finds fewer than 3 other documents in the top 8 is dropped.
        mined.Count.Should().BeInRange(titled - 3, titled);
        foreach (DistillationExample example in mined)
        {
            // Titles can repeat: the positive is one of the documents with this title, and never a negative.
            string[] sources = documents.Where(d => d.Title == example.Query).Select(d => d.FullText).ToArray();
            example.Positives.Should().ContainSingle().Which.Should().BeOneOf(sources);
            example.Negatives.Should().NotContain(example.Positives[0]);
        }
        mined.Single(e => e.Query == source.Title).Positives.Should().Equal(source.FullText);

        // Sentences from the same titled corpus: the positive keeps its document's title, only the sentence is cut.
        await MineAsync("--data", corpusOnly, "--pseudo-queries", "all", "--pseudo-query-source", "sentence", "--output", data.File("sentences.jsonl"));
        foreach (DistillationExample example in await ReadAsync(data.File("sentences.jsonl")))
        {
            CorpusDocument from = documents.First(d => d.Text.Contains(example.Query, StringComparison.Ordinal));
            if (from == decoy)
                continue; // its three sentences are one title repeated: cutting one leaves the others

            example.Positives[0].Should().StartWith(from.Title + " ").And.NotContain(example.Query);
        }

        // The next step of the sequence reads the same folder, a corpus without queries.jsonl, for BM25.
        Kd.Result scored = await Kd.RunAsync("score", "--teacher", "bm25", "--corpus", corpusOnly, "--input", data.File("out.jsonl"),
            "--cache", data.File("bm25.kdscores"), "--output", data.File("scored.jsonl"), "--json");
        scored.ExitCode.Should().Be(0, scored.Error);
        (await ReadAsync(data.File("scored.jsonl"))).Should().HaveCount(mined.Count).And.OnlyContain(e => e.PositiveScores != null);
    }

    [Fact]
    public async Task From_a_corpus_without_titles_sentence_pseudo_queries_find_the_rest_of_their_document_and_never_the_whole_one()
    {
        using var data = new TestData();
        string beir = await data.BeirSliceAsync(queries: 5, documents: 120);
        string untitled = data.File("untitled");
        Directory.CreateDirectory(untitled);
        List<CorpusDocument> documents = (await CorpusAsync(beir)).Select(d => d with { Title = "" }).ToList();
        // A document of one sentence has no rest to find: it makes no pseudo-query.
        documents.Add(new CorpusDocument("single", "", "Only one sentence of twelve words stands in this short document here."));
        // Web corpora repeat passages: a copy holds the query word for word too, and must never be a negative either.
        documents.AddRange(documents.Take(3).Select(d => d with { Id = "copy-of-" + d.Id }).ToList());
        await File.WriteAllLinesAsync(Path.Combine(untitled, "corpus.jsonl"),
            documents.Select(d => JsonSerializer.Serialize(new Dictionary<string, string> { ["_id"] = d.Id, ["title"] = "", ["text"] = d.Text })));

        // Titles asked for from a corpus without them: refused with the way out, and nothing is written.
        Kd.Result titles = await Kd.RunAsync("mine", "--data", untitled, "--labels", "none", "--pseudo-queries", "all", "--pseudo-query-source", "title", "--output", data.File("titles.jsonl"));
        titles.ExitCode.Should().Be(ExitCodes.BadInput, titles.Error);
        titles.Error.Should().Contain("no title pseudo-queries").And.Contain("--pseudo-query-source sentence");
        File.Exists(data.File("titles.jsonl")).Should().BeFalse();

        JsonElement result = await MineAsync("--data", untitled, "--pseudo-queries", "all", "--pseudo-query-source", "sentence", "--output", data.File("out.jsonl"));

        List<DistillationExample> mined = await ReadAsync(data.File("out.jsonl"));
        result.GetProperty("fromQueries").GetInt32().Should().Be(0);
        result.GetProperty("fromPseudoQueries").GetInt32().Should().Be(mined.Count);
        result.GetProperty("pseudoQuerySource").GetString().Should().Be("sentence");
        mined.Count.Should().BeGreaterThan(100, "almost every abstract has two sentences or more");
        // The default (auto) takes sentences where fewer than half the documents have a title.
        JsonElement auto = await MineAsync("--data", untitled, "--pseudo-queries", "all", "--output", data.File("auto.jsonl"));
        auto.GetProperty("pseudoQuerySource").GetString().Should().Be("sentence");
        (await File.ReadAllTextAsync(data.File("auto.jsonl"))).Should().Be(await File.ReadAllTextAsync(data.File("out.jsonl")));
        foreach (DistillationExample example in mined)
        {
            // Checked against the corpus, not the splitter: the query occurs in one document (or in it and its copy), at a
            // sentence boundary, and the positive is that document with the query cut out.
            CorpusDocument[] holding = documents.Where(d => d.Text.Contains(example.Query, StringComparison.Ordinal)).ToArray();
            holding.Should().NotBeEmpty().And.HaveCountLessThanOrEqualTo(2).And.OnlyContain(d => d.Text == holding[0].Text);
            CorpusDocument source = holding[0];
            source.Id.Should().NotBe("single");
            int at = source.Text.IndexOf(example.Query, StringComparison.Ordinal);
            int end = at + example.Query.Length;
            (at == 0 || (char.IsWhiteSpace(source.Text[at - 1]) && source.Text[..at].TrimEnd()[^1] is '.' or '!' or '?')).Should().BeTrue($"'{example.Query}' starts a sentence");
            (end == source.Text.Length || (char.IsWhiteSpace(source.Text[end]) && example.Query[^1] is '.' or '!' or '?')).Should().BeTrue($"'{example.Query}' ends one");
            string rest = (source.Text[..at].TrimEnd() + " " + source.Text[end..].TrimStart()).Trim();
            Squeeze(example.Positives.Should().ContainSingle().Subject).Should().Be(Squeeze(rest));
            Squeeze(example.Query).Split(' ').Length.Should().BeInRange(5, 48);
            foreach (CorpusDocument whole in holding)
                example.Negatives.Should().NotContain(whole.Text, "the whole document and its copies hold the query word for word");
        }
        mined.Count(e => documents.Take(3).Any(d => d.Text.Contains(e.Query, StringComparison.Ordinal)))
            .Should().BeGreaterThan(0, "the copied documents make pseudo-queries too");

        // A smaller count draws the first of the same documents and sentences.
        await MineAsync("--data", untitled, "--pseudo-queries", "10", "--pseudo-query-source", "sentence", "--output", data.File("ten.jsonl"));
        (await ReadAsync(data.File("ten.jsonl"))).Select(e => e.Query).Should().Equal(mined.Take(10).Select(e => e.Query));

        // The same seed draws the same sentences; another seed other ones.
        await MineAsync("--data", untitled, "--pseudo-queries", "all", "--pseudo-query-source", "sentence", "--output", data.File("again.jsonl"));
        (await File.ReadAllTextAsync(data.File("again.jsonl"))).Should().Be(await File.ReadAllTextAsync(data.File("out.jsonl")));
        await MineAsync("--data", untitled, "--pseudo-queries", "all", "--pseudo-query-source", "sentence", "--seed", "7", "--output", data.File("seed7.jsonl"));
        (await ReadAsync(data.File("seed7.jsonl"))).Select(e => e.Query).Should().NotBeEquivalentTo(mined.Select(e => e.Query));

        static string Squeeze(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task A_source_the_corpus_does_not_have_exits_3_before_mining_when_named_and_auto_takes_the_other_or_none()
    {
        using var data = new TestData();
        string folder = data.File("short");
        Directory.CreateDirectory(folder);
        string[] lines = Enumerable.Range(0, 30).Select(i => JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["_id"] = $"d{i}", ["title"] = $"Document number {i} title", ["text"] = $"Just one sentence in document {i} here.",
        })).ToArray();
        await File.WriteAllLinesAsync(Path.Combine(folder, "corpus.jsonl"), lines);

        Kd.Result r = await Kd.RunAsync("mine", "--data", folder, "--labels", "none", "--pseudo-queries", "all", "--pseudo-query-source", "sentence", "--output", data.File("out.jsonl"));

        r.ExitCode.Should().Be(ExitCodes.BadInput, r.Error);
        r.Error.Should().Contain("no sentence pseudo-queries").And.Contain("--pseudo-query-source title");
        r.Error.Should().NotContain("mining:", "the check comes before the first stage");
        File.Exists(data.File("out.jsonl")).Should().BeFalse();

        // auto: too few titles for titles, no sentence to draw, so the titles there are.
        await File.WriteAllLinesAsync(Path.Combine(folder, "corpus.jsonl"), Enumerable.Range(0, 30).Select(i => JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["_id"] = $"d{i}", ["title"] = i < 10 ? $"Document number {i} title" : "", ["text"] = $"Just one sentence in document {i} here.",
        })));
        JsonElement fallback = await MineAsync("--data", folder, "--pseudo-queries", "all", "--output", data.File("fallback.jsonl"));
        fallback.GetProperty("pseudoQuerySource").GetString().Should().Be("title");
        fallback.GetProperty("fromPseudoQueries").GetInt32().Should().BeInRange(8, 10);

        // Neither source (untitled one-line questions, as Quora's): auto adds none with a warning and mines the queries;
        // without queries there is nothing to mine.
        await File.WriteAllLinesAsync(Path.Combine(folder, "corpus.jsonl"), Enumerable.Range(0, 30).Select(i => JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["_id"] = $"d{i}", ["title"] = "", ["text"] = $"How do I learn topic number {i} quickly?",
        })));
        Kd.Result alone = await Kd.RunAsync("mine", "--data", folder, "--labels", "none", "--pseudo-queries", "all", "--output", data.File("alone.jsonl"));
        alone.ExitCode.Should().Be(ExitCodes.BadInput, alone.Error);
        alone.Error.Should().Contain("nothing to mine");
        await File.WriteAllLinesAsync(Path.Combine(folder, "queries.jsonl"), Enumerable.Range(0, 4).Select(i => JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["_id"] = $"q{i}", ["text"] = $"learn topic {i}",
        })));
        Kd.Result withQueries = await Kd.RunAsync("mine", "--data", folder, "--labels", "none", "--pseudo-queries", "all", "--negatives", "3", "--max-rank", "8", "--json", "--output", data.File("queries.jsonl"));
        withQueries.ExitCode.Should().Be(0, withQueries.Error);
        withQueries.Error.Should().Contain("No pseudo-query added");
        using JsonDocument json = JsonDocument.Parse(withQueries.Out);
        json.RootElement.GetProperty("fromQueries").GetInt32().Should().Be(4);
        json.RootElement.GetProperty("fromPseudoQueries").GetInt32().Should().Be(0);
        json.RootElement.GetProperty("pseudoQuerySource").ValueKind.Should().Be(JsonValueKind.Null);
    }

    [Theory]
    [InlineData(2, 2, "Title")]
    [InlineData(2, 3, "Sentence")]
    [InlineData(0, 1, "Sentence")]
    [InlineData(0, 0, "Sentence")]
    public void Auto_takes_titles_when_at_least_half_the_documents_have_one_of_three_words(int titled, int untitled, string expected)
    {
        // Two-word titles ("Barack Obama") do not count: Wikipedia's are names, not queries.
        var corpus = Enumerable.Range(0, titled).Select(i => new CorpusDocument($"t{i}", "a title here", "Text. More text."))
            .Concat(Enumerable.Range(0, untitled).Select(i => new CorpusDocument($"u{i}", i % 2 == 0 ? "" : "Barack Obama", "Text. More text.")))
            .ToList();
        Workflow.Mining.MineStep.Resolve(Workflow.Mining.PseudoQuerySource.Auto, corpus).ToString().Should().Be(expected);
        Workflow.Mining.MineStep.Resolve(Workflow.Mining.PseudoQuerySource.Title, corpus).Should().Be(Workflow.Mining.PseudoQuerySource.Title, "a source named is kept");
    }

    [Theory]
    [InlineData("First sentence here. Second one follows! A third? Yes.", new[] { "First sentence here.", "Second one follows!", "A third?", "Yes." })]
    [InlineData("Levels rose (e.g. in mice) by 20%. Fig. 2 shows it. Results were robust.", new[] { "Levels rose (e.g. in mice) by 20%.", "Fig. 2 shows it.", "Results were robust." })]
    [InlineData("No break at 3.5 mg or at p. the end", new[] { "No break at 3.5 mg or at p. the end" })]
    [InlineData("  Spaces   around.   Keep  inner  spacing.  ", new[] { "Spaces   around.", "Keep  inner  spacing." })]
    [InlineData("", new string[0])]
    [InlineData("As Smith et al. The rule breaks here.", new[] { "As Smith et al.", "The rule breaks here." })]
    [InlineData("Line one ends.\nLine two follows.", new[] { "Line one ends.", "Line two follows." })]
    [InlineData("He said \"stop.\" Then left.", new[] { "He said \"stop.\" Then left." })]
    public void Sentences_break_after_a_full_stop_before_a_capital_only(string text, string[] expected)
        => Workflow.Mining.SentencePseudoQueries.Split(text).Should().Equal(expected);

    [Fact]
    public async Task Bm25_and_a_dense_model_given_together_fuse_by_reciprocal_rank_and_the_positive_is_the_fused_top()
    {
        using var data = new TestData();
        string beir = await data.BeirSliceAsync(queries: 20, documents: 150);
        Directory.Delete(Path.Combine(beir, "qrels"), recursive: true);
        // A small random student (DenseMiningTests' fixture): its ranking differs from BM25's, so the fusion shows.
        string student = data.File("student");
        var tokenizer = HuggingFaceBertTokenizer.FromVocabularyFile(Path.Combine(AppContext.BaseDirectory, "vocab", "bert-base-uncased", "vocab.txt"));
        using (BiEncoderStudent created = DistillStep.CreateStudent(new DistillOptions { MaxLength = 64, Trainer = new() { Seed = 3 } }, tokenizer))
            await created.SaveAsync(student);

        JsonElement result = await MineAsync("--data", beir, "--retriever", "bm25", "--retriever", student, "--output", data.File("fused.jsonl"));

        result.GetProperty("retriever").GetString().Should().Be("bm25+dense");
        result.GetProperty("labels").GetString().Should().Be("none");
        result.GetProperty("pooling").GetString().Should().Be("mean");
        result.GetProperty("fromQueries").GetInt32().Should().Be(20);

        // The check: each ranking's top 8, fused by hand (1/(60 + rank), ties to BM25's order), independently of the miner.
        List<CorpusDocument> corpus = await CorpusAsync(beir);
        var text = corpus.ToDictionary(d => d.Id, d => d.FullText);
        using Bm25Index index = Bm25Index.BuildInMemory(corpus);
        using BiEncoderStudent reference = BiEncoderStudent.FromPretrained(student, new BiEncoderStudentOptions { MaxSequenceLength = 64 });
        float[][] documents = reference.Encode(corpus.Select(d => d.FullText).ToArray(), TextKind.Document);
        List<DistillationExample> mined = await ReadAsync(data.File("fused.jsonl"));
        float[][] queries = reference.Encode(mined.Select(e => e.Query).ToArray(), TextKind.Query);
        int differsFromBm25 = 0;
        for (int q = 0; q < mined.Count; q++)
        {
            string[] bm25 = index.Search(mined[q].Query, 8).Select(d => d.DocumentId).ToArray();
            string[] dense = corpus.Select((d, i) => (d.Id, Score: Cosine(queries[q], documents[i])))
                .OrderByDescending(p => p.Score).Take(8).Select(p => p.Id).ToArray();
            var fused = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (string[] ranking in new[] { bm25, dense })
            {
                for (int r = 0; r < ranking.Length; r++)
                    fused[ranking[r]] = fused.GetValueOrDefault(ranking[r]) + 1.0 / (60 + r + 1);
            }
            string[] order = fused.OrderByDescending(p => p.Value).Select(p => text[p.Key]).ToArray();
            mined[q].Positives.Should().Equal([order[0]], "the positive is the fused list's top candidate");
            mined[q].Negatives.Should().OnlyContain(n => Array.IndexOf(order, n) > 0, "negatives come from the fused top 8");
            if (order[0] != text[bm25[0]])
                differsFromBm25++;
        }
        differsFromBm25.Should().BeGreaterThan(0, "the dense ranking moves some fused tops away from BM25's");
    }

    [Fact]
    public async Task The_documented_label_free_sequence_runs_end_to_end()
    {
        // docs/cli.md, "Label-free distillation (no qrels)", on a slice: only the evaluation reads qrels.
        using var data = new TestData();
        string beir = await data.BeirSliceAsync(queries: 12, documents: 100);
        string qrels = data.File("qrels-aside");
        Directory.Move(Path.Combine(beir, "qrels"), qrels);
        string student = data.File("minilm");
        var tokenizer = HuggingFaceBertTokenizer.FromVocabularyFile(Path.Combine(AppContext.BaseDirectory, "vocab", "bert-base-uncased", "vocab.txt"));
        using (BiEncoderStudent created = DistillStep.CreateStudent(new DistillOptions { MaxLength = 32, Trainer = new() { Seed = 5 } }, tokenizer))
            await created.SaveAsync(student);

        Kd.Result mined = await Kd.RunAsync("mine", "--data", beir, "--labels", "none", "--pseudo-queries", "all",
            "--retriever", "bm25", "--retriever", student, "--negatives", "3", "--max-rank", "10", "--output", data.File("train.jsonl.gz"));
        mined.ExitCode.Should().Be(0, mined.Error);
        Kd.Result scored = await Kd.RunAsync("score", "--teacher", student, "--fuse-bm25", "0.5", "--corpus", beir,
            "--input", data.File("train.jsonl.gz"), "--cache", data.File("minilm.kdscores"), "--output", data.File("scored.jsonl.gz"));
        scored.ExitCode.Should().Be(0, scored.Error);
        Kd.Result distilled = await Kd.RunAsync("distill", "--train", data.File("scored.jsonl.gz"), "--student", student, "--recipe", "kl",
            "--output", data.File("student"), "--max-steps", "2", "--batch-size", "4", "--precision", "float32", "--average-with-start", "0.5");
        distilled.ExitCode.Should().Be(0, distilled.Error);
        distilled.Error.Should().Contain("Weights averaged with the start's (WiSE-FT): 0.5 × trained + 0.5 × start.");
        (await File.ReadAllTextAsync(Path.Combine(data.File("student"), "README.md"))).Should().Contain("0.5 × trained + 0.5 × start");
        Directory.Move(qrels, Path.Combine(beir, "qrels"));
        Kd.Result evaluated = await Kd.RunAsync("evaluate", "--data", beir, "--split", "train", "--model", data.File("student"), "--json");
        evaluated.ExitCode.Should().Be(0, evaluated.Error);
        using JsonDocument json = JsonDocument.Parse(evaluated.Out);
        json.RootElement.GetProperty("queries").GetInt32().Should().Be(12);
    }

    [Theory]
    [InlineData("--labels none --dev-queries 2", "--dev-queries")]
    [InlineData("--labels none --retriever @s1 --retriever @s2", "one bi-encoder")]
    [InlineData("--retriever @s1 --retriever @s2", "one bi-encoder")]
    [InlineData("--labels none --retriever bm25 --retriever bm25", "bm25 is given twice")]
    [InlineData("--labels none --qrels @q.tsv", "--qrels")]
    [InlineData("--labels none --split test", "--split")]
    [InlineData("--labels maybe", "maybe")]
    [InlineData("--labels none --pseudo-queries all --pseudo-query-source headings", "headings")]
    [InlineData("--labels none --pseudo-query-source sentence", "--pseudo-queries")]
    [InlineData("--queries @q.jsonl", "--labels none")]
    public async Task Usage_errors_exit_2_naming_the_option_and_write_nothing(string options, string named)
    {
        using var data = new TestData();
        string beir = await data.BeirSliceAsync(queries: 5, documents: 40);
        string[] extra = options.Split(' ').Select(a => a.StartsWith('@') ? data.File(a[1..]) : a).ToArray();
        Kd.Result r = await Kd.RunAsync(["mine", "--data", beir, "--output", data.File("out.jsonl"), .. extra]);
        r.ExitCode.Should().Be(ExitCodes.Usage, r.Error);
        r.Error.Should().Contain(named);
        File.Exists(data.File("out.jsonl")).Should().BeFalse();
    }

    [Fact]
    public async Task A_corpus_without_queries_and_without_pseudo_queries_exits_3_saying_there_is_nothing_to_mine()
    {
        using var data = new TestData();
        string beir = await data.BeirSliceAsync(queries: 5, documents: 40);
        File.Delete(Path.Combine(beir, "queries.jsonl"));
        Kd.Result r = await Kd.RunAsync("mine", "--data", beir, "--labels", "none", "--output", data.File("out.jsonl"));
        r.ExitCode.Should().Be(ExitCodes.BadInput, r.Error);
        r.Error.Should().Contain("nothing to mine");
        File.Exists(data.File("out.jsonl")).Should().BeFalse();
    }

    private static async Task<List<CorpusDocument>> CorpusAsync(string folder)
    {
        var corpus = new List<CorpusDocument>();
        await foreach (CorpusDocument d in BeirFormat.ReadCorpusAsync(Path.Combine(folder, "corpus.jsonl")))
            corpus.Add(d);
        return corpus;
    }

    private static async Task<List<DistillationExample>> ReadAsync(string path)
    {
        var examples = new List<DistillationExample>();
        await foreach (DistillationExample e in FlagEmbeddingJsonl.ReadAsync(path))
            examples.Add(e);
        return examples;
    }

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += a[i] * (double)b[i];
            na += a[i] * (double)a[i];
            nb += b[i] * (double)b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }
}
