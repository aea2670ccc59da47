using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tests.Reliability;
using KnowledgeDistillation.Tokenization;
using Xunit.Abstractions;

namespace KnowledgeDistillation.Tests.Models;

/// <summary>
/// Seeded mutants of tiny model folders saved by the library itself (a sentence-transformers bi-encoder and a Hugging
/// Face cross-encoder: 2 layers, width 8), loaded as users load them (<see cref="BiEncoderStudent.FromPretrained"/>,
/// <see cref="CrossEncoderTeacher.FromPretrained"/>). Each mutant must load (and embed or score a text) or fail with a
/// <see cref="CheckpointException"/> or <see cref="TokenizerFileException"/> that names a file, or a
/// <see cref="FileNotFoundException"/> for a deleted one, within a time limit: never an IndexOutOfRange, Overflow,
/// NullReference, InvalidCast, KeyNotFound, JsonException, OutOfMemory, native crash or hang. Mutations: the safetensors
/// header length, bytes, dtypes, shapes, data_offsets, duplicate, missing and renamed tensors, <c>__metadata__</c>, a
/// truncated or extended data section; <c>config.json</c> keys removed, retyped or out of range and invalid JSON;
/// <c>vocab.txt</c> empty, without a special token, with duplicates or invalid UTF-8; odd tokenizer settings; and the
/// sentence-transformers files (<c>modules.json</c>, <c>sentence_bert_config.json</c>, <c>1_Pooling/config.json</c>,
/// <c>config_sentence_transformers.json</c>). A failure names the seed and the mutation, so it can be replayed alone.
/// </summary>
public sealed class CheckpointFolderFuzzTests(ITestOutputHelper output) : IDisposable
{
    private const int Mutants = 600;

    // Far above a normal load (tens of milliseconds) so a slow CI machine does not fail it, far below a test timeout.
    private static readonly TimeSpan s_perMutantTimeout = TimeSpan.FromSeconds(20);

    private static readonly string[] s_vocabulary =
    [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "a", "cat", "dog", "sat", "on", "mat", "how", "do", "cats", "purr",
        "##s", "##ing", "##ed", "run", "fast", "slow", "is", "it", ".", ",", "?", "what", "where", "who",
    ];

    private readonly string _dir = BertFixture.NewTempDir();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Mutant => Path.Combine(_dir, "mutant");

    private enum Kind
    {
        BiEncoder,
        CrossEncoder,
    }

    private delegate string Mutation(Random random, string folder, Kind kind);

    private static readonly (string Name, Mutation Apply, bool SentenceTransformers)[] s_mutations =
    [
        ("safetensors header length", HeaderLength, false),
        ("safetensors header bytes", HeaderBytes, false),
        ("safetensors dtype", DType, false),
        ("safetensors shape", Shape, false),
        ("safetensors data_offsets", DataOffsets, false),
        ("safetensors tensor names", TensorNames, false),
        ("safetensors __metadata__", Metadata, false),
        ("safetensors data section", DataSection, false),
        ("config.json key", ConfigKey, false),
        ("config.json text", ConfigText, false),
        ("vocab.txt", Vocabulary, false),
        ("tokenizer settings", TokenizerSettings, false),
        ("deleted file", DeleteFile, false),
        ("modules.json", Modules, true),
        ("sentence_bert_config.json", SentenceBertConfig, true),
        ("1_Pooling/config.json", Pooling, true),
        ("config_sentence_transformers.json", SentenceTransformersConfig, true),
    ];

    [Fact]
    public async Task Every_mutant_loads_or_fails_with_a_typed_exception_naming_a_file()
    {
        string biEncoder = Path.Combine(_dir, "bi-encoder"), crossEncoder = Path.Combine(_dir, "cross-encoder");
        await SaveAsync(biEncoder, crossEncoder);
        foreach ((string folder, Kind kind) in new[] { (biEncoder, Kind.BiEncoder), (crossEncoder, Kind.CrossEncoder) })
        {
            Copy(folder, Mutant);
            (await LoadAsync(kind)).Should().Be(Outcome.Loaded, $"the unmutated {kind} folder loads");
        }

        var ledger = new MutantLedger(s_perMutantTimeout, ex => Problem(ex) ?? "not a documented exception");
        for (int seed = 0; seed < Mutants; seed++)
        {
            (string name, Mutation apply, bool sentenceTransformers) = s_mutations[seed % s_mutations.Length];
            // The folder-independent mutations alternate between the two kinds of folder.
            Kind kind = sentenceTransformers || seed / s_mutations.Length % 2 == 0 ? Kind.BiEncoder : Kind.CrossEncoder;
            Copy(kind == Kind.BiEncoder ? biEncoder : crossEncoder, Mutant);
            string description = $"seed {seed}, {kind} {name}: {apply(new Random(seed), Mutant, kind)}";
            if (!await ledger.RunAsync(description, async () => (await LoadAsync(kind)).ToString()))
                break;
        }
        ledger.Verify(output, "Checkpoint folders", "loads or is refused with a located, typed exception");
    }

