using KnowledgeDistillation.Hub;
using KnowledgeDistillation.Workflow.Scoring;

namespace KnowledgeDistillation.Cli.Commands;

/// <summary>
/// The model options (<c>--model</c>, <c>--teacher</c>, <c>--student</c>, <c>--retriever</c>, <c>--init</c>): a local
/// folder or file, <c>bm25</c> where a command takes it, or a Hugging Face Hub name (<c>org/name[@revision]</c>) resolved
/// through the cache Python shares, as the library's <c>FromPretrained</c> resolves it (HF_HOME, HF_HUB_CACHE, HF_ENDPOINT,
/// HF_TOKEN, HF_TOKEN_PATH, HF_HUB_OFFLINE apply), with the variables of the run's <see cref="CliEnvironment"/> rather
/// than the process's (a test or a host runs kd inside its process with variables of its own). A folder that exists wins;
/// the choice is logged.
/// </summary>
internal static class ModelArgument
{
    /// <summary>The local path of a model option's value; a Hub download shows its progress (<see cref="CliRun.WithDownloadProgressAsync{T}"/>).</summary>
    public static Task<string> ResolveAsync(CliRun run, string value, CancellationToken cancellationToken)
    {
        if (TeacherSpec.IsBm25(value))
            return Task.FromResult(value);
        // A local path (which wins, logged) or an argument that is no Hub name returns as it is.
        HubOptions hub = HubOptions.FromVariables(run.Environment.Variables);
        if (Directory.Exists(value) || File.Exists(value) || !HuggingFaceHub.IsModelName(value))
            return Task.FromResult(HubModelResolver.Resolve(value, run.Logger, options: hub));
        return run.WithDownloadProgressAsync(value, progress => HubModelResolver.ResolveAsync(value, run.Logger, includeOnnx: false, progress, hub, cancellationToken));
    }
}
