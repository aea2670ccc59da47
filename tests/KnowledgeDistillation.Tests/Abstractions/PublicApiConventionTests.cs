using System.Reflection;
using System.Runtime.CompilerServices;

namespace KnowledgeDistillation.Tests.Abstractions;

/// <summary>Conventions the whole public surface keeps (issue 14): checked by reflection so that new types keep them too.</summary>
public class PublicApiConventionTests
{
    private static readonly Assembly s_library = typeof(IStudent).Assembly;

    private static Type[] PublicTypes() => s_library.GetExportedTypes();

    [Fact]
    public void Every_options_type_is_immutable_once_built()
    {
        // A settable option could change under a running trainer, which reads its options during the run.
        string[] mutable = PublicTypes()
            .Where(t => t.Name.EndsWith("Options", StringComparison.Ordinal))
            .SelectMany(t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.SetMethod is { IsPublic: true } setter && !IsInitOnly(setter))
                .Select(p => $"{t.Name}.{p.Name}"))
            .ToArray();

        mutable.Should().BeEmpty("options take init-only properties");
    }

    [Fact]
    public void Every_source_files_namespace_is_its_folder()
    {
        string root = RepositoryFolder("src/KnowledgeDistillation");
        string[] mismatched = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(f => (File: f, Expected: "KnowledgeDistillation" + string.Concat(Path.GetRelativePath(root, Path.GetDirectoryName(f)!)
                .Split(Path.DirectorySeparatorChar).Where(p => p != ".").Select(p => "." + p))))
            .Where(x => !File.ReadLines(x.File).Any(l => l == $"namespace {x.Expected};"))
            .Select(x => $"{Path.GetRelativePath(root, x.File)} (expected {x.Expected})")
            .ToArray();

        mismatched.Should().BeEmpty("namespaces follow the feature folders");
    }

    private static string RepositoryFolder(string relative)
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, relative);
            if (Directory.Exists(candidate))
                return candidate;
        }
        throw new DirectoryNotFoundException($"{relative} not found above {AppContext.BaseDirectory}.");
    }

    private static bool IsInitOnly(MethodInfo setter)
        => setter.ReturnParameter.GetRequiredCustomModifiers().Contains(typeof(IsExternalInit));
}
