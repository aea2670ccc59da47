using System.Security.Cryptography;
using KnowledgeDistillation.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Training;

/// <summary>
/// The start identity of a model's weights (a SHA-256 of names, types, shapes and values), by which a run that loads a
/// saved model itself tells whether a checkpoint was trained from the same start (<see cref="TrainerOptions.StartIdentity"/>).
/// </summary>
internal static class WeightFingerprint
{
    /// <summary>The identity a new model starts from: its seed and shape are compared as settings and parameters.</summary>
    public const string NewModel = "new";

    /// <summary>
    /// The start identity of a model the caller just created or loaded: <see cref="NewModel"/> for a new one (its seeded
    /// initialisation may differ in the last bits between CPUs, so its values are not hashed), else <see cref="Of"/> its weights.
    /// </summary>
    public static string StartOf(bool newModel, IEnumerable<(string Name, Parameter Parameter)> parameters)
        => newModel ? NewModel : Of(parameters);

    /// <summary>The SHA-256 of the parameters (<see cref="WeightHash.AppendTensors"/>), as <c>sha256:</c> and lower-case hex.</summary>
    public static string Of(IEnumerable<(string Name, Parameter Parameter)> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        WeightHash.AppendTensors(hash, parameters.Select(p => (p.Name, (Tensor)p.Parameter)));
        return "sha256:" + WeightHash.Hex(hash);
    }
}
