using KnowledgeDistillation.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests.Runtime;

public class TorchRuntimeTests
{
    private const string PatchedVersion = "GLIBCXX_3.4.32";

    [Fact]
    public void Build_output_libLibTorchSharp_has_the_GLIBCXX_3_4_32_requirement_marked_weak_when_the_system_lacks_it()
    {
        string? native = TorchRuntime.FindLibTorchSharp();
        native.Should().NotBeNull("the test project references TorchSharp-cpu, whose native library is copied to the output");

        IReadOnlyList<ElfVersionRequirement> requirements = ElfVersionRequirement.Read(native!);
        requirements.Should().Contain(r => r.Library == "libc.so.6", "a sane reader sees glibc requirements too");
        ElfVersionRequirement requirement = requirements.Single(r => r.Version == PatchedVersion);
        requirement.Library.Should().Be("libstdc++.so.6");

        bool systemHasIt = File.Exists("/usr/lib/x86_64-linux-gnu/libstdc++.so.6")
            && File.ReadAllText("/usr/lib/x86_64-linux-gnu/libstdc++.so.6", System.Text.Encoding.Latin1).Contains(PatchedVersion + "\0", StringComparison.Ordinal);
        if (!systemHasIt)
            requirement.IsWeak.Should().BeTrue("the build marks the missing version weak so glibc loads the library");

        requirements.Where(r => r.Version != PatchedVersion).Should().OnlyContain(r => !r.IsWeak, "only the one requirement is touched");
    }

    [Fact]
    public void Torch_loads_and_runs_real_tensor_code()
    {
        TorchRuntime.EnsureAvailable();
        using var scope = NewDisposeScope();
        Tensor a = tensor(new float[] { 1, 2, 3, 4 }, new long[] { 2, 2 });
        Tensor b = tensor(new float[] { 5, 6, 7, 8 }, new long[] { 2, 2 });
        float[] product = a.matmul(b).data<float>().ToArray();
        product.Should().Equal(19f, 22f, 43f, 50f);
    }

    [Fact]
    public void Autograd_computes_gradients()
    {
        using var scope = NewDisposeScope();
        Tensor x = tensor(new double[] { 1.0, -2.0, 3.0 }, requires_grad: true);
        Tensor y = (x * x * x).sum();
        y.backward();
        x.grad!.data<double>().ToArray().Should().Equal(3.0, 12.0, 27.0);
    }

    [Fact]
    public void Diagnosis_names_the_missing_version_and_the_fix_when_the_requirement_is_strong()
    {
        string native = TorchRuntime.FindLibTorchSharp()!;
        string copy = Path.Combine(Path.GetTempPath(), $"kd-elf-{Guid.NewGuid():N}", "libLibTorchSharp.so");
        Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
        try
        {
            File.Copy(native, copy);
            ElfVersionRequirement requirement = ElfVersionRequirement.Read(copy).Single(r => r.Version == PatchedVersion);
            using (var stream = new FileStream(copy, FileMode.Open, FileAccess.ReadWrite))
            {
                // Undo the build's fix on the copy: clear VER_FLG_WEAK.
                ushort flags = (ushort)(requirement.Flags & ~ElfVersionRequirement.WeakFlag);
                stream.Position = requirement.FlagsOffset;
                stream.Write(BitConverter.GetBytes(flags));
            }
            ElfVersionRequirement.Read(copy).Single(r => r.Version == PatchedVersion).IsWeak.Should().BeFalse();

            string message = TorchRuntime.Diagnose(new NotSupportedException("long TorchSharp trace"), copy, hasBackend: true);
            bool systemHasIt = File.ReadAllText("/usr/lib/x86_64-linux-gnu/libstdc++.so.6", System.Text.Encoding.Latin1).Contains(PatchedVersion + "\0", StringComparison.Ordinal);
            if (!systemHasIt)
            {
                message.Should().Contain(PatchedVersion).And.Contain("libstdc++").And.Contain("KnowledgeDistillationPatchLibTorchSharp")
                    .And.NotContain("long TorchSharp trace");
            }
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(copy)!, recursive: true);
        }
    }

    [Fact]
    public void Diagnosis_without_a_native_library_names_the_backend_packages()
    {
        string message = TorchRuntime.Diagnose(new DllNotFoundException("libLibTorchSharp"), native: null, hasBackend: false);
        message.Should().Contain("dotnet add package TorchSharp-cpu --version 0.107.0");
    }

    [Fact]
    public void Diagnosis_with_the_managed_packages_bridge_but_no_backend_says_to_add_TorchSharp_cpu()
    {
        // The managed TorchSharp package ships libLibTorchSharp itself: its presence says nothing about the backend.
        string bridge = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        var failure = new TypeInitializationException("TorchSharp.torch", new NotSupportedException("libtorch could not be loaded"));

        string message = TorchRuntime.Diagnose(failure, bridge, hasBackend: false);

        message.Should().Contain("No libtorch backend library").And.Contain("dotnet add package TorchSharp-cpu --version 0.107.0");
        message.Should().NotContain("type initializer", "TorchSharp's own trace is what the user could not act on");
    }

    [Fact]
    public void The_backend_check_finds_this_test_projects_libtorch()
    {
        TorchRuntime.FindBackend(TorchRuntime.FindLibTorchSharp()).Should().NotBeNull("the tests reference TorchSharp-cpu");
    }

    [Fact]
    public void Torch_unavailable_exception_carries_the_inner_error()
    {
        var inner = new DllNotFoundException("x");
        var ex = new TorchUnavailableException("message", inner);
        ex.InnerException.Should().BeSameAs(inner);
        ex.Message.Should().Be("message");
    }
}
