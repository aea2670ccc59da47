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
        // Before libtorch's first allocation, so that its buffers come from the tuned heap from the start.
        NativeAllocator.EnsureApplied();
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

    internal static string Diagnose(Exception failure)
    {
        string? native = FindLibTorchSharp();
        return Diagnose(failure, native, hasBackend: FindBackend(native) is not null);
    }

    internal static string Diagnose(Exception failure, string? native, bool hasBackend)
    {
        var message = new StringBuilder("libtorch could not be loaded, so no TorchSharp code can run. ");
        // The managed TorchSharp package ships the LibTorchSharp bridge itself; the libtorch libraries it loads come only
        // from a backend package, which is what a new project usually forgets.
        if (!hasBackend)
        {
            message.Append(native is null
                    ? "Neither TorchSharp's native bridge (LibTorchSharp) nor a libtorch backend was found beside the application. "
                    : $"No libtorch backend library ({string.Join(", ", BackendLibraries())}) was found beside {Path.GetFileName(native)}. ")
                .Append("Add the libtorch backend package to the application project: dotnet add package TorchSharp-cpu --version ")
                .Append(typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "matching TorchSharp")
                .Append(" (or TorchSharp-cuda-linux / TorchSharp-cuda-windows for a GPU), then rebuild.");
            return message.ToString();
        }
        if (native is null)
        {
            message.Append("A libtorch backend is present but TorchSharp's native bridge (LibTorchSharp) was not found beside the application. TorchSharp said: ")
                .Append(FirstLine(failure.Message));
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

    /// <summary>The libtorch libraries a backend package brings, for this operating system.</summary>
    internal static string[] BackendLibraries()
        => RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? ["torch_cpu.dll", "c10.dll"]
            : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? ["libtorch_cpu.dylib", "libc10.dylib"]
            : ["libtorch_cpu.so", "libc10.so"];

    /// <summary>The first backend library found beside LibTorchSharp or in the application's native folders, or <see langword="null"/>.</summary>
    internal static string? FindBackend(string? native)
    {
        string baseDir = AppContext.BaseDirectory;
        var folders = new List<string> { baseDir, Path.Combine(baseDir, "runtimes", RuntimeInformation.RuntimeIdentifier, "native"), Path.Combine(baseDir, "runtimes", "linux-x64", "native") };
        if (native is not null)
            folders.Insert(0, Path.GetDirectoryName(native)!);
        return folders.SelectMany(folder => BackendLibraries().Select(name => Path.Combine(folder, name))).FirstOrDefault(File.Exists);
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
