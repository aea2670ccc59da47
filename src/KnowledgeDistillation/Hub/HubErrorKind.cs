namespace KnowledgeDistillation.Hub;

/// <summary>What went wrong with a Hugging Face Hub request or the local cache (<see cref="HubException.Kind"/>).</summary>
public enum HubErrorKind
{
    /// <summary>The server answered with an error the other kinds do not cover, or a response the protocol does not allow.</summary>
    Server = 0,

    /// <summary>No such repository, or a private one the token cannot see (the Hub answers both the same way).</summary>
    RepositoryNotFound = 1,

    /// <summary>A gated repository whose conditions the token's account has not accepted (or no token was given).</summary>
    GatedRepository = 2,

    /// <summary>The branch, tag or commit does not exist in the repository.</summary>
    RevisionNotFound = 3,

    /// <summary>The repository has no such file at that revision.</summary>
    EntryNotFound = 4,

    /// <summary>The token was refused (invalid, expired or revoked).</summary>
    Unauthorized = 5,

    /// <summary>Offline (by option, <c>HF_HUB_OFFLINE</c> or an unreachable server), and the cache lacks what is needed.</summary>
    NotInCache = 6,

    /// <summary>A downloaded file's size or hash differs from what the server announced; nothing was stored.</summary>
    Integrity = 7,
}
