using KnowledgeDistillation.Data;
using KnowledgeDistillation.Tests.Data;

namespace KnowledgeDistillation.Tests.Reliability;

/// <summary>
/// Every reader of every data format, plain and gzip, with each byte flipped (two masks) and the file cut at every
/// byte: the read either completes or throws <see cref="DataFormatException"/> naming the file. For gzip files a
/// completed read must also return exactly the original records (the trailer check), and a cut file never completes.
/// </summary>
public class DataReaderFuzzTests
{
    private static readonly CorpusDocument[] s_documents = [new("d1", "Cats", "Cats sit on mats."), new("d2", "", "Dogs \"bark\"\tloud."), new("d3", "Café", "Ünïcödé text.")];
    private static readonly QueryRecord[] s_queries = [new("q1", "what do cats do"), new("q2", "dogs")];

    public static TheoryData<string, bool> Formats => new()
    {
        { "beir-corpus", false }, { "beir-corpus", true }, { "beir-queries", false }, { "beir-queries", true },
        { "beir-qrels", false }, { "beir-qrels", true }, { "msmarco-collection", false }, { "msmarco-collection", true },
        { "msmarco-queries", false }, { "msmarco-qrels", false }, { "msmarco-qrels", true }, { "msmarco-triples", false },
        { "msmarco-triples", true },
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task Flipped_or_cut_files_read_in_full_or_throw_a_data_format_error(string format, bool gzip)
    {
        using var temp = new TempFolder();
        string path = temp.File(format + (gzip ? ".gz" : ".txt"));
        await WriteAsync(format, path);
        byte[] original = File.ReadAllBytes(path);
        List<string> expected = await ReadAsync(format, path);
        expected.Should().NotBeEmpty();

        var problems = new List<string>();
        async Task Check(byte[] damaged, string what, bool mustFail)
        {
            File.WriteAllBytes(path, damaged);
            try
            {
                List<string> read = await ReadAsync(format, path);
                if (mustFail)
                    problems.Add($"{what}: read {read.Count} record(s) without an error");
                else if (gzip && !read.SequenceEqual(expected))
                    problems.Add($"{what}: different records without an error");
            }
            catch (DataFormatException e) when (e.FilePath == path)
            {
            }
            catch (Exception e)
            {
                problems.Add($"{what}: {e.GetType().Name}: {e.Message}");
            }
        }

        foreach (byte mask in new byte[] { 0x01, 0x80 })
        {
            for (int position = 0; position < original.Length; position++)
            {
                byte[] damaged = (byte[])original.Clone();
                damaged[position] ^= mask;
                await Check(damaged, $"byte {position} ^ {mask:X2}", mustFail: false);
            }
        }
        for (int cut = gzip ? 2 : 0; cut < original.Length; cut++)
            await Check(original[..cut], $"cut at {cut}", mustFail: gzip);
        problems.Should().BeEmpty();
    }

    private static Task WriteAsync(string format, string path)
    {
        var qrels = new RelevanceJudgments();
        qrels.Add("q1", "d1", 1);
        qrels.Add("q2", "d2", 2);
        return format switch
        {
            "beir-corpus" => BeirFormat.WriteCorpusAsync(path, s_documents),
            "beir-queries" => BeirFormat.WriteQueriesAsync(path, s_queries),
            "beir-qrels" => BeirFormat.WriteQrelsAsync(path, qrels),
            "msmarco-collection" => MsMarcoFormat.WriteCollectionAsync(path, s_documents.Select(d => new CorpusDocument(d.Id, "", d.Text.Replace('\t', ' ')))),
            "msmarco-queries" => MsMarcoFormat.WriteQueriesAsync(path, s_queries),
            "msmarco-qrels" => MsMarcoFormat.WriteQrelsAsync(path, qrels),
            _ => MsMarcoFormat.WriteTriplesAsync(path, [new IdTriple("q1", "d1", "d2"), new IdTriple("q2", "d2", "d3")]),
        };
    }

    private static async Task<List<string>> ReadAsync(string format, string path)
    {
        var records = new List<string>();
        switch (format)
        {
            case "beir-corpus":
                await foreach (CorpusDocument d in BeirFormat.ReadCorpusAsync(path))
                    records.Add($"{d.Id}|{d.Title}|{d.Text}");
                break;
            case "beir-queries":
                await foreach (QueryRecord q in BeirFormat.ReadQueriesAsync(path))
                    records.Add($"{q.Id}|{q.Text}");
                break;
            case "beir-qrels":
                records.Add(Describe(await BeirFormat.ReadQrelsAsync(path)));
                break;
            case "msmarco-collection":
                await foreach (CorpusDocument d in MsMarcoFormat.ReadCollectionAsync(path))
                    records.Add($"{d.Id}|{d.Text}");
                break;
            case "msmarco-queries":
                await foreach (QueryRecord q in MsMarcoFormat.ReadQueriesAsync(path))
                    records.Add($"{q.Id}|{q.Text}");
                break;
            case "msmarco-qrels":
                records.Add(Describe(await MsMarcoFormat.ReadQrelsAsync(path)));
                break;
            default:
                await foreach (IdTriple t in MsMarcoFormat.ReadTriplesAsync(path))
                    records.Add(t.ToString());
                break;
        }
        return records;
    }

    private static string Describe(RelevanceJudgments judgments)
        => string.Join(";", judgments.QueryIds.Order(StringComparer.Ordinal).Select(q => q + ":" + string.Join(",", judgments.For(q).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"))));
}
