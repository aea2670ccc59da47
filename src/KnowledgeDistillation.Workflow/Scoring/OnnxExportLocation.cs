using System.Security.Cryptography;
using System.Text;

namespace KnowledgeDistillation.Workflow.Scoring;

/// <summary>
/// Where the ONNX export of a model goes (<see cref="TeacherSpec.OnnxExportFolder"/>): inside a local model folder, or,
/// for a folder that must not be written, in a cache folder of our own. A snapshot of <c>huggingface_hub</c>'s cache
/// (<c>models--org--name/snapshots/&lt;commit&gt;</c>) holds links to blobs only, and <c>huggingface-cli scan-cache</c> and
/// <c>delete-cache</c> count what is there: its export goes to <c>&lt;cache&gt;/models--org--name/&lt;commit&gt;/kd-onnx</c>.
/// A read-only folder (no write permission for anyone, honoured even for root, who could write anyway; or one whose
/// writes fail) gets <c>&lt;cache&gt;/local/&lt;hash of its full path&gt;/kd-onnx</c>, unless it already holds a complete export,
/// which is read where it is.
/// </summary>
internal static class OnnxExportLocation
{
    /// <summary>The folder, under the user's cache root, that holds kd's own cache.</summary>
    public const string CacheFolderName = "knowledge-distillation";

    /// <summary>
    /// The default export cache: <c>$XDG_CACHE_HOME/knowledge-distillation/onnx</c> when <c>XDG_CACHE_HOME</c> is set,
    /// else <c>%LOCALAPPDATA%\knowledge-distillation\onnx</c> on Windows and <c>~/.cache/knowledge-distillation/onnx</c> elsewhere.
    /// </summary>
    /// <param name="variables">Reads an environment variable (kd's <c>CliEnvironment</c>, or the process's).</param>
    /// <returns>The full path.</returns>
    public static string DefaultCacheDirectory(Func<string, string?> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        string? root = variables("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg : null;
        if (root is null && OperatingSystem.IsWindows())
            root = variables("LOCALAPPDATA") is { Length: > 0 } local ? local : Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
        root ??= Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.GetFullPath(Path.Combine(root, CacheFolderName, "onnx"));
    }

    /// <summary>
    /// The export folder of a model in a Hub cache snapshot, mirroring the snapshot's layout:
    /// <c>&lt;cache&gt;/models--org--name/&lt;commit&gt;[/&lt;subfolder&gt;]/kd-onnx</c>; <see langword="null"/> when
    /// <paramref name="modelFolder"/> is not inside a snapshot.
    /// </summary>
    /// <param name="modelFolder">The full path of the model's folder (the folder of a <c>.onnx</c> file).</param>
    /// <param name="cacheDirectory">The export cache.</param>
    /// <returns>The export folder, or <see langword="null"/>.</returns>
    public static string? ForHubSnapshot(string modelFolder, string cacheDirectory)
    {
        for (DirectoryInfo? snapshot = new(modelFolder); snapshot?.Parent?.Parent is { } repository; snapshot = snapshot.Parent)
        {
            // huggingface_hub's layout: <cache>/models--org--name/{blobs,refs,snapshots/<commit>}.
            if (snapshot.Parent.Name == "snapshots" && repository.Name.StartsWith("models--", StringComparison.Ordinal)
                && (Directory.Exists(Path.Combine(repository.FullName, "blobs")) || Directory.Exists(Path.Combine(repository.FullName, "refs"))))
            {
                string relative = Path.GetRelativePath(snapshot.FullName, modelFolder);
                string commitFolder = Path.Combine(cacheDirectory, repository.Name, snapshot.Name);
                return Path.Combine(relative == "." ? commitFolder : Path.Combine(commitFolder, relative), TeacherSpec.OnnxExportFolder);
            }
        }
        return null;
    }

    /// <summary>The export folder, in the export cache, of a local folder that cannot be written.</summary>
    /// <param name="modelFolder">The full path of the model's folder.</param>
    /// <param name="cacheDirectory">The export cache.</param>
    /// <returns><c>&lt;cache&gt;/local/&lt;first 16 bytes of the SHA-256 of the path&gt;/kd-onnx</c>.</returns>
    public static string ForReadOnlyFolder(string modelFolder, string cacheDirectory)
    {
        string key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(modelFolder)).AsSpan(0, 16));
        return Path.Combine(cacheDirectory, "local", key, TeacherSpec.OnnxExportFolder);
    }

    /// <summary>
    /// Whether an export may be written to <c>&lt;modelFolder&gt;/kd-onnx</c> (written aside in the model folder and moved
    /// into place): the folder (and its <c>kd-onnx</c>, if there) grants write permission to someone, and a file can be
    /// created in it.
    /// </summary>
    /// <param name="modelFolder">The full path of the model's folder.</param>
    /// <returns><see langword="false"/> for a read-only folder.</returns>
    public static bool CanWriteInto(string modelFolder)
    {
        string target = Path.Combine(modelFolder, TeacherSpec.OnnxExportFolder);
        if (IsMarkedReadOnly(modelFolder) || (Directory.Exists(target) && IsMarkedReadOnly(target)))
            return false;
        try
        {
            using (new FileStream(Path.Combine(modelFolder, $".kd-write-probe-{Guid.NewGuid():N}"), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }
            return true;
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            return false;
        }
    }

    // A folder without any write bit (chmod a-w): the user's "do not write here", which root's permissions would ignore.
    private static bool IsMarkedReadOnly(string folder)
        => !OperatingSystem.IsWindows()
            && (File.GetUnixFileMode(folder) & (UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) == 0;
}
