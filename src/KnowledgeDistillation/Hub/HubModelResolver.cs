using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KnowledgeDistillation.Hub;

/// <summary>
/// Where every loader (the <c>FromPretrained</c> methods, the tokenizer, the ONNX Runtime package, the Workflow's
/// teachers, the CLI) turns a model argument into a local path, so that a Hub name works wherever a folder does.
/// </summary>
internal static class HubModelResolver
{
    /// <summary>
    /// Turns a model argument into a local path, the one place where that happens: an existing folder or file is used as
    /// is (it wins over a Hub model of the same name, and the choice is logged); a Hugging Face Hub name, <c>org/name</c>
    /// or <c>org/name@revision</c>, becomes its snapshot folder in the cache Python shares, downloaded when missing, with
    /// the endpoint, token, cache folder and offline mode from the environment (<see cref="HubOptions"/>' defaults);
    /// anything else is returned unchanged for <see cref="Models.ModelFolder.EnsureExists"/> to report.
    /// </summary>
    /// <param name="path">The model argument.</param>
    /// <param name="logger">Receives the choice and the download; may be <see langword="null"/>.</param>
    /// <param name="includeOnnx">Fetch the repository's ONNX export too (the ONNX Runtime package needs it).</param>
    /// <param name="progress">Receives the download's bytes per file (cached files are reported complete at once).</param>
    /// <param name="options">
    /// The Hub settings; <see langword="null"/> (the library's loaders) reads them all from the process's environment.
    /// <c>kd</c> passes <see cref="HubOptions.FromVariables"/> over its <c>CliEnvironment</c>.
    /// </param>
    /// <param name="cancellationToken">Stops a download; its partial file is resumed next time.</param>
    /// <returns>The local path: <paramref name="path"/> itself, or the model's snapshot folder.</returns>
    /// <exception cref="HubException">A Hub name could not be resolved.</exception>
    public static async Task<string> ResolveAsync(string path, ILogger? logger, bool includeOnnx = false, IProgress<HubDownloadProgress>? progress = null, HubOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        logger ??= NullLogger.Instance;
        if (!IsHubName(path, logger))
            return path;
        // A client is cheap: every client shares the process's connection pool. The options are read from the
        // environment at each resolution, as Python reads them at each call.
        using var hub = new HuggingFaceHub(options, logger);
        HubLog.HubModel(logger, path, hub.CacheDirectory);
        return await hub.DownloadModelAsync(path, includeOnnx, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// <see cref="ResolveAsync"/> for the synchronous loaders (<c>FromPretrained</c>); a local path returns without a
    /// thread hop.
    /// </summary>
    /// <param name="path">The model argument.</param>
    /// <param name="logger">Receives the choice and the download; may be <see langword="null"/>.</param>
    /// <param name="includeOnnx">Fetch the repository's ONNX export too.</param>
    /// <param name="options">The Hub settings; <see langword="null"/> reads them from the process's environment.</param>
    /// <returns>The local path.</returns>
    /// <exception cref="HubException">A Hub name could not be resolved.</exception>
    public static string Resolve(string path, ILogger? logger, bool includeOnnx = false, HubOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!IsHubName(path, logger ?? NullLogger.Instance))
            return path;
        return Task.Run(() => ResolveAsync(path, logger, includeOnnx, options: options)).GetAwaiter().GetResult();
    }

    /// <summary>The repository of a Hub name (<c>org/name</c> of <c>org/name@revision</c>), or <see langword="null"/>.</summary>
    public static string? RepositoryOf(string name) => HubModelId.TryParse(name, out HubModelId? id) ? id.Repository : null;

    /// <summary>Whether <paramref name="path"/> is to be resolved on the Hub: a Hub name that is not an existing local path (which wins, logged).</summary>
    private static bool IsHubName(string path, ILogger logger)
    {
        // A .onnx path names a file, never a repository.
        bool hubName = !Path.IsPathRooted(path) && !path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) && HuggingFaceHub.IsModelName(path);
        if (Directory.Exists(path) || File.Exists(path))
        {
            if (hubName)
                HubLog.LocalPath(logger, path);
            return false;
        }
        return hubName;
    }
}
