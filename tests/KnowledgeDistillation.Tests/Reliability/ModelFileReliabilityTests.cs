using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using KnowledgeDistillation.Formats;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tests.Models;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Reliability;

/// <summary>
/// Hostile and damaged model files: safetensors headers whose ranges overlap, leave gaps or hostile sizes, torch zip
/// archives that are bombs or declare 4 GiB, a flipped byte anywhere in small files of both formats, and config.json
/// sizes that would allocate gigabytes before the weights are compared.
/// </summary>
public sealed class ModelFileReliabilityTests : IDisposable
{
    private readonly string _dir = BertFixture.NewTempDir();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Overlapping_safetensors_data_offsets_are_refused_naming_both_tensors()
    {
        string path = SafeTensors("overlap", """{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}""", 24);
        FluentActions.Invoking(() => CheckpointFolder.OpenFile(path)).Should().Throw<CheckpointException>()
            .WithMessage($"{path}: tensor \"b\" data_offsets [8, 24] overlap those of tensor \"a\"*");

        // Two tensors on exactly the same bytes alias each other too.
        string same = SafeTensors("alias", """{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "b": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}""", 16);
        FluentActions.Invoking(() => CheckpointFolder.OpenFile(same)).Should().Throw<CheckpointException>().WithMessage("*overlap*");
    }

    [Theory]
    [InlineData("""{"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}""", 16, "*bytes 0..8 of the data section belong to no tensor*")]
    [InlineData("""{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [12, 16]}}""", 16, "*tensor \"b\"*start at 12*\"a\" ends at 8*")]
    [InlineData("""{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}""", 12, "*cover 8 bytes of the data section, but it has 12*")]
    [InlineData("""{"a": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 8]}}""", 8, "*tensor \"a\"*")]
    [InlineData("""{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 8]}}""", 8, "*negative dimension*")]
    [InlineData("""{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 1.5]}}""", 8, "*tensor \"a\"*")]
    [InlineData("""{"a": {"dtype": "X9", "shape": [2], "data_offsets": [0, 8]}}""", 8, "*dtype \"X9\" is not supported*")]
    [InlineData("""{"a": 5}""", 8, "*tensor \"a\": the entry is not an object*")]
    [InlineData("""[1, 2]""", 8, "*must be a JSON object*")]
    public void Hostile_safetensors_headers_are_refused_naming_the_file(string header, int dataBytes, string message)
    {
        string path = SafeTensors("hostile", header, dataBytes);
        FluentActions.Invoking(() => CheckpointFolder.OpenFile(path)).Should().Throw<CheckpointException>().WithMessage(message).Which.FilePath.Should().Be(path);
    }