    private enum Outcome
    {
        Loaded,
        Refused,
    }

    // A documented exception that names its file is a refusal, anything else propagates to the ledger. A loaded model
    // must also run, so a configuration accepted at load cannot fail only at first use.
    private async Task<Outcome> LoadAsync(Kind kind)
    {
        try
        {
            if (kind == Kind.BiEncoder)
            {
                using BiEncoderStudent student = BiEncoderStudent.FromPretrained(Mutant);
                student.Encode(["how do cats purr?"], TextKind.Query).Should().ContainSingle();
            }
            else
            {
                using CrossEncoderTeacher teacher = CrossEncoderTeacher.FromPretrained(Mutant);
                (await teacher.ScoreAsync([new QueryDocumentPair("how do cats purr?", "the cat sat on the mat.")])).Should().ContainSingle();
            }
            return Outcome.Loaded;
        }
        catch (Exception ex) when (Problem(ex) is null)
        {
            return Outcome.Refused;
        }
    }

    // What a refusal lacks: a documented type, a message, and the file it is about (named in the message too).
    private static string? Problem(Exception ex)
    {
        string? file = ex switch
        {
            CheckpointException c => c.FilePath,
            TokenizerFileException t => t.FilePath,
            FileNotFoundException f => f.FileName,
            _ => null,
        };
        if (ex is not (CheckpointException or TokenizerFileException or FileNotFoundException))
            return "not a documented exception";
        if (string.IsNullOrWhiteSpace(ex.Message))
            return "empty message";
        if (file is null)
            return "no file path";
        if (!ex.Message.Contains(Path.GetFileName(Path.TrimEndingDirectorySeparator(file)), StringComparison.Ordinal))
            return "the message does not name the file";
        return null;
    }

    private static async Task SaveAsync(string biEncoder, string crossEncoder)
    {
        HuggingFaceBertTokenizer tokenizer = HuggingFaceBertTokenizer.FromVocabulary(s_vocabulary);
        var config = new BertConfig(vocabSize: s_vocabulary.Length, hiddenSize: 8, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 16, maxPositionEmbeddings: 32);
        using (BiEncoderStudent student = BiEncoderStudent.Create(config, tokenizer, new BiEncoderStudentOptions { Normalize = true, QueryPrefix = "query: " }, seed: 1))
            await student.SaveAsync(biEncoder);
        using var teacher = new CrossEncoderTeacher(BertForSequenceClassification.Create(config.WithNumLabels(1), seed: 2), tokenizer);
        await teacher.SaveAsync(crossEncoder);
    }

    private static void Copy(string source, string target)
    {
        if (Directory.Exists(target))
            Directory.Delete(target, recursive: true);
        foreach (string dir in Directory.GetDirectories(source, "*", SearchOption.AllDirectories).Prepend(source))
            Directory.CreateDirectory(Path.Combine(target, Path.GetRelativePath(source, dir)));
        foreach (string file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(target, Path.GetRelativePath(source, file)));
    }

    private static T Pick<T>(Random random, IReadOnlyList<T> values) => values[random.Next(values.Count)];

    // ---- safetensors ----

    private static string WeightsPath(string folder) => Path.Combine(folder, CheckpointFolder.SafeTensorsName);

    // The header as JSON and the data section of model.safetensors.
    private static (JsonObject Header, byte[] Data) ReadSafeTensors(string folder)
    {
        byte[] bytes = File.ReadAllBytes(WeightsPath(folder));
        int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        return (JsonNode.Parse(bytes.AsSpan(8, length))!.AsObject(), bytes[(8 + length)..]);
    }

