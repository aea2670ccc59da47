using System.Text.RegularExpressions;

namespace KnowledgeDistillation.Tests.Training;

public partial class GettingStartedGuideTests
{
    [GeneratedRegex(@"```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CodeBlock();

    private static string RepositoryFile(string relative)
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, relative);
            if (File.Exists(candidate))
                return candidate;
        }
        throw new FileNotFoundException($"{relative} not found above {AppContext.BaseDirectory}.");
    }

    private static string Normalise(string code)
        => string.Join('\n', code.Replace("\r", "", StringComparison.Ordinal).Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));

    [Fact]
    public void Every_csharp_block_of_the_guide_is_compiled_code_from_GettingStartedGuide()
    {
        string guide = File.ReadAllText(RepositoryFile("docs/getting-started.md"));
        string source = Normalise(File.ReadAllText(RepositoryFile("tests/KnowledgeDistillation.Tests/Training/GettingStartedGuide.cs")));

        string[] blocks = CodeBlock().Matches(guide.Replace("\r", "", StringComparison.Ordinal)).Select(m => m.Groups[1].Value).ToArray();

        blocks.Should().HaveCountGreaterThanOrEqualTo(7, "the guide walks through reading, mining, the teacher, scoring, distilling, evaluating and saving");
        foreach (string block in blocks)
            source.Should().Contain(Normalise(block), "every snippet of docs/getting-started.md must be compiled code (copy it from GettingStartedGuide.cs)");
    }
}
