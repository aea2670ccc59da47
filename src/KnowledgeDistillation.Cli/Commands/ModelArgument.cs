using KnowledgeDistillation.Hub;
using KnowledgeDistillation.Workflow.Scoring;

namespace KnowledgeDistillation.Cli.Commands;

/// <summary>
/// The model options (<c>--model</c>, <c>--teacher</c>, <c>--student</c>, <c>--retriever</c>, <c>--init</c>): a local
/// folder or file, <c>bm25</c> where a command takes it, or a Hugging Face Hub name (<c>org/name[@revision]</c>) resolved
/// through the cache Python shares, as the library's <c>FromPretrained</c> resolves it (HF_ENDPOINT, HF_TOKEN,
/// HF_HUB_CACHE, HF_HUB_OFFLINE apply). A folder that exists wins; the choice is logged.
/// </summary>
internal static class ModelArgument
{
    public static string Resolve(CliRun run, string value)
        => TeacherSpec.IsBm25(value) ? value : HubModelResolver.Resolve(value, run.Logger);
}