    [Fact]
    public void A_safetensors_header_length_of_2_to_the_63_is_refused_without_allocating()
    {
        string path = Path.Combine(_dir, "huge-header.safetensors");
        byte[] bytes = new byte[64];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue / 2);
        File.WriteAllBytes(path, bytes);
        FluentActions.Invoking(() => CheckpointFolder.OpenFile(path)).Should().Throw<CheckpointException>().WithMessage("*header length*");
    }

    [Fact]
    public void A_flipped_byte_anywhere_in_a_small_safetensors_file_opens_reads_or_is_refused_cleanly()
    {
        string path = SafeTensors("valid", """{"__metadata__": {"format": "pt"}, "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}, "b": {"dtype": "I64", "shape": [1], "data_offsets": [16, 24]}}""", 24);
        byte[] original = File.ReadAllBytes(path);
        using (CheckpointFolder folder = CheckpointFolder.OpenFile(path))
            folder.Tensors.Should().HaveCount(2, "the unflipped file is valid");
        var unexpected = new List<string>();
        foreach (byte mask in new byte[] { 0x01, 0x80 })
        {
            for (int position = 0; position < original.Length; position++)
            {
                byte[] damaged = (byte[])original.Clone();
                damaged[position] ^= mask;
                File.WriteAllBytes(path, damaged);
                try
                {
                    using CheckpointFolder folder = CheckpointFolder.OpenFile(path);
                    foreach (CheckpointTensorInfo t in folder.Tensors)
                        folder.Read(t.Name).Dispose();
                }
                catch (CheckpointException)
                {
                }
                catch (Exception e)
                {
                    unexpected.Add($"byte {position} ^ {mask:X2}: {e.GetType().Name}: {e.Message}");
                }
            }
        }
        unexpected.Should().BeEmpty();
    }

    [Fact]
    public void A_flipped_byte_anywhere_in_a_small_pytorch_zip_opens_reads_or_is_refused_cleanly()
    {
        string path = Path.Combine(BertFixture.Dir("encoder-gelunew-bin"), CheckpointFolder.PyTorchName);
        byte[] original = File.ReadAllBytes(path);
        string copy = Path.Combine(_dir, "pytorch_model.bin");
        var unexpected = new List<string>();
        // The local header and start of the pickle, the central directory, and a seeded sample of the rest.
        foreach (int position in FuzzPositions.Of(original.Length, budget: 250, seed: 2))
        {
            byte[] damaged = (byte[])original.Clone();
            damaged[position] ^= 0x20;
            File.WriteAllBytes(copy, damaged);
            try
            {
                using CheckpointFolder folder = CheckpointFolder.OpenFile(copy);
                foreach (CheckpointTensorInfo t in folder.Tensors)
                    folder.Read(t.Name).Dispose();
            }
            catch (CheckpointException)
            {
            }
            catch (Exception e)
            {
                unexpected.Add($"byte {position}: {e.GetType().Name}: {e.Message}");
            }
        }
        unexpected.Should().BeEmpty();
    }

    [Fact]
    public void A_pickle_that_inflates_past_the_limit_is_refused_before_it_is_inflated()
    {
        string path = Path.Combine(_dir, "bomb.bin");
        using (ZipArchive zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            using Stream s = zip.CreateEntry("archive/data.pkl", CompressionLevel.SmallestSize).Open();
            var zeros = new byte[1 << 20];
            for (int i = 0; i < 120; i++)
                s.Write(zeros); // 120 MB of zeros deflate to ~120 KB
        }
        new FileInfo(path).Length.Should().BeLessThan(1_000_000);
        FluentActions.Invoking(() => CheckpointFolder.OpenFile(path)).Should().Throw<CheckpointException>()
            .WithMessage($"{path}: archive/data.pkl declares 125829120 bytes uncompressed, above the 100 MB limit*");
    }

    [Fact]
    public void A_zip_entry_declaring_4_GiB_is_a_checkpoint_error_not_an_overflow()
    {
        string path = Path.Combine(_dir, "four-gib.bin");
        using (ZipArchive zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            using Stream s = zip.CreateEntry("archive/data.pkl", CompressionLevel.NoCompression).Open();
            s.Write([0x80, 0x02, 0x7D, 0x2E]); // PROTO 2, EMPTY_DICT, STOP
        }
        // Patch the uncompressed size in the local header (offset 22) and the central directory entry (offset 24).
        byte[] bytes = File.ReadAllBytes(path);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(22), 0xFFFF_FFF0);
        int central = IndexOf(bytes, [0x50, 0x4B, 0x01, 0x02]);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(central + 24), 0xFFFF_FFF0);
        File.WriteAllBytes(path, bytes);

        FluentActions.Invoking(() => CheckpointFolder.OpenFile(path)).Should().Throw<CheckpointException>().Which.FilePath.Should().Be(path);
    }

    [Fact]
    public void A_hostile_vocab_size_is_refused_before_the_model_is_allocated()
    {
        string dir = BertFixture.CopyToTemp("encoder-relu");
        try
        {
            EditConfig(dir, c => c["vocab_size"] = 20_000_000);
            FluentActions.Invoking(() => BertModel.FromPretrained(dir)).Should().Throw<CheckpointException>()
                .WithMessage("*so the model was not built*vocab_size and hidden_size make embeddings.word_embeddings.weight [20000000, 16]*[2164, 16]*");

            EditConfig(dir, c => { c["vocab_size"] = 2164; c["num_hidden_layers"] = 100_000; });
            FluentActions.Invoking(() => BertModel.FromPretrained(dir)).Should().Throw<CheckpointException>()
                .WithMessage("*so the model was not built*num_hidden_layers is 100000 but the checkpoint has 1 layer(s)*");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_cross_encoder_whose_vocabulary_exceeds_its_embeddings_is_a_checkpoint_error_naming_the_folder()
    {
        string dir = BertFixture.CopyToTemp("crossencoder-gelu");
        try
        {
            string vocab = Path.Combine(dir, "vocab.txt");
            File.AppendAllLines(vocab, Enumerable.Range(0, 50).Select(i => $"extra{i}"));
            CheckpointException e = FluentActions.Invoking(() => CrossEncoderTeacher.FromPretrained(dir)).Should().Throw<CheckpointException>().Which;
            e.FilePath.Should().Be(dir);
            e.Message.Should().Contain("vocab_size");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_cross_encoder_whose_model_max_length_cannot_hold_a_pair_is_refused_at_load_not_at_first_score()
    {
        // It loaded, and every ScoreAsync threw ArgumentOutOfRangeException from the tokenizer.
        string dir = BertFixture.CopyToTemp("crossencoder-gelu");
        try
        {
            string settings = Path.Combine(dir, "tokenizer_config.json");
            JsonObject config = JsonNode.Parse(File.ReadAllText(settings))!.AsObject();
            config["model_max_length"] = 2;
            File.WriteAllText(settings, config.ToJsonString());
            foreach (Func<CrossEncoderTeacher> load in new Func<CrossEncoderTeacher>[] { () => CrossEncoderTeacher.FromPretrained(dir), () => CrossEncoderTeacher.FromEncoder(dir) })
            {
                CheckpointException e = FluentActions.Invoking(load).Should().Throw<CheckpointException>().Which;
                e.FilePath.Should().Be(dir);
                e.Message.Should().Contain("model_max_length").And.Contain("three special tokens");
            }
            // An explicit MaxLength still overrides the file's.
            using CrossEncoderTeacher teacher = CrossEncoderTeacher.FromPretrained(dir, new CrossEncoderTeacherOptions { MaxLength = 16 });
            teacher.MaxLength.Should().Be(16);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_cross_encoder_started_from_an_encoder_whose_vocabulary_exceeds_its_embeddings_is_a_checkpoint_error()
    {
        // FromEncoder let the constructor's ArgumentException through, where FromPretrained names the folder.
        string dir = BertFixture.CopyToTemp("encoder-relu");
        try
        {
            File.AppendAllLines(Path.Combine(dir, "vocab.txt"), Enumerable.Range(0, 50).Select(i => $"extra{i}"));
            CheckpointException e = FluentActions.Invoking(() => CrossEncoderTeacher.FromEncoder(dir)).Should().Throw<CheckpointException>().Which;
            e.FilePath.Should().Be(dir);
            e.Message.Should().Contain("vocab_size");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private string SafeTensors(string name, string header, int dataBytes)
    {
        string path = Path.Combine(_dir, name + ".safetensors");
        byte[] json = Encoding.UTF8.GetBytes(header);
        byte[] bytes = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        for (int i = 0; i < dataBytes; i++)
            bytes[8 + json.Length + i] = (byte)(i * 7);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static void EditConfig(string dir, Action<JsonObject> edit)
    {
        string path = Path.Combine(dir, "config.json");
        JsonObject config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(config);
        File.WriteAllText(path, config.ToJsonString());
    }

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
        {
            if (haystack.AsSpan(i, needle.Length).SequenceEqual(needle))
                return i;
        }
        throw new InvalidOperationException("not found");
    }
}
