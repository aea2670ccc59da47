using System.Text.RegularExpressions;

namespace KnowledgeDistillation.Tests.Abstractions;

/// <summary>
/// CPU-specific measurements live in docs/benchmarks.md, with the CPU, the command and the date; an XML doc comment
/// keeps the reason and at most a pointer there, so the API docs never quote a figure that has gone stale.
/// </summary>
public partial class DocCommentFigureTests
{
    [Fact]
    public void No_xml_doc_comment_in_src_quotes_a_cpu_specific_figure()
    {
        string src = RepositoryFolder("src");
        var found = new List<string>();
        foreach (string file in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                || file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            {
                continue;
            }
            foreach ((int line, string text) in DocComments(File.ReadAllLines(file)))
            {
                foreach (Match m in CpuFigure().Matches(text))
                    found.Add($"{Path.GetRelativePath(src, file)}:{line}: \"{m.Value}\"");
            }
        }

        found.Should().BeEmpty("CPU-specific figures belong in docs/benchmarks.md:\n" + string.Join("\n", found));
    }

    [Theory]
    [InlineData("measured 3.8× float32 on an AMD EPYC with AVX-512 BF16")]
    [InlineData("0.61× on an Intel Xeon")]
    [InlineData("13% of the QuickStart teacher's CPU samples (perf, Intel Ice Lake)")]
    [InlineData("on this AVX2-only Zen 2")]
    [InlineData("runs at 111 GFLOP/s")]
    [InlineData("36.3 pairs/s")]
    [InlineData("55.7 texts/s")]
    [InlineData("44.5 / 82.2 ms at 128 tokens")]
    [InlineData("which takes two to three minutes on two CPU cores")]
    public void The_scan_recognises_a_cpu_specific_figure(string comment)
        => CpuFigure().IsMatch(comment).Should().BeTrue();

    [Theory]
    [InlineData("bfloat16 autocast where a timing probe finds it 1.5× faster than float32")] // a threshold, not a measurement
    [InlineData("float32 GFLOP/s.")]
    [InlineData("512 × 32,768 floats is 64 MiB")]
    [InlineData("k1 × (1 − b + b × length / average length)")]
    public void The_scan_leaves_design_constants_and_units_alone(string comment)
        => CpuFigure().IsMatch(comment).Should().BeFalse();

    // Each run of /// lines joined into one text (a figure can wrap), with the line it starts on.
    private static IEnumerable<(int Line, string Text)> DocComments(string[] lines)
    {
        for (int i = 0; i < lines.Length; i++)
        {
            if (!lines[i].TrimStart().StartsWith("///", StringComparison.Ordinal))
                continue;
            int start = i;
            var text = new List<string>();
            for (; i < lines.Length && lines[i].TrimStart().StartsWith("///", StringComparison.Ordinal); i++)
                text.Add(lines[i].TrimStart()[3..].Trim());
            yield return (start + 1, string.Join(' ', text));
        }
    }

    [GeneratedRegex(
        @"\b(EPYC|Xeon|Ryzen|Threadripper|Ice Lake|Sapphire Rapids|Cascade Lake|Skylake|Zen ?\d|Core i[3579]|Graviton|Neoverse)\b"
        + @"|(?<![\w.])\d[\d,.]*\s*[GTM]?FLOP/s"
        + @"|(?<![\w.])\d[\d,.]*\s*(pairs|texts|tokens|examples|queries|documents|steps|samples)/s\b"
        + @"|(?<![\w.])\d[\d,.]*\s*(ms|µs)\b"
        + @"|measured[^.;:]{0,40}?\d+(\.\d+)?\s*×"
        + @"|\d+(\.\d+)?\s*×[^.;(]{0,30}\bon an? (AMD|Intel|Arm|AVX)"
        + @"|\d+\s*% of [^.;]{0,40}CPU"
        + @"|\b(on|of) (one|two|\d+) (CPU )?cores?\b")]
    private static partial Regex CpuFigure();

    private static string RepositoryFolder(string relative)
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, relative);
            if (Directory.Exists(candidate) && File.Exists(Path.Combine(d.FullName, "KnowledgeDistillation.sln")))
                return candidate;
        }
        throw new DirectoryNotFoundException($"{relative} not found above {AppContext.BaseDirectory}.");
    }
}
