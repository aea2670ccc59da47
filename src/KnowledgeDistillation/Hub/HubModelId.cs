using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace KnowledgeDistillation.Hub;

/// <summary>A model named as the Hub names it, <c>org/name</c>, with an optional <c>@revision</c> (branch, tag or commit).</summary>
internal sealed partial record HubModelId(string Repository, string Revision)
{
    public const string DefaultRevision = "main";

    /// <summary>The cache folder name huggingface_hub and huggingface.js give the repository: <c>models--org--name</c>.</summary>
    public string FolderName => "models--" + Repository.Replace("/", "--", StringComparison.Ordinal);

    public bool RevisionIsCommit => CommitHash().IsMatch(Revision);

    public override string ToString() => Revision == DefaultRevision ? Repository : $"{Repository}@{Revision}";

    /// <summary>Parses <c>org/name</c> or <c>org/name@revision</c>; anything else (a path, a bare name) is not a model id.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out HubModelId? id)
    {
        id = null;
        if (text is null)
            return false;
        Match match = Pattern().Match(text);
        if (!match.Success || match.Groups["repo"].Value.Contains("..", StringComparison.Ordinal))
            return false;
        string revision = match.Groups["rev"].Success ? match.Groups["rev"].Value : DefaultRevision;
        if (revision.Split('/').Any(part => part is "" or "." or ".."))
            return false;
        id = new HubModelId(match.Groups["repo"].Value, revision);
        return true;
    }

    public static bool IsCommitHash(string text) => CommitHash().IsMatch(text);

    /// <summary>
    /// Whether <paramref name="text"/> is a repository id the Hub accepts (huggingface_hub's <c>validate_repo_id</c>):
    /// <c>name</c> or <c>namespace/name</c>, letters, digits, <c>-</c>, <c>_</c> and <c>.</c>, the name at most 96
    /// characters, each part starting and ending with a letter, digit or <c>_</c>, no <c>--</c> or <c>..</c>, not ending in <c>.git</c>.
    /// </summary>
    public static bool IsRepositoryId(string? text)
        => text is not null && RepositoryId().IsMatch(text) && !text.Contains("--", StringComparison.Ordinal)
            && !text.Contains("..", StringComparison.Ordinal) && !text.EndsWith(".git", StringComparison.Ordinal);

    // The Hub's repository names: letters, digits, '-', '_', '.'; not starting with '-' or '.'. A revision is a git ref name.
    [GeneratedRegex(@"^(?<repo>[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*)(@(?<rev>[A-Za-z0-9][A-Za-z0-9._/-]*))?$")]
    private static partial Regex Pattern();

    [GeneratedRegex(@"^([A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?/)?[A-Za-z0-9_]([A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$")]
    private static partial Regex RepositoryId();

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitHash();
}
