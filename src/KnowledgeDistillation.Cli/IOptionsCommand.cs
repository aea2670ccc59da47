using System.CommandLine;

namespace KnowledgeDistillation.Cli;

/// <summary>A command whose settings bind to an options record (<see cref="OptionsCommand{T}"/>), without its type.</summary>
internal interface IOptionsCommand
{
    /// <summary>The options record a parsed command line stands for.</summary>
    object BindOptions(ParseResult parse);
}
