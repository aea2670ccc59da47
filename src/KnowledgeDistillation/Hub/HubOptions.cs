namespace KnowledgeDistillation.Hub;

/// <summary>
/// Where <see cref="HuggingFaceHub"/> downloads from and caches to. Every property left <see langword="null"/> takes the
/// value <c>huggingface_hub</c> (Python) takes from the environment, so both share one cache and one login.
/// </summary>
public sealed class HubOptions
{
    /// <summary>
    /// The Hub's address; for a mirror or an enterprise proxy. Default: <c>HF_ENDPOINT</c>, else
    /// <c>https://huggingface.co</c>.
    /// </summary>
    public Uri? Endpoint { get; init; }

    /// <summary>
    /// The access token sent as <c>Authorization: Bearer</c> (gated and private repositories). Default: <c>HF_TOKEN</c>,
    /// else the file <c>huggingface-cli login</c> writes (<c>HF_TOKEN_PATH</c>, else <c>HF_HOME/token</c>), else none.
    /// </summary>
    public string? Token { get; init; }

    /// <summary>
    /// The cache folder holding <c>models--org--name/{blobs,refs,snapshots}</c>. Default: <c>HF_HUB_CACHE</c>, else
    /// <c>HF_HOME/hub</c>, else <c>$XDG_CACHE_HOME/huggingface/hub</c>, else <c>~/.cache/huggingface/hub</c>
    /// (<c>%USERPROFILE%\.cache\huggingface\hub</c> on Windows), as in Python.
    /// </summary>
    public string? CacheDirectory { get; init; }

    /// <summary>
    /// Whether to use the cache only and never contact the Hub. Default: <c>HF_HUB_OFFLINE</c> set to <c>1</c>,
    /// <c>true</c>, <c>yes</c> or <c>on</c>; otherwise online.
    /// </summary>
    public bool? Offline { get; init; }

    /// <summary>How long one HTTP request may wait for a response or the next bytes. Default (<see langword="null"/>): 10 seconds.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// Where the defaults are read from instead of the process's environment: <c>kd</c> passes its
    /// <c>CliEnvironment</c>'s variables so that a run in a test process has its own Hub settings. Default
    /// (<see langword="null"/>): <see cref="Environment.GetEnvironmentVariable(string)"/>.
    /// </summary>
    internal Func<string, string?>? Variables { get; init; }

    /// <summary>Options whose every default is read from <paramref name="variables"/> rather than the process's environment.</summary>
    /// <param name="variables">Reads an environment variable (<c>HF_HOME</c>, <c>HF_HUB_CACHE</c>, <c>HF_ENDPOINT</c>, <c>HF_TOKEN</c>, <c>HF_TOKEN_PATH</c>, <c>HF_HUB_OFFLINE</c>, ...).</param>
    /// <returns>The options.</returns>
    internal static HubOptions FromVariables(Func<string, string?> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        return new HubOptions { Variables = variables };
    }

    internal ResolvedHubOptions Resolve(Func<string, string?>? environment = null)
    {
        environment ??= Variables ?? Environment.GetEnvironmentVariable;
        string? Env(string name) => environment(name) is { Length: > 0 } value ? value : null;

        string home = Env("HF_HOME") ?? Path.Combine(Env("XDG_CACHE_HOME") ?? Path.Combine(UserHome(), ".cache"), "huggingface");
        home = ExpandUser(home);
        string cache = CacheDirectory ?? Env("HF_HUB_CACHE") ?? Env("HUGGINGFACE_HUB_CACHE") ?? Path.Combine(home, "hub");
        cache = Path.GetFullPath(ExpandUser(cache));

        Uri endpoint = Endpoint ?? (Env("HF_ENDPOINT") is { } text ? ParseEndpoint(text) : new Uri("https://huggingface.co"));
        string? token = Token ?? Env("HF_TOKEN") ?? Env("HUGGING_FACE_HUB_TOKEN") ?? ReadTokenFile(ExpandUser(Env("HF_TOKEN_PATH") ?? Path.Combine(home, "token")));
        bool offline = Offline ?? IsTrue(Env("HF_HUB_OFFLINE"));
        TimeSpan timeout = Timeout ?? TimeSpan.FromSeconds(10);
        if (timeout <= TimeSpan.Zero)
            throw new InvalidOperationException($"HubOptions.Timeout must be positive; it is {Timeout}.");
        return new ResolvedHubOptions(endpoint, string.IsNullOrWhiteSpace(token) ? null : token.Trim(), cache, offline, timeout);
    }

    private static Uri ParseEndpoint(string text)
    {
        if (!Uri.TryCreate(text.TrimEnd('/'), UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw new ArgumentException($"HF_ENDPOINT '{text}' is not an http or https address.", nameof(text));
        return uri;
    }

    private static string? ReadTokenFile(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool IsTrue(string? value)
        => value is not null && (value.Trim().ToUpperInvariant() is "1" or "TRUE" or "YES" or "ON");

    private static string UserHome() => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    private static string ExpandUser(string path)
        => path == "~" ? UserHome()
            : path.StartsWith("~/", StringComparison.Ordinal) || path.StartsWith("~\\", StringComparison.Ordinal) ? Path.Combine(UserHome(), path[2..])
            : path;
}
