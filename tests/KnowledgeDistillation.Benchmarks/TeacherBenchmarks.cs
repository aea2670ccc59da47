using BenchmarkDotNet.Attributes;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>
/// Teacher scoring: one call scores one batch of (query, document) pairs. Ours is measured end to end
/// (<see cref="CrossEncoderTeacher.ScoreAsync"/>: tokenization, batching, forward, scores back); ONNX Runtime gets the
/// same model exported to ONNX and the same ids already tokenized, so its figure excludes tokenization.
/// </summary>
[Config(typeof(BenchConfig))]
public class TeacherBenchmarks
{
    private CrossEncoderTeacher? _teacher;
    private InferenceSession? _session;
    private OrtValue[] _ortInputs = [];
    private QueryDocumentPair[] _pairs = [];

    public static IEnumerable<TeacherCase> Cases => PeerInputs.TeacherCases;

    [ParamsSource(nameof(Cases))]
    public TeacherCase Case { get; set; } = new("minilm", 128, 32);

    private string Shape => Case.Shape;

    private int Length => Case.Length;

    private int Batch => Case.Batch;

    [GlobalSetup(Targets = [nameof(OursFp32)])]
    public void SetupFp32() => Setup(ScalarType.Float32);

    [GlobalSetup(Targets = [nameof(OursBf16)])]
    public void SetupBf16() => Setup(ScalarType.BFloat16);

    [GlobalSetup(Target = nameof(OnnxRuntimeFp32))]
    public void SetupOnnx()
    {
        BenchEnvironment.ConfigureTorch();
        _pairs = Workloads.TeacherPairs(Batch);
        BertBatchEncoding e = PeerInputs.Tokenizer.EncodeBatch(_pairs, Length);
        _session = OnnxSessions.Create(Path.Combine(BenchEnvironment.ModelDirectory(Shape, "cross"), "model.onnx"));
        _ortInputs = OnnxSessions.Inputs(e);
    }

    [Benchmark]
    public float[] OursFp32() => _teacher!.ScoreAsync(_pairs).GetAwaiter().GetResult();

    [Benchmark]
    public float[] OursBf16() => _teacher!.ScoreAsync(_pairs).GetAwaiter().GetResult();

    [Benchmark]
    public float[] OnnxRuntimeFp32() => OnnxSessions.Score(_session!, _ortInputs);

    [GlobalCleanup]
    public void Cleanup()
    {
        _teacher?.Dispose();
        _teacher = null;
        _session?.Dispose();
        _session = null;
        foreach (OrtValue v in _ortInputs)
            v.Dispose();
        _ortInputs = [];
    }

    private void Setup(ScalarType dtype)
    {
        BenchEnvironment.ConfigureTorch();
        _pairs = Workloads.TeacherPairs(Batch);
        _teacher = CrossEncoderTeacher.FromPretrained(
            BenchEnvironment.ModelDirectory(Shape, "cross"),
            new CrossEncoderTeacherOptions { BatchSize = Batch, MaxLength = Length, DType = dtype });
    }
}

/// <summary>ONNX Runtime sessions configured like our engine: intra-op threads = our thread count, one inter-op thread, all graph optimisations.</summary>
internal static class OnnxSessions
{
    public static InferenceSession Create(string path)
    {
        using var options = new SessionOptions
        {
            IntraOpNumThreads = BenchEnvironment.Threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        return new InferenceSession(path, options);
    }

    public static OrtValue[] Inputs(BertBatchEncoding e)
    {
        long[] shape = [e.BatchSize, e.SequenceLength];
        return
        [
            OrtValue.CreateTensorValueFromMemory(e.InputIds.ToArray(), shape),
            OrtValue.CreateTensorValueFromMemory(e.AttentionMask.ToArray(), shape),
            OrtValue.CreateTensorValueFromMemory(e.TokenTypeIds.ToArray(), shape),
        ];
    }

    private static readonly string[] InputNames = ["input_ids", "attention_mask", "token_type_ids"];
    private static readonly string[] OutputNames = ["logits"];

    public static float[] Score(InferenceSession session, OrtValue[] inputs)
    {
        using var runOptions = new RunOptions();
        using IDisposableReadOnlyCollection<OrtValue> outputs = session.Run(runOptions, InputNames, inputs, OutputNames);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }
}
