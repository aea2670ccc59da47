using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

// git names commits and blobs by SHA-1; the server computes them as git does.
#pragma warning disable CA5350

namespace KnowledgeDistillation.Tests.Hub;

/// <summary>
/// A Hugging Face Hub on 127.0.0.1 that answers as huggingface.co does for what huggingface_hub (Python) and
/// huggingface.js ask of it: <c>/api/models/{repo}/revision/{rev}</c> (sha, siblings), <c>/tree/{rev}</c> and
/// <c>/paths-info/{rev}</c> (what the JavaScript client lists and reads ETags from), and <c>/{repo}/resolve/{rev}/{file}</c>:
/// small files served directly with the git blob SHA-1 as ETag, LFS files (weights) as a 302 to a file server path
/// <c>/cdn/{sha256}</c> with <c>X-Linked-Etag</c> / <c>X-Linked-Size</c>, always <c>X-Repo-Commit</c>; range requests;
/// the error codes (<c>X-Error-Code</c> RepoNotFound, GatedRepo, RevisionNotFound, EntryNotFound; a refused token).
/// Its answers are checked against the official JavaScript client in KnowledgeDistillation.Tests' HubInteropTests.
/// Shared by the library's and kd's tests.
/// </summary>
internal sealed class LoopbackHub : IDisposable
{
    private const int LfsThreshold = 1024;
    private readonly HttpListener _listener = new();
    private readonly HttpListener _fileServer = new();
    private readonly Dictionary<string, HubRepo> _repos = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Task _fileLoop;
    private bool _disposed;

    public LoopbackHub()
    {
        int port = FreePort();
        Endpoint = new Uri($"http://127.0.0.1:{port}");
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        // The file server is another origin, as the Hub's CDN is: a client must not send it the token.
        int filePort = FreePort();
        FileServer = new Uri($"http://127.0.0.1:{filePort}");
        _fileServer.Prefixes.Add($"http://127.0.0.1:{filePort}/");
        _fileServer.Start();
        _loop = Task.Run(() => LoopAsync(_listener));
        _fileLoop = Task.Run(() => LoopAsync(_fileServer));
    }

    public Uri Endpoint { get; }

    public Uri FileServer { get; }

    /// <summary>Every request: method, path and query, and the Range and Authorization headers.</summary>
    public ConcurrentQueue<(string Method, string Path, string? Range, string? Authorization)> Requests { get; } = new();

    /// <summary>The client-side port of the connection each request to the Hub (not the file server) came on: one port, one connection.</summary>
    public ConcurrentQueue<int> HubClientPorts { get; } = new();

    /// <summary>Tokens the server accepts; any other token is refused with 401 "Invalid credentials".</summary>
    public HashSet<string> ValidTokens { get; } = new(StringComparer.Ordinal);

    /// <summary>Bytes per second the file server sends LFS files at (0 = unlimited), so a test can kill a download midway.</summary>
    public int BytesPerSecond { get; set; }

    /// <summary>When set, the file server flips one byte of every LFS file it sends.</summary>
    public bool CorruptLfsFiles { get; set; }

