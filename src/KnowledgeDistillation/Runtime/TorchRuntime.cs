using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;

namespace KnowledgeDistillation.Runtime;

/// <summary>
/// Loads libtorch once and turns a failure into one <see cref="TorchUnavailableException"/> that says what is missing
/// and how to fix it, instead of TorchSharp's long native-loader trace.
/// </summary>
internal static class TorchRuntime
{
    private static readonly Lazy<Exception?> s_failure = new(TryLoad, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Throws <see cref="TorchUnavailableException"/> when libtorch cannot be loaded; cheap after the first call.</summary>
    public static void EnsureAvailable()
    {
        if (s_failure.Value is { } failure)
            throw new TorchUnavailableException(Diagnose(failure), failure);
    }

    private static Exception? TryLoad()
    {
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
            return null;
        }
        catch (Exception ex) when (ex is NotSupportedException or DllNotFoundException or TypeInitializationException or InvalidOperationException or EntryPointNotFoundException)
        {
            return ex;
        }
    }

    internal static string Diagnose(Exception failure) => Diagnose(failure, FindLibTorchSharp());

    internal static string Diagnose(Exception failure, string? native)
    {
        var message = new StringBuilder("libtorch could not be loaded, so no TorchSharp code can run. ");
        if (native is null)
        {
            message.Append(RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || RuntimeInformation.IsOSPlatform(OSPlatform.OSX)
                ? "No libLibTorchSharp native library was found beside the application. "
                : "No LibTorchSharp native library was found beside the application. ");
            message.Append("Reference a libtorch backend package in the application (for example TorchSharp-cpu, TorchSharp-cuda-linux or TorchSharp-cuda-windows, version ")
                .Append(typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "matching TorchSharp")
                .Append(").");
            return message.ToString();
        }

        if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
        {
            List<string> missing = MissingStrongVersions(native);
            if (missing.Count > 0)
            {
                message.Append(native).Append(" requires ").Append(string.Join(", ", missing))
                    .Append(", which this system's libstdc++ does not provide. ")
                    .Append("The KnowledgeDistillation package marks GLIBCXX_3.4.32 weak in the build output when ")
                    .Append("KnowledgeDistillationPatchLibTorchSharp is 'auto' or 'always'; rebuild the application (dotnet build re-runs the fix), ")
                    .Append("make sure the property is not 'false', or install a libstdc++ from GCC 13 or later.");
                return message.ToString();
            }
        }

        message.Append("The native library is at ").Append(native).Append(". TorchSharp said: ")
            .Append(FirstLine(failure.Message));
        return message.ToString();
    }

    internal static string? FindLibTorchSharp()
    {
        string name = RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "LibTorchSharp.dll"
            : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? "libLibTorchSharp.dylib" : "libLibTorchSharp.so";
        string baseDir = AppContext.BaseDirectory;
        string rid = RuntimeInformation.RuntimeIdentifier;
        foreach (string candidate in new[]
                 {
                     Path.Combine(baseDir, name),
                     Path.Combine(baseDir, "runtimes", rid, "native", name),
                     Path.Combine(baseDir, "runtimes", "linux-x64", "native", name),
                 })
        {
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    // Non-weak libstdc++/libc version requirements that no system library defines.
    private static List<string> MissingStrongVersions(string native)
    {
        var missing = new List<string>();
        IReadOnlyList<ElfVersionRequirement> requirements;
        try
        {
            requirements = ElfVersionRequirement.Read(native);
        }
        catch (InvalidDataException)
        {
            return missing;
        }
        catch (IOException)
        {
            return missing;
        }

        foreach (ElfVersionRequirement r in requirements)
        {
            if (r.IsWeak || !r.Version.StartsWith("GLIBCXX_", StringComparison.Ordinal))
                continue;
            if (!SystemLibraryMentions(r.Library, r.Version))
                missing.Add($"{r.Version} (from {r.Library})");
        }
        return missing;
    }

    private static bool SystemLibraryMentions(string library, string version)
    {
        byte[] needle = Encoding.ASCII.GetBytes(version + "\0");
        foreach (string dir in new[] { "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/usr/lib/aarch64-linux-gnu" })
        {
            string path = Path.Combine(dir, library);
            if (File.Exists(path) && File.ReadAllBytes(path).AsSpan().IndexOf(needle) >= 0)
                return true;
        }
        return false;
    }

    private static string FirstLine(string text)
    {
        int end = text.IndexOfAny(['\r', '\n']);
        return end < 0 ? text : text[..end];
    }
}
