using System.CommandLine;
using KnowledgeDistillation.Tokenization;

namespace KnowledgeDistillation.Cli.Commands;

/// <summary>Shape options of a model trained from scratch, and its vocabulary.</summary>
internal sealed class ModelOptions
{
    public Option<string?> Vocab { get; } = new("--vocab") { Description = "vocab.txt of a model trained from scratch (default: bert-base-uncased's, shipped with the tool)." };

    public Option<int> Hidden { get; } = new("--hidden") { Description = "Hidden size of a model trained from scratch.", DefaultValueFactory = _ => 128 };

    public Option<int> Layers { get; } = new("--layers") { Description = "Layers of a model trained from scratch.", DefaultValueFactory = _ => 2 };

    public Option<int> Heads { get; } = new("--heads") { Description = "Attention heads of a model trained from scratch.", DefaultValueFactory = _ => 2 };

    public Option<int> Intermediate { get; } = new("--intermediate") { Description = "Feed-forward size of a model trained from scratch.", DefaultValueFactory = _ => 512 };

    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { Vocab, Hidden, Layers, Heads, Intermediate })
            command.Options.Add(option);
    }

    public HuggingFaceBertTokenizer Tokenizer(CliRun run)
    {
        string path = run.Value(Vocab) ?? Path.Combine(AppContext.BaseDirectory, "vocab", "bert-base-uncased", "vocab.txt");
        if (!File.Exists(path))
            throw new FileNotFoundException($"The vocabulary {Path.GetFullPath(path)} does not exist.", path);
        return HuggingFaceBertTokenizer.FromVocabularyFile(path);
    }
}
