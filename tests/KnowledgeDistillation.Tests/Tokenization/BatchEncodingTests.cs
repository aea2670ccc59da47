using System.Text.Json;
using KnowledgeDistillation.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Tokenization;

public class BatchEncodingTests
{
    [Theory]
    [InlineData("encoder-gelunew")]
    [InlineData("crossencoder-gelu")]
    public void A_model_folder_batch_of_texts_equals_the_reference_padded_batch(string folder)
    {
        using JsonDocument expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(TokenizationFixtures.BertFixture(folder), "expected.json")));
        JsonElement root = expected.RootElement;
        HuggingFaceBertTokenizer tokenizer = HuggingFaceBertTokenizer.FromFolder(TokenizationFixtures.BertFixture(folder));
        tokenizer.Options.ModelMaxLength.Should().Be(root.GetProperty("max_length").GetInt32());
        string[] texts = root.GetProperty("texts").EnumerateArray().Select(t => t.GetProperty("text").GetString()!).ToArray();

        // No max length: the folder's model_max_length applies (one fixture text is longer than it).
        BertBatchEncoding batch = tokenizer.EncodeBatch(texts);

        AssertBatch(batch, root.GetProperty("batched"));
        for (int i = 0; i < texts.Length; i++)
            tokenizer.Encode(texts[i]).InputIds.Should().Equal(TokenizationFixtures.Ints(root.GetProperty("texts")[i].GetProperty("input_ids")));
    }

    [Fact]
    public void A_cross_encoder_batch_of_pairs_equals_the_reference_padded_batch_including_an_empty_document()
    {
        using JsonDocument expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(TokenizationFixtures.BertFixture("crossencoder-gelu"), "expected.json")));
        JsonElement root = expected.RootElement;
        HuggingFaceBertTokenizer tokenizer = HuggingFaceBertTokenizer.FromFolder(TokenizationFixtures.BertFixture("crossencoder-gelu"));
        JsonElement[] pairs = root.GetProperty("pairs").EnumerateArray().ToArray();
        QueryDocumentPair[] queryDocumentPairs = pairs.Select(p => new QueryDocumentPair(p.GetProperty("query").GetString()!, p.GetProperty("document").GetString()!)).ToArray();
        queryDocumentPairs.Should().Contain(p => p.Document.Length == 0, "the fixture has an empty document");

        BertBatchEncoding batch = tokenizer.EncodeBatch(queryDocumentPairs);
        BertBatchEncoding fromLists = tokenizer.EncodeBatch(queryDocumentPairs.Select(p => p.Query).ToArray(), queryDocumentPairs.Select(p => p.Document).ToArray());

        AssertBatch(batch, root.GetProperty("batched_pairs"));
        fromLists.InputIds.Should().Equal(batch.InputIds);
        fromLists.TokenTypeIds.ToArray().Should().Equal(batch.TokenTypeIds.ToArray());
        for (int i = 0; i < pairs.Length; i++)
        {
            BertEncoding single = tokenizer.Encode(queryDocumentPairs[i].Query, queryDocumentPairs[i].Document);
            single.InputIds.Should().Equal(TokenizationFixtures.Ints(pairs[i].GetProperty("input_ids")));
            single.TokenTypeIds.Should().Equal(TokenizationFixtures.Ints(pairs[i].GetProperty("token_type_ids")));
        }
    }

    [Fact]
    public void Rows_are_padded_on_the_right_with_the_pad_id_mask_zero_and_type_zero()
    {
        HuggingFaceBertTokenizer tokenizer = TokenizationFixtures.Uncased;
        string[] queries = ["what is dna", "", "a much longer question about proteins"];
        string[] documents = ["dna is a molecule", "x", ""];
        BertBatchEncoding batch = tokenizer.EncodeBatch(queries, documents, maxLength: 10);

        batch.BatchSize.Should().Be(3);
        batch.SequenceLength.Should().Be(10);
        for (int row = 0; row < 3; row++)
        {
            BertEncoding single = tokenizer.Encode(queries[row], documents[row], maxLength: 10);
            int length = single.Length;
            batch.GetLength(row).Should().Be(length);
            batch.GetInputIds(row).ToArray().Should().Equal(single.InputIds.Select(i => (long)i));
            ReadOnlySpan<long> ids = batch.InputIds.AsSpan(row * 10, 10);
            ReadOnlySpan<long> mask = batch.AttentionMask.Slice(row * 10, 10);
            ReadOnlySpan<long> types = batch.TokenTypeIds.Slice(row * 10, 10);
            for (int t = 0; t < 10; t++)
            {
                mask[t].Should().Be(t < length ? 1 : 0);
                if (t >= length)
                {
                    ids[t].Should().Be(tokenizer.PadTokenId);
                    types[t].Should().Be(0);
                }
                else
                {
                    types[t].Should().Be(single.TokenTypeIds[t]);
                }
            }
        }

        // Row 1: an empty query still has its [SEP]; row 2: an empty document makes [CLS] q [SEP] [SEP].
        batch.GetInputIds(1).ToArray().Should().Equal(101, 102, 1060, 102);
        batch.TokenTypeIds.Slice(10, 4).ToArray().Should().Equal(0, 0, 1, 1);
        batch.GetInputIds(2).ToArray()[^2..].Should().Equal(102, 102);
    }

    [Fact]
    public void Parallel_tokenization_of_a_large_batch_equals_sequential()
    {
        var documents = TokenizationFixtures.ReadRows("scifact_corpus_uncased.jsonl.gz").Take(400).Select(r => r.GetProperty("text").GetString()!).ToArray();
        var queries = TokenizationFixtures.ReadRows("scifact_queries_uncased.jsonl.gz").Take(400).Select(r => r.GetProperty("text").GetString()!).ToArray();
        HuggingFaceBertTokenizer sequential = TokenizationFixtures.Create(lowerCase: true, stripAccents: null);
        HuggingFaceBertTokenizer parallel = TokenizationFixtures.Create(lowerCase: true, stripAccents: null);
        sequential.ParallelThreshold = int.MaxValue;
        parallel.ParallelThreshold = 1;

        foreach (int? maxLength in new int?[] { 64, null })
        {
            BertBatchEncoding a = sequential.EncodeBatch(queries, documents, maxLength);
            BertBatchEncoding b = parallel.EncodeBatch(queries, documents, maxLength);
            b.SequenceLength.Should().Be(a.SequenceLength);
            b.InputIds.Should().Equal(a.InputIds);
            b.AttentionMask.ToArray().Should().Equal(a.AttentionMask.ToArray());
            b.TokenTypeIds.ToArray().Should().Equal(a.TokenTypeIds.ToArray());

            BertBatchEncoding singlesA = sequential.EncodeBatch(documents, maxLength);
            BertBatchEncoding singlesB = parallel.EncodeBatch(documents, maxLength);
            singlesB.InputIds.Should().Equal(singlesA.InputIds);
        }

        sequential.EncodeBatch(documents).SequenceLength.Should().Be(512, "without a max length the model maximum (512) truncates SciFact's longest documents");
    }

    [Fact]
    public void ToTensors_creates_int64_tensors_of_shape_batch_by_sequence_with_the_same_values()
    {
        BertBatchEncoding batch = TokenizationFixtures.Uncased.EncodeBatch(["query one", "q"], ["a document", "another, longer document here"]);
        using var scope = NewDisposeScope();
        (Tensor ids, Tensor mask, Tensor types) = batch.ToTensors(CPU);

        foreach (Tensor t in new[] { ids, mask, types })
        {
            t.dtype.Should().Be(ScalarType.Int64);
            t.shape.Should().Equal(2, batch.SequenceLength);
            t.device_type.Should().Be(DeviceType.CPU);
        }

        ids.data<long>().ToArray().Should().Equal(batch.InputIds);
        mask.data<long>().ToArray().Should().Equal(batch.AttentionMask.ToArray());
        types.data<long>().ToArray().Should().Equal(batch.TokenTypeIds.ToArray());
    }

    [Fact]
    public void An_empty_batch_has_no_rows_and_bad_batches_are_rejected()
    {
        BertBatchEncoding empty = TokenizationFixtures.Uncased.EncodeBatch(Array.Empty<string>());
        empty.BatchSize.Should().Be(0);
        empty.SequenceLength.Should().Be(0);

        FluentActions.Invoking(() => TokenizationFixtures.Uncased.EncodeBatch(["a", "b"], ["c"]))
            .Should().Throw<ArgumentException>().WithMessage("*2 first texts but 1 second texts*");
        FluentActions.Invoking(() => TokenizationFixtures.Uncased.EncodeBatch(["a", null!]))
            .Should().Throw<ArgumentException>().WithMessage("Text 1 is null*");
        FluentActions.Invoking(() => new BertBatchEncoding(new long[6], new long[6], new long[5], 2, 3))
            .Should().Throw<ArgumentException>().WithMessage("tokenTypeIds has 5 values but the shape [2, 3] needs 6*");
    }

    private static void AssertBatch(BertBatchEncoding batch, JsonElement expected)
    {
        long[][] Rows(string key) => expected.GetProperty(key).EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray();
        long[][] ids = Rows("input_ids");
        batch.BatchSize.Should().Be(ids.Length);
        batch.SequenceLength.Should().Be(ids[0].Length);
        batch.InputIds.Should().Equal(ids.SelectMany(r => r));
        batch.AttentionMask.ToArray().Should().Equal(Rows("attention_mask").SelectMany(r => r));
        batch.TokenTypeIds.ToArray().Should().Equal(Rows("token_type_ids").SelectMany(r => r));
    }
}
