using YamlDotNet.Serialization;

namespace KnowledgeDistillation.Tests.Training;

/// <summary>A model card's YAML front matter (between the leading <c>---</c> lines), parsed by YamlDotNet.</summary>
internal static class HubCardMetadata
{
    public static Dictionary<string, object> Parse(string card)
    {
        string[] lines = card.ReplaceLineEndings("\n").Split('\n');
        lines[0].Should().Be("---", "the Hub reads metadata from front matter at the very start of README.md");
        int end = Array.IndexOf(lines, "---", 1);
        end.Should().BePositive("the front matter is closed");
        var parsed = new DeserializerBuilder().Build().Deserialize<Dictionary<string, object>>(string.Join('\n', lines[1..end]));
        return parsed;
    }
}