    /// <summary>Adds (or replaces) a repository whose <paramref name="revision"/> points at a new commit holding <paramref name="files"/>.</summary>
    public string AddCommit(string repository, IReadOnlyDictionary<string, byte[]> files, string revision = "main", string? grantedToken = null)
    {
        lock (_repos)
        {
            if (!_repos.TryGetValue(repository, out HubRepo? repo))
                _repos[repository] = repo = new HubRepo();
            repo.GrantedToken = grantedToken;
            string commit = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes($"{repository}:{repo.Commits.Count}:{string.Join(",", files.Keys)}")));
            repo.Commits[commit] = new Dictionary<string, byte[]>(files, StringComparer.Ordinal);
            repo.Refs[revision] = commit;
            return commit;
        }
    }

    public static string Sha256(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    public static string GitBlobSha1(byte[] data)
    {
        byte[] header = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"blob {data.Length}\0"));
        return Convert.ToHexStringLower(SHA1.HashData([.. header, .. data]));
    }

    public static bool IsLfs(string path, byte[] data) => data.Length > LfsThreshold || path.EndsWith(".safetensors", StringComparison.Ordinal) || path.EndsWith(".onnx", StringComparison.Ordinal);

    public int CountRequests(string method, string pathPrefix) => Requests.Count(r => r.Method == method && r.Path.StartsWith(pathPrefix, StringComparison.Ordinal));

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _stop.Cancel();
        _listener.Close();
        _fileServer.Close();
        try
        {
            Task.WaitAll([_loop, _fileLoop], TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
        _stop.Dispose();
    }

    private static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    private async Task LoopAsync(HttpListener listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        HttpListenerRequest request = context.Request;
        HttpListenerResponse response = context.Response;
        Requests.Enqueue((request.HttpMethod, request.Url!.PathAndQuery, request.Headers["Range"], request.Headers["Authorization"]));
        if (request.LocalEndPoint.Port == Endpoint.Port)
            HubClientPorts.Enqueue(request.RemoteEndPoint.Port);
        try
        {
            await RouteAsync(request, response);
        }
        catch (Exception ex) when (ex is HttpListenerException or IOException or ObjectDisposedException)
        {
            // The client went away (a killed download).
        }
        finally
        {
            try
            {
                response.Close();
            }
            catch (Exception ex) when (ex is HttpListenerException or IOException or ObjectDisposedException or InvalidOperationException)
            {
            }
        }
    }

    private async Task RouteAsync(HttpListenerRequest request, HttpListenerResponse response)
    {
        string path = Uri.UnescapeDataString(request.Url!.AbsolutePath);
        if (path.StartsWith("/cdn/", StringComparison.Ordinal))
        {
            await ServeCdnAsync(path["/cdn/".Length..], request, response);
            return;
        }
        string[] parts = path.Trim('/').Split('/');
        if (parts.Length >= 5 && parts[0] == "api" && parts[1] == "models")
        {
            string repository = $"{parts[2]}/{parts[3]}";
            string action = parts[4];
            string revision = parts.Length > 5 ? string.Join('/', parts[5..]) : "main";
            if (!Authorize(repository, request, response, out HubRepo? repo))
                return;
            if (!TryRevision(repo, revision, response, out string? commit))
                return;
            Dictionary<string, byte[]> files = repo.Commits[commit];
            switch (action)
            {
                case "revision":
                    await WriteJsonAsync(response, new JsonObject
                    {
                        ["_id"] = Sha256(Encoding.UTF8.GetBytes(repository))[..24],
                        ["id"] = repository,
                        ["modelId"] = repository,
                        ["sha"] = commit,
                        ["private"] = false,
                        ["gated"] = repo.GrantedToken is null ? false : "manual",
                        ["downloads"] = 0,
                        ["likes"] = 0,
                        ["lastModified"] = "2026-01-01T00:00:00.000Z",
                        ["pipeline_tag"] = "sentence-similarity",
                        ["siblings"] = new JsonArray(files.Keys.Order(StringComparer.Ordinal).Select(f => (JsonNode)new JsonObject { ["rfilename"] = f }).ToArray()),
                    });
                    return;
                case "tree":
                    await WriteJsonAsync(response, new JsonArray(TreeEntries(files, commit, expandCommit: false).ToArray()));
                    return;
                case "paths-info":
                    using (JsonDocument body = await JsonDocument.ParseAsync(request.InputStream))
                    {
                        string[] wanted = body.RootElement.GetProperty("paths").EnumerateArray().Select(p => p.GetString()!).ToArray();
                        await WriteJsonAsync(response, new JsonArray(TreeEntries(files, commit, expandCommit: true).Where(e => wanted.Contains((string)e!["path"]!)).ToArray()));
                    }
                    return;
            }
        }
        int resolve = Array.IndexOf(parts, "resolve");
        if (resolve == 2 && parts.Length >= 5)
        {
            string repository = $"{parts[0]}/{parts[1]}";
            if (!Authorize(repository, request, response, out HubRepo? repo))
                return;
            string revision = parts[3];
            if (!TryRevision(repo, revision, response, out string? commit))
                return;
            string file = string.Join('/', parts[4..]);
            response.Headers["X-Repo-Commit"] = commit;
            if (!repo.Commits[commit].TryGetValue(file, out byte[]? data))
            {
                Error(response, 404, "EntryNotFound", $"{file} does not exist on \"{revision}\"");
                return;
            }
            if (IsLfs(file, data))
            {
                string sha = Sha256(data);
                response.StatusCode = 302;
                response.Headers["Location"] = new Uri(FileServer, $"/cdn/{sha}?repo={Uri.EscapeDataString(repository)}").ToString();
                response.Headers["X-Linked-Etag"] = $"\"{sha}\"";
                response.Headers["X-Linked-Size"] = data.Length.ToString(CultureInfo.InvariantCulture);
                response.Headers["ETag"] = $"\"{GitBlobSha1(Encoding.ASCII.GetBytes($"version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {data.Length}\n"))}\"";
                response.ContentLength64 = 0;
                return;
            }
            response.Headers["ETag"] = $"\"{GitBlobSha1(data)}\"";
            await SendAsync(data, request, response, throttle: false, corrupt: false);
            return;
        }
        Error(response, 404, null, "Not found");
    }

    private async Task ServeCdnAsync(string sha, HttpListenerRequest request, HttpListenerResponse response)
    {
        byte[]? data;
        lock (_repos)
            data = _repos.Values.SelectMany(r => r.Commits.Values).SelectMany(f => f.Values).FirstOrDefault(d => Sha256(d) == sha);
        if (data is null)
        {
            response.StatusCode = 404;
            return;
        }
        // An S3-style file server: its own ETag, no hub headers.
        response.Headers["ETag"] = $"\"{sha}\"";
        await SendAsync(data, request, response, throttle: BytesPerSecond > 0, corrupt: CorruptLfsFiles);
    }

    private async Task SendAsync(byte[] data, HttpListenerRequest request, HttpListenerResponse response, bool throttle, bool corrupt)
    {
        long from = 0, to = data.Length - 1;
        response.Headers["Accept-Ranges"] = "bytes";
        string? range = request.Headers["Range"];
        if (range is not null && range.StartsWith("bytes=", StringComparison.Ordinal))
        {
            string[] bounds = range["bytes=".Length..].Split('-');
            from = long.Parse(bounds[0], CultureInfo.InvariantCulture);
            if (bounds[1].Length > 0)
                to = Math.Min(to, long.Parse(bounds[1], CultureInfo.InvariantCulture));
            if (from >= data.Length)
            {
                response.StatusCode = 416;
                response.Headers["Content-Range"] = $"bytes */{data.Length}";
                response.ContentLength64 = 0;
                return;
            }
            response.StatusCode = 206;
            response.Headers["Content-Range"] = $"bytes {from}-{to}/{data.Length}";
        }
        response.ContentLength64 = to - from + 1;
        if (request.HttpMethod == "HEAD")
            return;
        byte[] body = data[(int)from..(int)(to + 1)];
        if (corrupt && body.Length > 0)
            body[body.Length / 2] ^= 0x5A;
        int chunk = throttle ? Math.Max(1024, BytesPerSecond / 20) : body.Length;
        for (int offset = 0; offset < body.Length; offset += chunk)
        {
            await response.OutputStream.WriteAsync(body.AsMemory(offset, Math.Min(chunk, body.Length - offset)));
            await response.OutputStream.FlushAsync();
            if (throttle)
                await Task.Delay(50);
        }
    }

    private bool Authorize(string repository, HttpListenerRequest request, HttpListenerResponse response, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out HubRepo? repo)
    {
        string? authorization = request.Headers["Authorization"];
        string? token = authorization?.StartsWith("Bearer ", StringComparison.Ordinal) == true ? authorization["Bearer ".Length..] : null;
        lock (_repos)
            _repos.TryGetValue(repository, out repo);
        if (token is not null && !ValidTokens.Contains(token))
        {
            // The Hub answers an unknown token with 401 and this message, whatever the repository.
            Error(response, 401, null, "Invalid credentials in Authorization header");
            repo = null;
            return false;
        }
        if (repo is null)
        {
            Error(response, 401, "RepoNotFound", "Repository not found");
            return false;
        }
        if (repo.GrantedToken is not null && token != repo.GrantedToken)
        {
            Error(response, token is null ? 401 : 403, "GatedRepo", $"Access to model {repository} is restricted. You must have access to it and be authenticated to access it. Please log in.");
            repo = null;
            return false;
        }
        return true;
    }

    private static bool TryRevision(HubRepo repo, string revision, HttpListenerResponse response, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? commit)
    {
        revision = Uri.UnescapeDataString(revision);
        if (repo.Commits.ContainsKey(revision))
            commit = revision;
        else if (revision == "HEAD")
            commit = repo.Refs["main"];
        else
            repo.Refs.TryGetValue(revision, out commit);
        if (commit is null)
            Error(response, 404, "RevisionNotFound", $"Invalid rev id: {revision}");
        return commit is not null;
    }

    private static IEnumerable<JsonNode> TreeEntries(Dictionary<string, byte[]> files, string commit, bool expandCommit)
    {
        var folders = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string file in files.Keys)
        {
            for (int slash = file.IndexOf('/', StringComparison.Ordinal); slash > 0; slash = file.IndexOf('/', slash + 1))
                folders.Add(file[..slash]);
        }
        foreach (string folder in folders)
            yield return new JsonObject { ["type"] = "directory", ["oid"] = GitBlobSha1(Encoding.UTF8.GetBytes(folder)), ["size"] = 0, ["path"] = folder };
        foreach ((string path, byte[] data) in files.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            var entry = new JsonObject { ["type"] = "file", ["size"] = data.Length, ["path"] = path };
            if (IsLfs(path, data))
            {
                string sha = Sha256(data);
                string pointer = $"version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {data.Length}\n";
                entry["oid"] = GitBlobSha1(Encoding.ASCII.GetBytes(pointer));
                entry["lfs"] = new JsonObject { ["oid"] = sha, ["size"] = data.Length, ["pointerSize"] = pointer.Length };
            }
            else
            {
                entry["oid"] = GitBlobSha1(data);
            }
            if (expandCommit)
                entry["lastCommit"] = new JsonObject { ["id"] = commit, ["title"] = "Upload", ["date"] = "2026-01-01T00:00:00.000Z" };
            yield return entry;
        }
    }

    private static void Error(HttpListenerResponse response, int status, string? code, string message)
    {
        response.StatusCode = status;
        if (code is not null)
            response.Headers["X-Error-Code"] = code;
        response.Headers["X-Error-Message"] = message;
        response.ContentType = "application/json";
        byte[] body = Encoding.UTF8.GetBytes(new JsonObject { ["error"] = message }.ToJsonString());
        response.ContentLength64 = body.Length;
        response.OutputStream.Write(body);
    }

    private static async Task WriteJsonAsync(HttpListenerResponse response, JsonNode json)
    {
        byte[] body = Encoding.UTF8.GetBytes(json.ToJsonString());
        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength64 = body.Length;
        await response.OutputStream.WriteAsync(body);
    }

    private sealed class HubRepo
    {
        public Dictionary<string, string> Refs { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, Dictionary<string, byte[]>> Commits { get; } = new(StringComparer.Ordinal);

        public string? GrantedToken { get; set; }
    }
}
