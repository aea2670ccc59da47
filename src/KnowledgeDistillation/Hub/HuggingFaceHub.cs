using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using KnowledgeDistillation.Formats.Checkpoints;
using KnowledgeDistillation.IO;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KnowledgeDistillation.Hub;

/// <summary>
/// Resolves Hugging Face Hub model names (<c>org/name</c>, <c>org/name@revision</c>) to local snapshot folders, in the
/// cache <c>huggingface_hub</c> (Python) and huggingface.js use: <c>models--org--name/{blobs,refs,snapshots/&lt;commit&gt;}</c>,
/// snapshot files as relative links to content-addressed blobs (copies where links are impossible), <c>refs/&lt;revision&gt;</c>
/// holding the commit, and <c>.no_exist/&lt;commit&gt;/&lt;file&gt;</c> markers for files a repository lacks. A model either
/// library downloaded loads in the other without a download.
/// </summary>
/// <remarks>
/// Downloads follow the reference client: the repository's file list at a revision from
/// <c>/api/models/{repo}/revision/{revision}</c>, each file's commit, ETag and size from a <c>HEAD</c> on
/// <c>/{repo}/resolve/{commit}/{file}</c> (redirects to a file server not followed), the bytes from where it points, into
/// <c>blobs/&lt;etag&gt;.incomplete</c>, resumed with a range request after an interruption, under a lock in
/// <c>.locks/</c> that keeps processes downloading the same file apart. A file is stored only when its size and hash
/// (the LFS SHA-256, or the git blob SHA-1 of small files) match its ETag. The methods are safe to call concurrently.
/// </remarks>
public sealed class HuggingFaceHub : IDisposable
{
    private const string ErrorCodeHeader = "X-Error-Code";
    private const string ErrorMessageHeader = "X-Error-Message";
    private const int ReportEveryBytes = 1 << 20;
    private static readonly string UserAgent = $"KnowledgeDistillation/{typeof(HuggingFaceHub).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0"}; dotnet/{Environment.Version}";

    /// <summary>
    /// The one connection pool of the process. Redirects are followed by hand: the metadata request must see the file
    /// server's Location, and the token must not travel to another host. Pooled connections are renewed every few
    /// minutes so that a changed DNS answer (a mirror moved) is seen.
    /// </summary>
    private static readonly Lazy<SocketsHttpHandler> SharedHandler = new(() => new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
    });

    private readonly ResolvedHubOptions _options;
    private readonly ILogger _logger;
    private readonly HttpClient _http;

    /// <summary>Creates a client; no request is made until a model is resolved.</summary>
    /// <param name="options">Endpoint, token, cache folder and offline mode; <see langword="null"/> takes them all from the environment as Python does.</param>
    /// <param name="logger">Receives which models were downloaded or found cached; nothing is logged when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException"><c>HF_ENDPOINT</c> is not an http(s) address.</exception>
    public HuggingFaceHub(HubOptions? options = null, ILogger? logger = null)
    {
        _options = (options ?? new HubOptions()).Resolve();
        _logger = logger ?? NullLogger.Instance;
        // Every client shares the process's connection pool (SharedHandler): a handler per client would leave a socket
        // in TIME_WAIT per resolution. Timeouts are per request (Timeout(...)), so the pool needs no per-client settings.
        _http = new HttpClient(SharedHandler.Value, disposeHandler: false)
        {
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.TryAddWithoutValidation("User-Agent", UserAgent);
    }

    /// <summary>The cache folder in use (<see cref="HubOptions.CacheDirectory"/> or its environment default).</summary>
    public string CacheDirectory => _options.CacheDirectory;

    /// <summary>The Hub address in use (<see cref="HubOptions.Endpoint"/> or its environment default).</summary>
    public Uri Endpoint => _options.Endpoint;

    /// <summary>Whether the cache alone is used (<see cref="HubOptions.Offline"/> or <c>HF_HUB_OFFLINE</c>).</summary>
    public bool IsOffline => _options.Offline;

    /// <summary>Whether <paramref name="text"/> has the form of a Hub model name, <c>org/name</c> or <c>org/name@revision</c>.</summary>
    /// <param name="text">A model argument.</param>
    /// <returns><see langword="true"/> for a model name; it says nothing about whether the model exists.</returns>
    public static bool IsModelName(string? text) => HubModelId.TryParse(text, out _);

    /// <summary>
    /// Returns the local snapshot folder of a model, downloading the files a model load needs that the cache lacks:
    /// <c>*.json</c> and <c>*.txt</c> settings and tokenizer files, and the weights as safetensors (else
    /// <c>pytorch_model*.bin</c>); <c>onnx/model.onnx</c> when <paramref name="includeOnnx"/> is set or the repository
    /// has no PyTorch weights. Offline, the cached snapshot of the revision is returned as it is.
    /// </summary>
    /// <param name="model"><c>org/name</c> or <c>org/name@revision</c> (a branch, tag or 40-character commit; default <c>main</c>).</param>
    /// <param name="includeOnnx">Also fetch the ONNX export (<c>onnx/model.onnx</c> or <c>model.onnx</c>).</param>
    /// <param name="progress">Receives bytes as they arrive and each file as it is done.</param>
    /// <param name="cancellationToken">Stops the download; a partial file is kept as <c>.incomplete</c> and resumed next time.</param>
    /// <returns>The folder <c>snapshots/&lt;commit&gt;</c> of the model in the cache.</returns>
    /// <exception cref="ArgumentException"><paramref name="model"/> is not a Hub model name.</exception>
    /// <exception cref="HubException">The Hub refused (see <see cref="HubException.Kind"/>), or offline the cache lacks the model.</exception>
    public async Task<string> DownloadModelAsync(string model, bool includeOnnx = false, IProgress<HubDownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        HubModelId id = Parse(model);
        string storage = StorageFolder(id);
        if (_options.Offline)
            return FromCache(id, "offline mode: HubOptions.Offline or HF_HUB_OFFLINE");

        RepositoryInfo info;
        try
        {
            info = await GetRepositoryInfoAsync(id, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            return FromUnreachable(id, ex);
        }
        catch (TimeoutException ex)
        {
            return FromUnreachable(id, ex);
        }

        IReadOnlyList<string> files = HubFileSelection.Select(info.Files, includeOnnx);
        if (files.Count == 0)
        {
            throw new HubException(HubErrorKind.EntryNotFound, id.Repository,
                $"{id} (commit {info.Commit}) has no model files: none of its {info.Files.Count} files is a settings, tokenizer or weights file.");
        }
        int downloaded = 0;
        for (int i = 0; i < files.Count; i++)
        {
            if (await DownloadToCacheAsync(id, info.Commit, files[i], i, files.Count, progress, cancellationToken).ConfigureAwait(false))
                downloaded++;
        }
        // The ref is written last, so that offline resolution never finds a revision whose snapshot is partial.
        if (id.Revision != info.Commit)
            await WriteRefAsync(storage, id.Revision, info.Commit, cancellationToken).ConfigureAwait(false);
        string snapshot = SnapshotFolder(storage, info.Commit);
        HubLog.Resolved(_logger, id, info.Commit, snapshot, downloaded, files.Count);
        return snapshot;
    }

    /// <summary>
    /// Returns the local path of one file of a model, downloading it when the cache lacks it (offline, the cached file).
    /// A file the repository lacks is recorded under <c>.no_exist/</c>, as Python does.
    /// </summary>
    /// <param name="model"><c>org/name</c> or <c>org/name@revision</c>.</param>
    /// <param name="fileName">The path in the repository, for example <c>config.json</c> or <c>onnx/model.onnx</c>.</param>
    /// <param name="progress">Receives bytes as they arrive.</param>
    /// <param name="cancellationToken">Stops the download; a partial file is resumed next time.</param>
    /// <returns>The file under <c>snapshots/&lt;commit&gt;/</c>.</returns>
    /// <exception cref="ArgumentException"><paramref name="model"/> is not a Hub model name, or <paramref name="fileName"/> is not a relative path inside the repository.</exception>
    /// <exception cref="HubException">The Hub refused (see <see cref="HubException.Kind"/>), or offline the cache lacks the file.</exception>
    public async Task<string> DownloadFileAsync(string model, string fileName, IProgress<HubDownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        HubModelId id = Parse(model);
        ArgumentNullException.ThrowIfNull(fileName);
        if (!HubFileSelection.IsSafeRelativePath(fileName))
            throw new ArgumentException($"'{fileName}' is not a relative path inside a repository (use '/' between folders).", nameof(fileName));
        string storage = StorageFolder(id);
        if (!_options.Offline)
        {
            try
            {
                string? commit = id.RevisionIsCommit ? id.Revision : null;
                if (commit is null || !File.Exists(Path.Combine(SnapshotFolder(storage, commit), fileName)))
                {
                    FileMetadata metadata = await GetFileMetadataAsync(id, id.Revision, fileName, cancellationToken).ConfigureAwait(false);
                    commit = metadata.Commit;
                    await DownloadToCacheAsync(id, commit, fileName, 0, 1, progress, cancellationToken, metadata).ConfigureAwait(false);
                    if (id.Revision != commit)
                        await WriteRefAsync(storage, id.Revision, commit, cancellationToken).ConfigureAwait(false);
                }
                return Path.Combine(SnapshotFolder(storage, commit), fileName);
            }
            catch (HttpRequestException ex)
            {
                HubLog.Unreachable(_logger, _options.Endpoint, ex.Message, id);
            }
            catch (TimeoutException ex)
            {
                HubLog.Unreachable(_logger, _options.Endpoint, ex.Message, id);
            }
        }
        string snapshot = FromCache(id, _options.Offline ? "offline mode: HubOptions.Offline or HF_HUB_OFFLINE" : $"{_options.Endpoint} could not be reached");
        string path = Path.Combine(snapshot, fileName);
        if (File.Exists(path))
            return path;
        string commitHash = Path.GetFileName(snapshot);
        // A file the repository lacks, as an earlier request (here or in Python) found and recorded: the Hub need not be asked.
        if (File.Exists(Path.Combine(storage, ".no_exist", commitHash, fileName)))
            throw new HubException(HubErrorKind.EntryNotFound, id.Repository, $"{id} has no file {fileName} at commit {commitHash} (recorded in the cache's .no_exist folder).");
        throw new HubException(HubErrorKind.NotInCache, id.Repository,
            $"{fileName} of {id} is not in the cache ({snapshot} lacks it) and the Hub was not contacted; download it once online.");
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private static HubModelId Parse(string model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!HubModelId.TryParse(model, out HubModelId? id))
            throw new ArgumentException($"'{model}' is not a Hugging Face Hub model name (org/name or org/name@revision).", nameof(model));
        return id;
    }

    private string StorageFolder(HubModelId id) => Path.Combine(_options.CacheDirectory, id.FolderName);

    private static string SnapshotFolder(string storage, string commit) => Path.Combine(storage, "snapshots", commit);

    private string FromUnreachable(HubModelId id, Exception error)
    {
        string reason = $"{_options.Endpoint} could not be reached: {error.Message}";
        string snapshot = FromCache(id, reason);
        HubLog.Unreachable(_logger, _options.Endpoint, error.Message, id);
        return snapshot;
    }

    /// <summary>The cached snapshot of a revision, or a <see cref="HubErrorKind.NotInCache"/> error saying what is missing.</summary>
    private string FromCache(HubModelId id, string reason)
    {
        string storage = StorageFolder(id);
        string commit;
        if (id.RevisionIsCommit)
        {
            commit = id.Revision;
        }
        else
        {
            string refFile = Path.Combine(storage, "refs", id.Revision);
            if (!File.Exists(refFile))
            {
                throw new HubException(HubErrorKind.NotInCache, id.Repository,
                    $"{id} is not in the cache and the Hub was not contacted ({reason}): {refFile} is missing, so revision '{id.Revision}' was never downloaded to {_options.CacheDirectory}. "
                    + "Download it once online (here, or with Python's huggingface_hub, which shares this cache), or pass a local folder.");
            }
            commit = File.ReadAllText(refFile).Trim();
        }
        string snapshot = SnapshotFolder(storage, commit);
        if (!Directory.Exists(snapshot) || !Directory.EnumerateFiles(snapshot, "*", SearchOption.AllDirectories).Any(File.Exists))
        {
            throw new HubException(HubErrorKind.NotInCache, id.Repository,
                $"{id} is not in the cache and the Hub was not contacted ({reason}): the snapshot folder {snapshot} (commit {commit}) is missing or holds no files. Download it once online, or pass a local folder.");
        }
        HubLog.FromCache(_logger, id, reason, snapshot);
        return snapshot;
    }

    private static async Task WriteRefAsync(string storage, string revision, string commit, CancellationToken cancellationToken)
    {
        string path = Path.Combine(storage, "refs", revision);
        if (File.Exists(path) && (await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false)).Trim() == commit)
            return;
        // No newline, as both reference clients write it.
        await AtomicWrite.WriteFileAsync(path, (stream, ct) => stream.WriteAsync(Encoding.ASCII.GetBytes(commit), ct).AsTask(), cancellationToken).ConfigureAwait(false);
    }

    private sealed record RepositoryInfo(string Commit, IReadOnlyList<string> Files);

    private sealed record FileMetadata(string Commit, string ETag, long Size, Uri Location);

    private async Task<RepositoryInfo> GetRepositoryInfoAsync(HubModelId id, CancellationToken cancellationToken)
    {
        var url = new Uri(_options.Endpoint, $"{_options.Endpoint.AbsolutePath.TrimEnd('/')}/api/models/{id.Repository}/revision/{Uri.EscapeDataString(id.Revision)}");
        using HttpResponseMessage response = await SendAsync(HttpMethod.Get, url, followRedirects: true, range: null, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw await ErrorAsync(response, id, fileName: null, cancellationToken).ConfigureAwait(false);
        using var timeout = Timeout(cancellationToken);
        try
        {
            using JsonDocument json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false), default, timeout.Token).ConfigureAwait(false);
            JsonElement root = json.RootElement;
            string? sha = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("sha", out JsonElement s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            if (sha is null || !HubModelId.IsCommitHash(sha))
                throw new HubException(HubErrorKind.Server, id.Repository, $"{url} answered without a 40-character commit 'sha'; is {_options.Endpoint} a Hugging Face Hub?", (int)response.StatusCode);
            var files = new List<string>();
            if (root.TryGetProperty("siblings", out JsonElement siblings) && siblings.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement sibling in siblings.EnumerateArray())
                {
                    if (sibling.ValueKind == JsonValueKind.Object && sibling.TryGetProperty("rfilename", out JsonElement name) && name.ValueKind == JsonValueKind.String)
                        files.Add(name.GetString()!);
                }
            }
            return new RepositoryInfo(sha, files);
        }
        catch (JsonException ex)
        {
            throw new HubException(HubErrorKind.Server, id.Repository, $"{url} answered with invalid JSON: {ex.Message}", (int)response.StatusCode, ex);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{url} sent no data for {_options.Timeout.TotalSeconds:0.#} s.");
        }
    }

    private Uri ResolveUrl(HubModelId id, string revision, string fileName)
        => new(_options.Endpoint, $"{_options.Endpoint.AbsolutePath.TrimEnd('/')}/{id.Repository}/resolve/{Uri.EscapeDataString(revision)}/{string.Join('/', fileName.Split('/').Select(Uri.EscapeDataString))}");

    private async Task<FileMetadata> GetFileMetadataAsync(HubModelId id, string revision, string fileName, CancellationToken cancellationToken)
    {
        Uri url = ResolveUrl(id, revision, fileName);
        // Relative redirects (a renamed repository) are followed; one to another host (the file server) is where the bytes are.
        using HttpResponseMessage response = await SendAsync(HttpMethod.Head, url, followRedirects: false, range: null, cancellationToken).ConfigureAwait(false);
        int status = (int)response.StatusCode;
        string? commit = Header(response, "X-Repo-Commit");
        if (status is < 200 or >= 400)
        {
            if (status == 404 && Header(response, ErrorCodeHeader) == "EntryNotFound" && commit is not null && HubModelId.IsCommitHash(commit))
                await MarkMissingAsync(id, commit, fileName, revision, cancellationToken).ConfigureAwait(false);
            throw await ErrorAsync(response, id, fileName, cancellationToken).ConfigureAwait(false);
        }
        string? etag = NormalizeETag(Header(response, "X-Linked-Etag") ?? Header(response, "ETag"));
        string? sizeText = Header(response, "X-Linked-Size");
        long? size = sizeText is not null && long.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out long linked) ? linked : response.Content.Headers.ContentLength;
        if (commit is null || !HubModelId.IsCommitHash(commit))
            throw new HubException(HubErrorKind.Server, id.Repository, $"{url} answered without an X-Repo-Commit header; is {_options.Endpoint} a Hugging Face Hub (or a proxy that drops its headers)?", status);
        if (etag is null || !HubFileSelection.IsSafeRelativePath(etag) || etag.Contains('/', StringComparison.Ordinal))
            throw new HubException(HubErrorKind.Server, id.Repository, $"{url} answered without a usable ETag or X-Linked-Etag header, which names the file's content in the cache.", status);
        if (size is null or < 0)
            throw new HubException(HubErrorKind.Server, id.Repository, $"{url} answered without the file's size (X-Linked-Size or Content-Length).", status);
        Uri location = status is >= 300 and < 400 && response.Headers.Location is { } target ? new Uri(url, target) : url;
        return new FileMetadata(commit, etag, size.Value, location);
    }

    private async Task MarkMissingAsync(HubModelId id, string commit, string fileName, string revision, CancellationToken cancellationToken)
    {
        string storage = StorageFolder(id);
        string marker = Path.Combine(storage, ".no_exist", commit, fileName);
        Directory.CreateDirectory(Path.GetDirectoryName(marker)!);
        await File.WriteAllBytesAsync(marker, [], cancellationToken).ConfigureAwait(false);
        if (revision != commit)
            await WriteRefAsync(storage, revision, commit, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Makes <c>snapshots/&lt;commit&gt;/&lt;file&gt;</c> present; returns whether bytes were downloaded.</summary>
    private async Task<bool> DownloadToCacheAsync(HubModelId id, string commit, string fileName, int index, int count,
        IProgress<HubDownloadProgress>? progress, CancellationToken cancellationToken, FileMetadata? metadata = null)
    {
        string storage = StorageFolder(id);
        string pointer = Path.Combine(SnapshotFolder(storage, commit), fileName);
        if (metadata is null && CachedLength(pointer) is long length)
        {
            // A commit never changes, so a file present under its snapshot is current (as in both reference clients).
            progress?.Report(new HubDownloadProgress(fileName, length, length, index, count));
            return false;
        }
        metadata ??= await GetFileMetadataAsync(id, commit, fileName, cancellationToken).ConfigureAwait(false);
        string blob = Path.Combine(storage, "blobs", metadata.ETag);
        if (IsComplete(blob, metadata.Size))
        {
            Link(blob, pointer);
            progress?.Report(new HubDownloadProgress(fileName, metadata.Size, metadata.Size, index, count));
            return false;
        }
        string lockPath = Path.Combine(_options.CacheDirectory, ".locks", id.FolderName, metadata.ETag + ".lock");
        using (await HubFileLock.AcquireAsync(lockPath, _logger, cancellationToken).ConfigureAwait(false))
        {
            // Another process may have finished the blob while this one waited for the lock.
            if (!IsComplete(blob, metadata.Size))
                await DownloadBlobAsync(id, fileName, metadata, blob, index, count, progress, cancellationToken).ConfigureAwait(false);
            Link(blob, pointer);
        }
        progress?.Report(new HubDownloadProgress(fileName, metadata.Size, metadata.Size, index, count));
        return true;
    }

    /// <summary>
    /// The size of a snapshot file, through its link to the blob (a link's own length is its target's name), or
    /// <see langword="null"/> when it is missing or its link dangles (a blob deleted from the cache), as Python's
    /// <c>os.path.exists</c> sees it.
    /// </summary>
    private static long? CachedLength(string pointer)
    {
        var info = new FileInfo(pointer);
        if (!info.Exists)
            return null;
        if (info.LinkTarget is null)
            return info.Length;
        return info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo { Exists: true } target ? target.Length : null;
    }

    private static bool IsComplete(string blob, long size) => File.Exists(blob) && new FileInfo(blob).Length == size;

    private async Task DownloadBlobAsync(HubModelId id, string fileName, FileMetadata metadata, string blob, int index, int count,
        IProgress<HubDownloadProgress>? progress, CancellationToken cancellationToken)
    {
        string incomplete = blob + ".incomplete";
        Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
        long start = File.Exists(incomplete) ? new FileInfo(incomplete).Length : 0;
        if (start > metadata.Size)
            start = 0;
        HubLog.Downloading(_logger, id, fileName, metadata.Size, _options.Endpoint, start);

        using HttpResponseMessage response = await SendAsync(HttpMethod.Get, metadata.Location, followRedirects: true,
            range: start > 0 && start < metadata.Size ? start : null, cancellationToken).ConfigureAwait(false);
        int status = (int)response.StatusCode;
        if (status == 416 && start == metadata.Size)
        {
            // All bytes were there: the process stopped between the last write and the rename.
        }
        else if (status == 206 && start > 0 && response.Content.Headers.ContentRange?.From == start)
        {
            // Resumed: the server sends the rest.
        }
        else if (status == 200)
        {
            start = 0;
        }
        else
        {
            throw status is >= 200 and < 300
                ? new HubException(HubErrorKind.Server, id.Repository, $"{metadata.Location} answered {status} to a range request from byte {start} without the matching Content-Range.", status)
                : await ErrorAsync(response, id, fileName, cancellationToken).ConfigureAwait(false);
        }

        using IncrementalHash? hash = CreateHash(metadata);
        var file = new FileStream(incomplete, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.Asynchronous);
        await using (file.ConfigureAwait(false))
        {
            file.SetLength(start);
            byte[] buffer = new byte[1 << 16];
            if (hash is not null && start > 0)
            {
                // The kept part is hashed again, so the check covers the whole file, not only the resumed bytes.
                file.Position = 0;
                int read;
                while ((read = await file.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                    hash.AppendData(buffer, 0, read);
            }
            file.Position = start;
            long written = start;
            // The first report of a download says where it starts (0, or the resumed part), so a file that reports itself
            // complete at once was found in the cache.
            if (written < metadata.Size)
                progress?.Report(new HubDownloadProgress(fileName, written, metadata.Size, index, count));
            if (status != 416)
            {
                using var timeout = Timeout(cancellationToken);
                try
                {
                    Stream body = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
                    await using (body.ConfigureAwait(false))
                    {
                        long reported = written;
                        int read;
                        while (true)
                        {
                            timeout.CancelAfter(_options.Timeout);
                            read = await body.ReadAsync(buffer, timeout.Token).ConfigureAwait(false);
                            if (read == 0)
                                break;
                            await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                            hash?.AppendData(buffer, 0, read);
                            written += read;
                            if (written > metadata.Size)
                                break;
                            if (written - reported >= ReportEveryBytes)
                            {
                                progress?.Report(new HubDownloadProgress(fileName, written, metadata.Size, index, count));
                                reported = written;
                            }
                        }
                    }
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    await file.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                    throw new TimeoutException($"{metadata.Location} sent no data for {_options.Timeout.TotalSeconds:0.#} s; {written} of {metadata.Size} bytes are kept in {incomplete} and resumed next time.");
                }
                catch (IOException ex) when (ex is not HubException)
                {
                    await file.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                    throw new HttpRequestException($"The download of {fileName} from {metadata.Location} broke off after {written} of {metadata.Size} bytes ({ex.Message}); they are kept in {incomplete} and resumed next time.", ex);
                }
            }
            string? problem = written != metadata.Size
                ? $"{written} bytes arrived where the server announced {metadata.Size}"
                : hash is not null && !Convert.ToHexString(hash.GetHashAndReset()).Equals(metadata.ETag, StringComparison.OrdinalIgnoreCase)
                    ? $"its {(metadata.ETag.Length == 64 ? "SHA-256" : "git blob SHA-1")} is not {metadata.ETag}, the hash the server announced"
                    : null;
            if (problem is not null)
            {
                file.SetLength(0);
                await file.DisposeAsync().ConfigureAwait(false);
                File.Delete(incomplete);
                throw new HubException(HubErrorKind.Integrity, id.Repository,
                    $"{fileName} of {id} from {metadata.Location} is corrupt: {problem}. Nothing was stored; try again, and if it repeats, the mirror or proxy at {_options.Endpoint} serves damaged files.");
            }
            await file.FlushAsync(cancellationToken).ConfigureAwait(false);
            file.Flush(flushToDisk: true);
        }
        File.Move(incomplete, blob, overwrite: true);
        // Resumable downloads keep their own .incomplete name; the rename is made durable as every atomic write's is.
        AtomicWrite.SyncDirectory(Path.GetDirectoryName(blob)!);
    }

    /// <summary>The hash the ETag names: a 64-hex ETag is an LFS file's SHA-256, a 40-hex one a git blob's SHA-1.</summary>
    private static IncrementalHash? CreateHash(FileMetadata metadata)
    {
        if (metadata.ETag.Length == 64 && metadata.ETag.All(char.IsAsciiHexDigit))
            return IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        if (metadata.ETag.Length == 40 && metadata.ETag.All(char.IsAsciiHexDigit))
        {
#pragma warning disable CA5350 // git names blobs by SHA-1; it is the integrity check git and the Hub offer for small files.
            var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
#pragma warning restore CA5350
            sha1.AppendData(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"blob {metadata.Size}\0")));
            return sha1;
        }
        return null;
    }

    /// <summary>Points <c>snapshots/&lt;commit&gt;/&lt;file&gt;</c> at its blob with a relative link (a copy where links are impossible), replacing what was there atomically.</summary>
    private void Link(string blob, string pointer)
    {
        string folder = Path.GetDirectoryName(pointer)!;
        Directory.CreateDirectory(folder);
        string temp = Path.Combine(folder, $".{Path.GetFileName(pointer)}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.CreateSymbolicLink(temp, Path.GetRelativePath(folder, blob));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            HubLog.CopyingInsteadOfLink(_logger, folder, ex.Message, blob);
            File.Copy(blob, temp, overwrite: true);
        }
        File.Move(temp, pointer, overwrite: true);
        AtomicWrite.SyncDirectory(folder);
    }

    private CancellationTokenSource Timeout(CancellationToken cancellationToken)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        source.CancelAfter(_options.Timeout);
        return source;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri url, bool followRedirects, long? range, CancellationToken cancellationToken)
    {
        for (int redirects = 0; ; redirects++)
        {
            using var request = new HttpRequestMessage(method, url);
            // The token goes to the Hub only, never to a file server on another host.
            if (_options.Token is not null && SameOrigin(url, _options.Endpoint))
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.Token);
            request.Headers.AcceptEncoding.ParseAdd("identity");
            if (range is not null)
                request.Headers.Range = new RangeHeaderValue(range, null);
            using var timeout = Timeout(cancellationToken);
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"{url} did not answer within {_options.Timeout.TotalSeconds:0.#} s.");
            }
            int status = (int)response.StatusCode;
            if (status is >= 300 and < 400 && response.Headers.Location is { } location && redirects < 10)
            {
                var target = new Uri(url, location);
                // Without followRedirects only a redirect on the same host is followed: a renamed repository.
                if (followRedirects || !location.IsAbsoluteUri)
                {
                    response.Dispose();
                    url = target;
                    continue;
                }
            }
            return response;
        }
    }

    private static bool SameOrigin(Uri a, Uri b)
        => string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase) && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

    private static string? Header(HttpResponseMessage response, string name)
        => response.Headers.TryGetValues(name, out IEnumerable<string>? values) || response.Content.Headers.TryGetValues(name, out values)
            ? values.FirstOrDefault()
            : null;

    private static string? NormalizeETag(string? etag)
    {
        if (etag is null)
            return null;
        if (etag.StartsWith("W/", StringComparison.Ordinal))
            etag = etag[2..];
        etag = etag.Trim('"');
        return etag.Length == 0 ? null : etag;
    }

    /// <summary>Maps an error response to a <see cref="HubException"/> the way huggingface_hub's <c>hf_raise_for_status</c> reads it.</summary>
    private async Task<HubException> ErrorAsync(HttpResponseMessage response, HubModelId id, string? fileName, CancellationToken cancellationToken)
    {
        int status = (int)response.StatusCode;
        string? code = Header(response, ErrorCodeHeader);
        string? serverMessage = Header(response, ErrorMessageHeader);
        if (serverMessage is null && response.RequestMessage?.Method != HttpMethod.Head)
        {
            try
            {
                using var timeout = Timeout(cancellationToken);
                string body = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
                serverMessage = body.Length > 300 ? body[..300] : body;
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
            {
                // The status alone is enough.
            }
        }
        string detail = string.IsNullOrWhiteSpace(serverMessage) ? $"HTTP {status}" : $"HTTP {status}: {serverMessage.Trim()}";
        string tokenNote = _options.Token is null
            ? "No token was sent; set HF_TOKEN, run `huggingface-cli login`, or set HubOptions.Token."
            : "A token was sent.";
        string what = fileName is null ? id.ToString() : $"{fileName} of {id}";
        bool invalidCredentials = serverMessage?.Contains("Invalid credentials", StringComparison.OrdinalIgnoreCase) == true
            || serverMessage?.Contains("Invalid username or password", StringComparison.OrdinalIgnoreCase) == true;
        (HubErrorKind kind, string message) = code switch
        {
            "RevisionNotFound" => (HubErrorKind.RevisionNotFound, $"{id.Repository} has no revision '{id.Revision}' (branch, tag or commit) ({detail})."),
            "EntryNotFound" => (HubErrorKind.EntryNotFound, $"{id} has no file {fileName} ({detail})."),
            "GatedRepo" => (HubErrorKind.GatedRepository, $"{id.Repository} is gated: accept its conditions at {_options.Endpoint.ToString().TrimEnd('/')}/{id.Repository} with the account whose token you use ({detail}). {tokenNote}"),
            "RepoNotFound" => (HubErrorKind.RepositoryNotFound, $"{id.Repository} does not exist on {_options.Endpoint}, or it is private and the token cannot see it ({detail}). {tokenNote}"),
            _ when status == 401 && (invalidCredentials || _options.Token is not null && code is null && serverMessage is not null && serverMessage.Contains("token", StringComparison.OrdinalIgnoreCase))
                => (HubErrorKind.Unauthorized, $"{_options.Endpoint} refused the token ({detail}): it is invalid, expired or revoked. Check HF_TOKEN, the token file or HubOptions.Token."),
            _ when status == 401 => (HubErrorKind.RepositoryNotFound, $"{id.Repository} does not exist on {_options.Endpoint}, or it is private and the token cannot see it ({detail}). {tokenNote}"),
            _ when status == 403 => (HubErrorKind.Unauthorized, $"{_options.Endpoint} refused access to {what} ({detail}): the token lacks the permission. {tokenNote}"),
            _ when status == 404 && fileName is not null => (HubErrorKind.EntryNotFound, $"{what} was not found ({detail})."),
            _ when status == 404 => (HubErrorKind.RepositoryNotFound, $"{id.Repository} was not found on {_options.Endpoint} ({detail})."),
            _ => (HubErrorKind.Server, $"{_options.Endpoint} failed on {what} ({detail})."),
        };
        return new HubException(kind, id.Repository, message, status);
    }
}
