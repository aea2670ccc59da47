using System.CommandLine;

namespace KnowledgeDistillation.Cli;

/// <summary>A command whose settings bind to an options record through an <see cref="OptionBinder{T}"/>.</summary>
/// <typeparam name="T">The options record.</typeparam>
internal sealed class OptionsCommand<T> : Command, IOptionsCommand
    where T : class
{
    public OptionsCommand(string name, string description, OptionBinder<T> binder)
        : base(name, description)
        => Binder = binder;

    public OptionBinder<T> Binder { get; }

    object IOptionsCommand.BindOptions(ParseResult parse) => Binder.Bind(parse);
}
