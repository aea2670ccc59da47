namespace KnowledgeDistillation.Hub;

/// <summary><see cref="HubOptions"/> with the environment's defaults filled in.</summary>
internal sealed record ResolvedHubOptions(Uri Endpoint, string? Token, string CacheDirectory, bool Offline, TimeSpan Timeout);
