using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tests.Models;

namespace KnowledgeDistillation.Tests.Onnx;

/// <summary>
/// <c>BiEncoderStudent.FromPretrained</c> given the path of a <c>.onnx</c> file rather than a folder: the tokenizer beside
/// the file or above its <c>onnx/</c> folder (a Hugging Face repository's layout, whose sentence-transformers settings
/// then apply), and the error when there is no vocabulary in either place.
/// </summary>
[Collection(PretrainedModelsGroup.Name)]
public sealed class OnnxFilePathTests(PretrainedModels models) : IDisposable
{
    private readonly string _dir = BertFixture.NewTempDir();

    private static readonly string[] s_texts = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium.", "hello world"];

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_bare_onnx_file_gives_the_embeddings_of_its_folder()
    {
        var options = new BiEncoderStudentOptions { Pooling = PoolingMode.Mean, Normalize = true, MaxSequenceLength = 32 };
        using BiEncoderStudent fromFolder = BiEncoderStudent.FromPretrained(models.MiniLM, options);
        using BiEncoderStudent fromFile = BiEncoderStudent.FromPretrained(Path.Combine(models.MiniLM, "model.onnx"), options);

        fromFile.Encode(s_texts, TextKind.Document).Should().BeEquivalentTo(fromFolder.Encode(s_texts, TextKind.Document), o => o.WithStrictOrdering());
        (fromFile.Pooling, fromFile.Normalize, fromFile.MaxSequenceLength).Should().Be((PoolingMode.Mean, true, 32));
    }

    [Fact]
    public void A_file_in_an_onnx_folder_reads_the_tokenizer_and_sentence_transformers_settings_of_the_folder_above()
    {
        // all-MiniLM-L6-v2's repository layout, but saying CLS pooling, normalisation and 24 tokens, so that each setting
        // visibly comes from these files rather than from a default.
        Directory.CreateDirectory(Path.Combine(_dir, "onnx"));
        Directory.CreateDirectory(Path.Combine(_dir, "1_Pooling"));
        Directory.CreateDirectory(Path.Combine(_dir, "2_Normalize"));
        File.Copy(Path.Combine(models.MiniLM, "model.onnx"), Path.Combine(_dir, "onnx", "model.onnx"));
        File.Copy(Path.Combine(models.MiniLM, "vocab.txt"), Path.Combine(_dir, "vocab.txt"));
        File.WriteAllText(Path.Combine(_dir, "modules.json"), """
            [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
             {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
             {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]
            """);
        File.WriteAllText(Path.Combine(_dir, "sentence_bert_config.json"), """{"max_seq_length": 24, "do_lower_case": false}""");
        File.WriteAllText(Path.Combine(_dir, "1_Pooling", "config.json"), """
            {"word_embedding_dimension": 384, "pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false, "pooling_mode_max_tokens": false}
            """);

        using BiEncoderStudent nested = BiEncoderStudent.FromPretrained(Path.Combine(_dir, "onnx", "model.onnx"));
        using BiEncoderStudent reference = BiEncoderStudent.FromPretrained(models.MiniLM,
            new BiEncoderStudentOptions { Pooling = PoolingMode.Cls, Normalize = true, MaxSequenceLength = 24 });

        (nested.Pooling, nested.Normalize, nested.MaxSequenceLength).Should().Be((PoolingMode.Cls, true, 24));
        nested.Tokenizer.VocabularySize.Should().Be(30522);
        nested.Encode(s_texts, TextKind.Document).Should().BeEquivalentTo(reference.Encode(s_texts, TextKind.Document), o => o.WithStrictOrdering());
    }

    [Fact]
    public void A_file_without_sentence_transformers_files_still_needs_an_explicit_pooling()
    {
        Action load = () => BiEncoderStudent.FromPretrained(Path.Combine(models.MiniLM, "model.onnx")).Dispose();

        load.Should().Throw<CheckpointException>().WithMessage($"*does not record how*pooled*modules.json in {models.MiniLM}*BiEncoderStudentOptions.Pooling*");
    }

    [Fact]
    public void A_file_in_an_onnx_folder_without_vocab_txt_names_both_folders_looked_in()
    {
        string onnxFolder = Path.Combine(_dir, "onnx");
        Directory.CreateDirectory(onnxFolder);
        string file = Path.Combine(onnxFolder, "model.onnx");
        File.WriteAllText(file, "not read: the vocabulary is looked for first");

        Action student = () => BiEncoderStudent.FromPretrained(file, new BiEncoderStudentOptions { Pooling = PoolingMode.Mean }).Dispose();
        Action teacher = () => CrossEncoderTeacher.FromPretrained(file).Dispose();

        foreach (Action load in new[] { student, teacher })
        {
            load.Should().Throw<FileNotFoundException>()
                .Where(e => e.Message.Contains(file) && e.Message.Contains($"beside it in {onnxFolder} or in {_dir},") && e.Message.Contains("vocab.txt"));
        }
    }

    [Fact]
    public void A_file_outside_an_onnx_folder_looks_for_vocab_txt_only_beside_it()
    {
        // A vocabulary in the folder above is not taken: only an onnx/ folder is the Hugging Face layout.
        File.Copy(Path.Combine(models.MiniLM, "vocab.txt"), Path.Combine(_dir, "vocab.txt"));
        string folder = Path.Combine(_dir, "export");
        Directory.CreateDirectory(folder);
        string file = Path.Combine(folder, "encoder.onnx");
        File.WriteAllText(file, "not read");

        Action load = () => BiEncoderStudent.FromPretrained(file, new BiEncoderStudentOptions { Pooling = PoolingMode.Mean }).Dispose();

        load.Should().Throw<FileNotFoundException>().Where(e => e.Message.Contains($"{file}: no vocab.txt beside it in {folder};"));
    }

    [Fact]
    public void A_missing_onnx_file_is_a_missing_model_not_a_hub_id()
    {
        Action load = () => BiEncoderStudent.FromPretrained("models/minilm.onnx").Dispose();

        load.Should().Throw<DirectoryNotFoundException>().WithMessage("The model file models/minilm.onnx does not exist.");
    }
}