    private static void WriteSafeTensors(string folder, string header, byte[] data)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        byte[] prefix = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)json.Length);
        File.WriteAllBytes(WeightsPath(folder), [.. prefix, .. json, .. data]);
    }

    // Edits one tensor entry of the header (mostly a weight, sometimes a bias or LayerNorm vector).
    private static string EditEntry(Random random, string folder, Func<string, JsonObject, string> edit)
    {
        (JsonObject header, byte[] data) = ReadSafeTensors(folder);
        string[] names = header.Select(p => p.Key).Where(k => k != "__metadata__").ToArray();
        string name = Pick(random, names);
        string what = edit(name, header[name]!.AsObject());
        WriteSafeTensors(folder, header.ToJsonString(), data);
        return $"tensor \"{name}\": {what}";
    }

    private static string HeaderLength(Random random, string folder, Kind kind)
    {
        string path = WeightsPath(folder);
        byte[] bytes = File.ReadAllBytes(path);
        ulong original = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        ulong[] lengths =
        [
            0, 1, 2, original - 1, original + 1, (ulong)bytes.Length - 8, (ulong)bytes.Length - 7, (ulong)bytes.Length, int.MaxValue,
            (ulong)int.MaxValue + 1, uint.MaxValue, long.MaxValue, (ulong)long.MaxValue + 1, ulong.MaxValue, 100_000_001,
        ];
        ulong length = Pick(random, lengths);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, length);
        // Sometimes the file is cut inside the 8-byte prefix instead.
        if (random.Next(8) == 0)
        {
            int at = random.Next(0, 8);
            File.WriteAllBytes(path, bytes[..at]);
            return $"file cut to {at} bytes";
        }
        File.WriteAllBytes(path, bytes);
        return $"header length {original} set to {length}";
    }

    private static string HeaderBytes(Random random, string folder, Kind kind)
    {
        string path = WeightsPath(folder);
        byte[] bytes = File.ReadAllBytes(path);
        int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var offsets = new List<int>();
        if (random.Next(2) == 0)
        {
            int count = random.Next(1, 5);
            for (int i = 0; i < count; i++)
            {
                int offset = 8 + random.Next(length);
                bytes[offset] ^= (byte)(1 << random.Next(8));
                offsets.Add(offset);
            }
            File.WriteAllBytes(path, bytes);
            return $"flipped a bit at {string.Join(", ", offsets)}";
        }
        // A structural character, a digit or a byte that is not UTF-8, over one byte of the header.
        byte[] replacements = "{}[]\",:0-9e.\\ "u8.ToArray().Concat(new byte[] { 0x00, 0x80, 0xC0, 0xED, 0xFF }).ToArray();
        int at = 8 + random.Next(length);
        byte replacement = Pick(random, replacements);
        bytes[at] = replacement;
        File.WriteAllBytes(path, bytes);
        return $"header byte {at} set to 0x{replacement:X2}";
    }

    private static string DType(Random random, string folder, Kind kind) => EditEntry(random, folder, (_, entry) =>
    {
        JsonNode?[] values = ["F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL", "F8_E4M3", "X9", "", "f32", "F32 ", 5, null, new JsonArray("F32"), new JsonObject()];
        JsonNode? value = Pick(random, values)?.DeepClone();
        if (random.Next(8) == 0)
        {
            entry.Remove("dtype");
            return "dtype removed";
        }
        entry["dtype"] = value;
        return $"dtype {value?.ToJsonString() ?? "null"}";
    });

    private static string Shape(Random random, string folder, Kind kind) => EditEntry(random, folder, (_, entry) =>
    {
        JsonArray shape = entry["shape"]!.AsArray();
        string before = shape.ToJsonString();
        switch (random.Next(6))
        {
            case 0:
            {
                // One dimension.
                JsonNode[] values = [-1, 0, 1, 2, 3, long.MaxValue, long.MinValue, int.MaxValue, 1L << 32, 1L << 62, 1.5, "8", 1e30, true];
                int i = random.Next(shape.Count);
                shape[i] = Pick(random, values).DeepClone();
                break;
            }
            case 1:
                // Dimensions whose product overflows a long, or wraps to the stored byte count.
                entry["shape"] = Pick(random, new[] { new JsonArray(1L << 32, 1L << 32), new JsonArray(1L << 62, 4), new JsonArray(-2, -4), new JsonArray(long.MaxValue, long.MaxValue, 2), new JsonArray((1L << 62) + 2) });
                break;
            case 2:
                // The same element count in another shape.
                entry["shape"] = new JsonArray([.. shape.Reverse().Select(d => d!.DeepClone())]);
                break;
            case 3:
                shape.Add(1);
                break;
            case 4:
                entry["shape"] = new JsonArray();
                break;
            default:
                entry["shape"] = Pick(random, new JsonNode?[] { null, 8, "[8]", new JsonObject() })?.DeepClone();
                break;
        }
        return $"shape {before} -> {entry["shape"]?.ToJsonString() ?? "null"}";
    });

    private static string DataOffsets(Random random, string folder, Kind kind) => EditEntry(random, folder, (_, entry) =>
    {
        JsonArray offsets = entry["data_offsets"]!.AsArray();
        long begin = offsets[0]!.GetValue<long>(), end = offsets[1]!.GetValue<long>();
        JsonNode? value = random.Next(11) switch
        {
            0 => new JsonArray(end, begin),
            1 => new JsonArray(begin - 4, end - 4),
            2 => new JsonArray(begin, end + 1_000_000),
            3 => new JsonArray(begin + 1_000_000, end + 1_000_000),
            4 => new JsonArray(-4, end),
            5 => new JsonArray(begin, begin),
            6 => new JsonArray(begin, end, end),
            7 => new JsonArray(begin),
            8 => new JsonArray(long.MaxValue - 3, long.MaxValue),
            9 => new JsonArray(begin.ToString(System.Globalization.CultureInfo.InvariantCulture), end),
            _ => null,
        };
        entry["data_offsets"] = value;
        return $"data_offsets [{begin}, {end}] -> {value?.ToJsonString() ?? "null"}";
    });

    private static string TensorNames(Random random, string folder, Kind kind)
    {
        (JsonObject header, byte[] data) = ReadSafeTensors(folder);
        string[] names = header.Select(p => p.Key).Where(k => k != "__metadata__").ToArray();
        string name = Pick(random, names);
        switch (random.Next(5))
        {
            case 0:
            {
                // The same key twice in the JSON text (a JsonObject cannot hold that).
                string text = header.ToJsonString();
                string duplicate = $"\"{name}\":{header[name]!.ToJsonString()},";
                WriteSafeTensors(folder, "{" + duplicate + text[1..], data);
                return $"\"{name}\" appears twice";
            }
            case 1:
                header.Remove(name);
                WriteSafeTensors(folder, header.ToJsonString(), data);
                return $"\"{name}\" removed, its bytes left";
            case 2:
            {
                // Removed with its bytes, the later offsets shifted: a clean file without the tensor.
                JsonArray offsets = header[name]!["data_offsets"]!.AsArray();
                long begin = offsets[0]!.GetValue<long>(), end = offsets[1]!.GetValue<long>();
                header.Remove(name);
                foreach ((string _, JsonNode? e) in header.Where(p => p.Key != "__metadata__").ToArray())
                {
                    JsonArray o = e!["data_offsets"]!.AsArray();
                    long b = o[0]!.GetValue<long>(), f = o[1]!.GetValue<long>();
                    if (b >= end)
                        e["data_offsets"] = new JsonArray(b - (end - begin), f - (end - begin));
                }
                WriteSafeTensors(folder, header.ToJsonString(), [.. data.AsSpan(0, (int)begin), .. data.AsSpan((int)end)]);
                return $"\"{name}\" removed with its bytes";
            }
            case 3:
            {
                string[] renames = ["", "x", name + ".extra", name.Replace("layer.1", "layer.7", StringComparison.Ordinal), name.Replace("layer.0", "layer.-1", StringComparison.Ordinal), "encoder.layer.99999999999.output.dense.bias", "cls.predictions.bias", "bert." + name, "\u0663", "embeddings.position_ids"];
                string rename = Pick(random, renames);
                JsonNode entry = header[name]!;
                header.Remove(name);
                if (!header.ContainsKey(rename))
                    header[rename] = entry;
                WriteSafeTensors(folder, header.ToJsonString(), data);
                return $"\"{name}\" renamed \"{rename}\"";
            }
            default:
            {
                // Two tensors' entries swapped: same layout, names on the other's bytes.
                string other = Pick(random, names);
                JsonNode a = header[name]!.DeepClone(), b = header[other]!.DeepClone();
                header[name] = b;
                header[other] = a;
                WriteSafeTensors(folder, header.ToJsonString(), data);
                return $"entries of \"{name}\" and \"{other}\" swapped";
            }
        }
    }

    private static string Metadata(Random random, string folder, Kind kind)
    {
        (JsonObject header, byte[] data) = ReadSafeTensors(folder);
        JsonNode?[] values =
        [
            null, 5, "pt", new JsonArray(1, 2), new JsonObject { ["format"] = 5 }, new JsonObject { ["format"] = new JsonObject() },
            new JsonObject { ["format"] = "tf" }, new JsonObject { ["x"] = new string('m', 100_000) }, new JsonObject(), new JsonObject { [""] = "" },
            new JsonObject { ["dtype"] = "F32", ["shape"] = new JsonArray(1), ["data_offsets"] = new JsonArray(0, 4) },
        ];
        JsonNode? value = Pick(random, values)?.DeepClone();
        if (random.Next(4) == 0)
        {
            // __metadata__ twice.
            string text = header.ToJsonString();
            WriteSafeTensors(folder, "{\"__metadata__\":" + (value?.ToJsonString() ?? "null") + "," + text[1..], data);
            return $"a second __metadata__ {value?.ToJsonString() ?? "null"}";
        }
        header["__metadata__"] = value;
        WriteSafeTensors(folder, header.ToJsonString(), data);
        return $"__metadata__ {Truncated(value?.ToJsonString() ?? "null")}";
    }

    private static string DataSection(Random random, string folder, Kind kind)
    {
        string path = WeightsPath(folder);
        byte[] bytes = File.ReadAllBytes(path);
        int dataStart = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        switch (random.Next(4))
        {
            case 0:
            case 1:
            {
                int at = random.Next(dataStart, bytes.Length);
                File.WriteAllBytes(path, bytes[..at]);
                return $"cut to {at} of {bytes.Length} bytes ({at - dataStart} of the data section)";
            }
            case 2:
            {
                int at = random.Next(9, dataStart);
                File.WriteAllBytes(path, bytes[..at]);
                return $"cut inside the header, to {at} bytes";
            }
            default:
            {
                int extra = Pick(random, new[] { 1, 3, 4, 4096 });
                File.WriteAllBytes(path, [.. bytes, .. new byte[extra]]);
                return $"{extra} bytes appended";
            }
        }
    }

    // ---- config.json ----

    private static string ConfigPath(string folder) => Path.Combine(folder, "config.json");

    private static string ConfigKey(Random random, string folder, Kind kind)
    {
        JsonObject config = JsonNode.Parse(File.ReadAllText(ConfigPath(folder)))!.AsObject();
        string[] keys =
        [
            "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "max_position_embeddings",
            "type_vocab_size", "pad_token_id", "hidden_act", "layer_norm_eps", "hidden_dropout_prob", "attention_probs_dropout_prob",
            "classifier_dropout", "initializer_range", "num_labels", "id2label", "architectures", "model_type", "position_embedding_type",
            "kd_exact_match_embedding", "torch_dtype",
        ];
        string key = Pick(random, keys);
        JsonNode?[] values =
        [
            null, -1, 0, 1, 3, 7, 9, 16, 31, 33, 64, int.MaxValue, int.MinValue, (long)int.MaxValue + 1, 1e20, 16.5, 1e-300, 1e308,
            "16", "", true, new JsonArray(), new JsonObject(), "gelu", "GELU", "swish", "gelu_new", "relu", "bert", "roberta",
            new JsonObject { ["0"] = "a", ["1"] = "b" }, new JsonObject { ["1"] = "a" }, new JsonObject { ["-1"] = "a" }, new JsonObject { ["0"] = 5 },
            new JsonArray("BertModel", 5),
        ];
        string before = config[key]?.ToJsonString() ?? "absent";
        if (random.Next(5) == 0)
        {
            config.Remove(key);
            File.WriteAllText(ConfigPath(folder), config.ToJsonString());
            return $"\"{key}\" ({before}) removed";
        }
        JsonNode? value = Pick(random, values)?.DeepClone();
        config[key] = value;
        File.WriteAllText(ConfigPath(folder), config.ToJsonString());
        return $"\"{key}\": {before} -> {value?.ToJsonString() ?? "null"}";
    }

    private static string ConfigText(Random random, string folder, Kind kind)
    {
        string path = ConfigPath(folder);
        byte[] bytes = File.ReadAllBytes(path);
        switch (random.Next(8))
        {
            case 0:
            {
                int at = random.Next(bytes.Length);
                File.WriteAllBytes(path, bytes[..at]);
                return $"cut to {at} of {bytes.Length} bytes";
            }
            case 1:
            {
                int at = random.Next(bytes.Length);
                byte b = Pick(random, "{}[]\",:0e.-\\x"u8.ToArray().Concat(new byte[] { 0x00, 0xC3, 0xFF }).ToArray());
                bytes[at] = b;
                File.WriteAllBytes(path, bytes);
                return $"byte {at} set to 0x{b:X2}";
            }
            case 2:
            {
                string text = Pick(random, new[] { "", " ", "null", "[]", "5", "\"config\"", "{}", "{\"vocab_size\": 30", "\uFEFF{}" });
                File.WriteAllText(path, text);
                return $"text {text}";
            }
            case 3:
            {
                // Deeper than System.Text.Json's default limit of 64.
                int depth = Pick(random, new[] { 63, 65, 1000 });
                File.WriteAllText(path, "{\"a\":" + new string('[', depth) + new string(']', depth) + "}");
                return $"nesting {depth} deep";
            }
            case 4:
            {
                // A lone surrogate escaped in a string, and invalid UTF-8 in a key.
                string text = Encoding.UTF8.GetString(bytes);
                text = text.Replace("\"bert\"", Pick(random, new[] { "\"\\ud800\"", "\"b\\u0000rt\"" }), StringComparison.Ordinal);
                File.WriteAllText(path, text);
                return "model_type with an escaped lone surrogate or NUL";
            }
            case 5:
            {
                int at = Array.IndexOf(bytes, (byte)'"') + 1;
                bytes[at] = 0xFF;
                File.WriteAllBytes(path, bytes);
                return "a key starting with byte 0xFF";
            }
            case 6:
            {
                // A key twice: the last one wins in JsonNode, and both must be read the same way.
                string text = Encoding.UTF8.GetString(bytes).TrimEnd();
                string dup = Pick(random, new[] { "\"hidden_size\": 7", "\"vocab_size\": \"x\"", "\"num_hidden_layers\": 1" });
                File.WriteAllText(path, text[..^1] + ", " + dup + "}");
                return $"duplicate key {dup}";
            }
            default:
            {
                string text = Encoding.UTF8.GetString(bytes);
                File.WriteAllText(path, text + Pick(random, new[] { "x", "{}", "\0", "// comment", ",", "\n\n" }));
                return "trailing text after the object";
            }
        }
    }

    // ---- tokenizer files ----

    private static string Vocabulary(Random random, string folder, Kind kind)
    {
        string path = Path.Combine(folder, BertTokenizerFiles.VocabularyFileName);
        List<string> lines = [.. File.ReadAllText(path).Split('\n')[..^1]];
        switch (random.Next(10))
        {
            case 0:
                File.WriteAllBytes(path, Pick(random, new[] { Array.Empty<byte>(), "\n"u8.ToArray(), "\uFEFF"u8.ToArray() }));
                return "empty";
            case 1:
            {
                string special = Pick(random, new[] { "[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]" });
                lines.Remove(special);
                File.WriteAllText(path, string.Join('\n', lines) + "\n");
                return $"{special} removed";
            }
            case 2:
            {
                int line = random.Next(lines.Count);
                lines.Insert(random.Next(lines.Count), lines[line]);
                File.WriteAllText(path, string.Join('\n', lines) + "\n");
                return $"\"{lines[line]}\" duplicated";
            }
            case 3:
            {
                byte[] bytes = File.ReadAllBytes(path);
                int at = random.Next(bytes.Length);
                byte[] bad = Pick(random, new[] { new byte[] { 0xFF }, [0xC3], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80] });
                File.WriteAllBytes(path, [.. bytes.AsSpan(0, at), .. bad, .. bytes.AsSpan(at)]);
                return $"invalid UTF-8 {Convert.ToHexString(bad)} at byte {at}";
            }
            case 4:
            {
                // More tokens than the embedding matrix has rows.
                int extra = Pick(random, new[] { 1, 100 });
                File.WriteAllText(path, string.Join('\n', lines.Concat(Enumerable.Range(0, extra).Select(i => $"extra{i}"))) + "\n");
                return $"{extra} tokens appended";
            }
            case 5:
                File.WriteAllText(path, string.Join("\r\n", lines) + "\r\n");
                return "CRLF line ends";
            case 6:
            {
                // A BOM of another encoding: the reader would decode it as that encoding.
                byte[] bom = Pick(random, new[] { new byte[] { 0xFF, 0xFE }, [0xFE, 0xFF], [0xEF, 0xBB, 0xBF], [0xFF, 0xFE, 0, 0] });
                File.WriteAllBytes(path, [.. bom, .. File.ReadAllBytes(path)]);
                return $"BOM {Convert.ToHexString(bom)}";
            }
            case 7:
            {
                int line = random.Next(lines.Count);
                lines[line] = Pick(random, new[] { "", " ", "\0", new string('a', 100_000), "\t[CLS]", "##", "\u0663" });
                File.WriteAllText(path, string.Join('\n', lines) + "\n");
                return $"line {line + 1} set to a {lines[line].Length}-character token";
            }
            case 8:
                File.WriteAllText(path, string.Join('\n', lines));
                return "no final line end";
            default:
            {
                // Truncated to a few lines.
                int keep = random.Next(1, lines.Count);
                File.WriteAllText(path, string.Join('\n', lines.Take(keep)) + "\n");
                return $"cut to {keep} lines";
            }
        }
    }

    private static string TokenizerSettings(Random random, string folder, Kind kind)
    {
        string file = random.Next(4) == 0 ? BertTokenizerFiles.SpecialTokensMapFileName : BertTokenizerFiles.ConfigFileName;
        string path = Path.Combine(folder, file);
        if (random.Next(6) == 0)
        {
            string text = Pick(random, new[] { "", "[]", "null", "{", "{\"do_lower_case\": tru}", "\"x\"", "{\"a\":" + new string('[', 100) });
            File.WriteAllText(path, text);
            return $"{file}: text {Truncated(text)}";
        }
        JsonObject settings = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        string[] keys =
        [
            "unk_token", "sep_token", "pad_token", "cls_token", "mask_token", "model_max_length", "do_lower_case", "strip_accents",
            "tokenize_chinese_chars", "split_special_tokens", "max_input_chars_per_word", "tokenizer_class",
        ];
        JsonNode?[] values =
        [
            null, "", "[NOPE]", "[CLS]", "[PAD]", "cat", 5, -1, 0, 1, 2, 3, 2.5, 1e30, 1e300, -1e300, (long)int.MaxValue + 1, int.MaxValue, "512",
            true, "yes", new JsonArray(), new JsonObject(), new JsonObject { ["content"] = "[SEP]" }, new JsonObject { ["content"] = 5 },
            new JsonObject { ["content"] = "" }, new JsonObject { ["content"] = "[MISSING]" }, "BertTokenizerFast", "GPT2Tokenizer",
        ];
        string key = Pick(random, keys);
        JsonNode? value = Pick(random, values)?.DeepClone();
        settings[key] = value;
        File.WriteAllText(path, settings.ToJsonString());
        return $"{file}: \"{key}\" = {value?.ToJsonString() ?? "null"}";
    }

    private static string DeleteFile(Random random, string folder, Kind kind)
    {
        string[] files = Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Where(f => Path.GetFileName(f) != "README.md").ToArray();
        string file = Pick(random, files);
        File.Delete(file);
        return $"{Path.GetRelativePath(folder, file)} deleted";
    }

    // ---- sentence-transformers files ----

    private static string Modules(Random random, string folder, Kind kind)
    {
        string path = Path.Combine(folder, "modules.json");
        JsonArray modules = JsonNode.Parse(File.ReadAllText(path))!.AsArray();
        string what;
        switch (random.Next(6))
        {
            case 0:
            {
                string text = Pick(random, new[] { "", "{}", "null", "[", "[null]", "[5]", "[[]]", "[{}]" });
                File.WriteAllText(path, text);
                return $"text {text}";
            }
            case 1:
            {
                JsonObject module = modules[random.Next(modules.Count)]!.AsObject();
                JsonNode?[] paths = ["..", "../..", "/", "/etc", "a\0b", "1_Pooling/../..", "missing", new string('p', 5000), "2_Normalize", "1_Pooling", "", ".", "~", "C:\\x", 5, null, new JsonArray()];
                JsonNode? value = Pick(random, paths)?.DeepClone();
                module["path"] = value;
                what = $"module {module["idx"]} path {Truncated(value?.ToJsonString() ?? "null")}";
                break;
            }
            case 2:
            {
                JsonObject module = modules[random.Next(modules.Count)]!.AsObject();
                JsonNode?[] types = ["", ".", "Transformer", "sentence_transformers.models.Dense", "sentence_transformers.models.Pooling", "x.Normalize", 5, null];
                JsonNode? value = Pick(random, types)?.DeepClone();
                module["type"] = value;
                what = $"module {module["idx"]} type {value?.ToJsonString() ?? "null"}";
                break;
            }
            case 3:
            {
                int i = random.Next(modules.Count);
                modules.RemoveAt(i);
                what = $"module {i} removed";
                break;
            }
            case 4:
            {
                JsonNode module = modules[random.Next(modules.Count)]!.DeepClone();
                modules.Insert(random.Next(modules.Count + 1), module);
                what = $"module {module["idx"]} duplicated";
                break;
            }
            default:
            {
                JsonNode?[] items = [.. modules.Select(m => m?.DeepClone()).Reverse()];
                modules.Clear();
                foreach (JsonNode? m in items)
                    modules.Add(m);
                what = "modules reversed";
                break;
            }
        }
        File.WriteAllText(path, modules.ToJsonString());
        return what;
    }

    private static string SentenceBertConfig(Random random, string folder, Kind kind)
        => EditJson(random, Path.Combine(folder, "sentence_bert_config.json"), ["max_seq_length", "do_lower_case"],
            [null, -1, 0, 1, 2, 3, 32, 33, 512, int.MaxValue, 1e10, 2.5, "128", true, "yes", new JsonArray()]);

    private static string Pooling(Random random, string folder, Kind kind)
        => EditJson(random, Path.Combine(folder, "1_Pooling", "config.json"),
            ["word_embedding_dimension", "pooling_mode_cls_token", "pooling_mode_mean_tokens", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
             "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken", "include_prompt", "pooling_mode", "embedding_dimension"],
            [null, true, false, 0, -8, 7, 8, 9, int.MaxValue, 8.5, "8", "mean", "cls", "max", "lasttoken", "", new JsonArray("mean"), new JsonArray("mean", "cls"), new JsonArray(), new JsonArray(5), new JsonObject()]);

    private static string SentenceTransformersConfig(Random random, string folder, Kind kind)
        => EditJson(random, Path.Combine(folder, "config_sentence_transformers.json"), ["prompts", "default_prompt_name", "similarity_fn_name", "model_type", "__version__"],
            [null, "", "query", "document", "missing", "cosine", "dot", "dot_product", "euclidean", 5, true, new JsonArray(),
             new JsonObject(), new JsonObject { ["query"] = 5 }, new JsonObject { ["query"] = new string('q', 10_000) }, new JsonObject { ["query"] = "[CLS] [SEP] " },
             new JsonObject { ["document"] = null }, new JsonObject { [""] = "" }]);

    // Sets one key of a JSON settings file, removes it, or replaces the file's text.
    private static string EditJson(Random random, string path, string[] keys, JsonNode?[] values)
    {
        string file = Path.GetFileName(Path.GetDirectoryName(path)) is "1_Pooling" ? "1_Pooling/config.json" : Path.GetFileName(path);
        if (random.Next(6) == 0)
        {
            string text = Pick(random, new[] { "", "[]", "null", "{", "5", "{\"a\": 1,}", "\uFEFF{}", "{\"a\":" + new string('[', 100) });
            File.WriteAllText(path, text);
            return $"{file}: text {Truncated(text)}";
        }
        JsonObject settings = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        string key = Pick(random, keys);
        if (random.Next(5) == 0)
        {
            settings.Remove(key);
            File.WriteAllText(path, settings.ToJsonString());
            return $"{file}: \"{key}\" removed";
        }
        JsonNode? value = Pick(random, values)?.DeepClone();
        settings[key] = value;
        File.WriteAllText(path, settings.ToJsonString());
        return $"{file}: \"{key}\" = {Truncated(value?.ToJsonString() ?? "null")}";
    }

    private static string Truncated(string text) => text.Length <= 60 ? text : $"{text[..60]}... ({text.Length} chars)";
}
