using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.Tokenization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace KnowledgeDistillation.Onnx;

/// <summary>
/// The BERT inputs a graph of this package's models takes, checked once at load and fed the one same way at every run:
/// the subset of the known names the graph declares, as int64 or int32 [batch, sequence].
/// </summary>
internal sealed class OnnxBertInputs
{
    public const string InputIds = "input_ids";
    public const string AttentionMask = "attention_mask";
    public const string TokenTypeIds = "token_type_ids";

    private readonly string[] _names;
    private readonly bool _int32;

    private OnnxBertInputs(string[] names, bool int32)
    {
        _names = names;
        _int32 = int32;
    }

    /// <summary>Checks the graph's inputs: each is one of <paramref name="known"/>, an integer matrix, and input_ids is among them.</summary>
    /// <param name="session">The loaded session.</param>
    /// <param name="modelPath">The ONNX file, named by the errors.</param>
    /// <param name="known">The inputs the model can feed, in the order they are fed.</param>
    /// <param name="model">What takes only those inputs, for the message (<c>a cross-encoder</c>).</param>
    /// <param name="export">What a graph without input_ids is not, for the message (<c>BERT encoder</c>).</param>
    /// <exception cref="CheckpointException">An unknown input, one of another type or rank, or no input_ids.</exception>
    public static OnnxBertInputs Check(InferenceSession session, string modelPath, string[] known, string model, string export)
    {
        var inputs = session.InputMetadata;
        foreach ((string name, NodeMetadata meta) in inputs)
        {
            if (Array.IndexOf(known, name) < 0)
                throw new CheckpointException(modelPath, $"the graph has the input \"{name}\"; {model} takes only {string.Join(", ", known)} (inputs: {string.Join(", ", inputs.Keys)}).");
            if (meta.ElementDataType is not (TensorElementType.Int64 or TensorElementType.Int32) || meta.Dimensions.Length != 2)
                throw new CheckpointException(modelPath, $"the input \"{name}\" is {meta.ElementDataType} of rank {meta.Dimensions.Length}; expected int64 (or int32) [batch, sequence].");
        }
        if (!inputs.ContainsKey(InputIds))
            throw new CheckpointException(modelPath, $"the graph has no \"{InputIds}\" input (inputs: {string.Join(", ", inputs.Keys)}); it is not a {export} export.");
        return new OnnxBertInputs([.. known.Where(inputs.ContainsKey)], inputs[InputIds].ElementDataType == TensorElementType.Int32);
    }

    /// <summary>
    /// The load error of a first run that failed: usually a tokenizer whose ids run past the embedding matrix.
    /// </summary>
    public static CheckpointException ProbeFailed(string modelPath, HuggingFaceBertTokenizer tokenizer, OnnxRuntimeException ex)
        => new(modelPath,
            $"a test run with the token ids [{tokenizer.ClsTokenId}, {tokenizer.VocabularySize - 1}, {tokenizer.SepTokenId}] failed; the usual cause is a vocabulary with more tokens ({tokenizer.VocabularySize}) than the model's word-embedding matrix, i.e. a tokenizer that does not belong to this model. ONNX Runtime said: {ex.Message}", ex);

    /// <summary>Runs the graph on one batch and reads its one output; cancelling terminates the run.</summary>
    /// <param name="session">The session.</param>
    /// <param name="shape">[batch, sequence].</param>
    /// <param name="values">The int64 values of an input, by name.</param>
    /// <param name="output">The output to fetch.</param>
    /// <param name="read">Reads the output before it is released.</param>
    /// <param name="cancellationToken">Terminates the run.</param>
    public T Run<T>(InferenceSession session, long[] shape, Func<string, long[]> values, string output, Func<OrtValue, T> read, CancellationToken cancellationToken)
    {
        var inputs = new List<OrtValue>(_names.Length);
        try
        {
            foreach (string name in _names)
            {
                long[] data = values(name);
                inputs.Add(_int32
                    ? OrtValue.CreateTensorValueFromMemory(Array.ConvertAll(data, v => (int)v), shape)
                    : OrtValue.CreateTensorValueFromMemory(data, shape));
            }
            using var runOptions = new RunOptions();
            using CancellationTokenRegistration registration = cancellationToken.Register(static o => ((RunOptions)o!).Terminate = true, runOptions);
            IDisposableReadOnlyCollection<OrtValue> outputs;
            try
            {
                outputs = session.Run(runOptions, _names, inputs, [output]);
            }
            catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }
            using (outputs)
                return read(outputs[0]);
        }
        finally
        {
            foreach (OrtValue value in inputs)
                value.Dispose();
        }
    }
}
