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

    private static bool IsInitOnly(MethodInfo setter)
        => setter.ReturnParameter.GetRequiredCustomModifiers().Contains(typeof(IsExternalInit));
}
