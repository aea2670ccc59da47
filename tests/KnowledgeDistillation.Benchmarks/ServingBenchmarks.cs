using BenchmarkDotNet.Attributes;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Formats.Onnx;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Onnx;
using KnowledgeDistillation.Tokenization;
using Microsoft.Extensions.AI;
using Microsoft.ML.OnnxRuntime;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>
/// Serving embeddings: 32 SciFact documents (max 256 tokens) embedded by a MiniLM-shaped student (6 layers, 384 hidden;
/// weights random, which does not change the speed) through <c>IEmbeddingGenerator</c> on ONNX Runtime fp32 and int8
/// (the export of <see cref="OnnxExporter"/>) and on TorchSharp (<see cref="StudentEmbeddingGenerator"/>), and ONNX
/// Runtime called directly on the same fp32 file with the inputs tokenized and padded beforehand (the generator's
/// overhead is the difference). Batch 32: one call with 32 texts; batch 1: 32 calls with one text each.
/// </summary>
/// <remarks>Run: <c>dotnet run -c Release --project tests/KnowledgeDistillation.Benchmarks -- --filter '*Serving*'</c>.</remarks>
[Config(typeof(BenchConfig))]
public class ServingBenchmarks
{
    private const int Texts = 32;
    private const int MaxLength = 256;
    private static readonly string[] s_inputNames = ["input_ids", "attention_mask", "token_type_ids"];
    private static readonly string[] s_outputNames = [OnnxExporter.SentenceEmbeddingOutput];

    private string[] _texts = [];
    private BiEncoderStudent? _student;
    private IEmbeddingGenerator<string, Embedding<float>>? _generator;
    private OnnxEmbeddingModel? _model;
    private InferenceSession? _session;
    private List<OrtValue[]> _inputs = [];

    [Params(1, 32)]
    public int Batch { get; set; } = 32;

    [GlobalSetup(Target = nameof(GeneratorOnnxFp32))]
    public void SetupFp32() => SetupOnnx(OnnxExporter.ModelFileName);

    [GlobalSetup(Target = nameof(GeneratorOnnxInt8))]
    public void SetupInt8() => SetupOnnx(OnnxExporter.QuantizedModelFileName);

    [GlobalSetup(Target = nameof(GeneratorTorchSharp))]
    public void SetupTorchSharp()
    {
        _texts = Workloads.EncodeDocuments().Take(Texts).ToArray();
        _student = NewStudent();
        _generator = _student.AsIEmbeddingGenerator();
    }

    [GlobalSetup(Target = nameof(OnnxRuntimeDirectFp32))]
    public void SetupDirect()
    {
        string folder = ExportedFolder();
        _session = OnnxSessions.Create(Path.Combine(folder, OnnxExporter.ModelFileName));
        HuggingFaceBertTokenizer tokenizer = HuggingFaceBertTokenizer.FromFolder(folder);
        string[] texts = Workloads.EncodeDocuments().Take(Texts).ToArray();
        // Pre-tokenized exactly as the generator batches: length-sorted, padded to the longest of each batch.
        string[] sorted = texts.OrderByDescending(t => tokenizer.Encode(t, MaxLength).Length).ToArray();
        for (int start = 0; start < sorted.Length; start += Batch)
            _inputs.Add(OnnxSessions.Inputs(tokenizer.EncodeBatch(sorted[start..Math.Min(start + Batch, sorted.Length)], MaxLength)));
    }

    [Benchmark]
    public int GeneratorOnnxFp32() => Generate();

    [Benchmark]
    public int GeneratorOnnxInt8() => Generate();

    [Benchmark]
    public int GeneratorTorchSharp() => Generate();

    [Benchmark]
    public int OnnxRuntimeDirectFp32()
    {
        int n = 0;
        foreach (OrtValue[] batch in _inputs)
        {
            using var runOptions = new RunOptions();
            using IDisposableReadOnlyCollection<OrtValue> outputs = _session!.Run(runOptions, s_inputNames, batch, s_outputNames);
            n += outputs[0].GetTensorDataAsSpan<float>().Length;
        }
        return n;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _generator?.Dispose();
        _model?.Dispose();
        _student?.Dispose();
        _session?.Dispose();
        foreach (OrtValue value in _inputs.SelectMany(v => v))
            value.Dispose();
        (_generator, _model, _student, _session, _inputs) = (null, null, null, null, []);
    }

    private int Generate()
    {
        int n = 0;
        for (int start = 0; start < _texts.Length; start += Batch)
            n += _generator!.GenerateAsync(_texts[start..Math.Min(start + Batch, _texts.Length)]).GetAwaiter().GetResult().Count;
        return n;
    }

    private void SetupOnnx(string file)
    {
        _texts = Workloads.EncodeDocuments().Take(Texts).ToArray();
        _model = OnnxEmbeddingModel.FromFolder(ExportedFolder(), new OnnxEmbeddingModelOptions
        {
            ModelFile = file,
            IntraOpThreads = BenchEnvironment.Threads,
            InterOpThreads = 1,
            BatchSize = Batch,
        });
        _generator = _model.AsIEmbeddingGenerator();
    }

    private BiEncoderStudent NewStudent()
    {
        BenchEnvironment.ConfigureTorch();
        ModelShape s = ModelShape.MiniLm;
        var tokenizer = HuggingFaceBertTokenizer.FromVocabularyFile(BenchEnvironment.VocabularyPath);
        var config = new BertConfig(tokenizer.VocabularySize, s.Hidden, s.Layers, s.Heads, s.Intermediate, 512);
        return BiEncoderStudent.Create(config, tokenizer, new BiEncoderStudentOptions
        {
            MaxSequenceLength = MaxLength,
            Normalize = true,
            EncodeBatchSize = Batch,
        }, seed: 1);
    }

    // The export of the random MiniLM-shaped student, written once per artifacts folder.
    private string ExportedFolder()
    {
        string folder = Path.Combine(BenchEnvironment.Artifacts, "serving", "minilm-256");
        if (!File.Exists(Path.Combine(folder, OnnxExporter.QuantizedModelFileName)))
        {
            using BiEncoderStudent student = NewStudent();
            student.ExportOnnxAsync(folder, quantize: true).GetAwaiter().GetResult();
        }
        return folder;
    }
}
