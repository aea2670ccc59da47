using KnowledgeDistillation.Configuration;

namespace KnowledgeDistillation.Formats.Onnx;

/// <summary>What <see cref="BertOnnxImporter"/> recovered from an ONNX graph.</summary>
/// <param name="File">The parsed model.</param>
/// <param name="Config">The inferred configuration (structure, epsilon, activation; other fields at Hugging Face's defaults).</param>
/// <param name="Weights">Every weight by its Hugging Face name (no encoder prefix; <c>classifier.*</c> for a task model).</param>
/// <param name="HasPooler">Whether the graph has <c>pooler.dense</c>.</param>
/// <param name="HasClassifier">Whether the graph has a <c>classifier</c> (a <c>BertForSequenceClassification</c> export).</param>
/// <param name="Unused">Initializers no node reads (reported, not loaded).</param>
internal sealed record OnnxBertImport(
    OnnxModelFile File,
    BertConfig Config,
    IReadOnlyDictionary<string, OnnxWeight> Weights,
    bool HasPooler,
    bool HasClassifier,
    IReadOnlyList<string> Unused);
