using System.CommandLine;
using System.Linq.Expressions;
using System.Reflection;
using System.Text;

namespace KnowledgeDistillation.Cli;

/// <summary>
/// The table that binds a command's options to an options record: each option sets one property, is named after it
/// (<c>--max-steps</c> sets <c>Trainer.MaxSteps</c>) and shows that property's default. Binding starts from the
/// record's defaults and sets, in the order they were added, the properties whose options were given, so an option
/// left out keeps the library's default (and a default that depends on an earlier property, such as the learning rate
/// or step budget on whether the model is pretrained, follows it; such an option describes its defaults in its help).
/// </summary>
/// <typeparam name="T">The options record.</typeparam>
internal sealed class OptionBinder<T>
    where T : class
{
    private readonly T _defaults;
    private readonly List<(Option Option, PropertyInfo[] Path, Func<ParseResult, object?> Value)> _bindings = [];

    public OptionBinder(T defaults) => _defaults = defaults;

    /// <summary>The option that sets <paramref name="property"/>, with its default value.</summary>
    /// <param name="property">The property, as <c>o =&gt; o.Trainer.MaxSteps</c>.</param>
    /// <param name="description">The help text.</param>
    public Option<TValue> Add<TValue>(Expression<Func<T, TValue>> property, string description)
    {
        TValue value = property.Compile()(_defaults);
        var option = new Option<TValue>(OptionName(property)) { Description = description, DefaultValueFactory = _ => value };
        _bindings.Add((option, PathOf(property), parse => parse.GetValue(option)));
        return option;
    }

    /// <summary>The option that sets a list of words <paramref name="property"/>, given once per word or as several words after one name.</summary>
    /// <param name="property">The property, as <c>o =&gt; o.Trainer.Datasets</c>.</param>
    /// <param name="description">The help text.</param>
    public Option<string[]> AddList(Expression<Func<T, IReadOnlyList<string>>> property, string description)
    {
        string[] value = [.. property.Compile()(_defaults)];
        var option = new Option<string[]>(OptionName(property)) { Description = description, DefaultValueFactory = _ => value, AllowMultipleArgumentsPerToken = true };
        _bindings.Add((option, PathOf(property), parse => parse.GetValue(option)));
        return option;
    }

    /// <summary>The option that sets <paramref name="property"/>, whose default is described rather than shown (it depends on other options).</summary>
    public Option<TValue?> AddWithoutDefault<TValue>(Expression<Func<T, TValue>> property, string description)
        where TValue : struct
        => WithoutDefault<TValue>(property, description);

    /// <summary>As <see cref="AddWithoutDefault{TValue}(Expression{Func{T, TValue}}, string)"/>, for a nullable property that the option always sets (a step budget rather than epochs).</summary>
    public Option<TValue?> AddWithoutDefault<TValue>(Expression<Func<T, TValue?>> property, string description)
        where TValue : struct
        => WithoutDefault<TValue>(property, description);

    private Option<TValue?> WithoutDefault<TValue>(LambdaExpression property, string description)
        where TValue : struct
    {
        var option = new Option<TValue?>(OptionName(property)) { Description = description };
        _bindings.Add((option, PathOf(property), parse => parse.GetValue(option)));
        return option;
    }

    /// <summary>The option that sets a reference-typed <paramref name="property"/> whose default is <see langword="null"/>.</summary>
    public Option<TValue?> AddOptional<TValue>(Expression<Func<T, TValue?>> property, string description)
        where TValue : class
        => AddRoleNamed(property, OptionName(property), description);

    /// <summary>
    /// As <see cref="AddOptional{TValue}(Expression{Func{T, TValue}}, string)"/>, named after the role the
    /// property plays in this command (<c>--student</c> for the model a distillation starts from) rather than after it.
    /// </summary>
    public Option<TValue?> AddRoleNamed<TValue>(Expression<Func<T, TValue?>> property, string name, string description)
        where TValue : class
    {
        var option = new Option<TValue?>(name) { Description = description };
        _bindings.Add((option, PathOf(property), parse => parse.GetValue(option)));
        return option;
    }

    /// <summary>The option that sets <paramref name="property"/> by one of the words of <paramref name="choices"/>.</summary>
    public Option<string> AddChoice<TValue>(Expression<Func<T, TValue>> property, string description, IReadOnlyDictionary<string, TValue> choices)
    {
        TValue value = property.Compile()(_defaults);
        var option = new Option<string>(OptionName(property))
        {
            Description = description,
            DefaultValueFactory = _ => choices.First(c => EqualityComparer<TValue>.Default.Equals(c.Value, value)).Key,
        };
        option.AcceptOnlyFromAmong([.. choices.Keys]);
        _bindings.Add((option, PathOf(property), parse => choices[parse.GetValue(option)!]));
        return option;
    }

    /// <summary>The options record of a command line: the defaults with every option given set.</summary>
    public T Bind(ParseResult parse)
    {
        object options = _defaults;
        foreach ((Option option, PropertyInfo[] path, Func<ParseResult, object?> value) in _bindings)
        {
            if (parse.GetResult(option) is { Implicit: false })
                options = With(options, path, value(parse));
        }
        return (T)options;
    }

    /// <summary><c>--</c> and the kebab-case of the property's name: <c>GradientAccumulationSteps</c> is <c>--gradient-accumulation-steps</c>.</summary>
    private static string KebabCase(string propertyName)
    {
        var name = new StringBuilder("--");
        foreach (char c in propertyName)
        {
            if (char.IsUpper(c) && name.Length > 2)
                name.Append('-');
            name.Append(char.ToLowerInvariant(c));
        }
        return name.ToString();
    }

    private static string OptionName(LambdaExpression property) => KebabCase(PathOf(property)[^1].Name);

    private static PropertyInfo[] PathOf(LambdaExpression property)
    {
        var path = new List<PropertyInfo>();
        Expression? node = property.Body;
        while (node is MemberExpression { Member: PropertyInfo info } member)
        {
            path.Insert(0, info);
            node = member.Expression;
        }
        if (node != property.Parameters[0] || path.Count == 0)
            throw new ArgumentException($"{property} is not a chain of properties of the options.", nameof(property));
        return [.. path];
    }

    /// <summary>A copy of <paramref name="target"/> with the property at <paramref name="path"/> set, as <c>with</c> makes it.</summary>
    private static object With(object target, ReadOnlySpan<PropertyInfo> path, object? value)
    {
        object copy = target.GetType().GetMethod("<Clone>$", BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)!.Invoke(target, null)!;
        path[0].SetValue(copy, path.Length == 1 ? value : With(path[0].GetValue(target)!, path[1..], value));
        return copy;
    }
}
