namespace Modular.Templates.Runtime;

/// <summary>
/// Jinja's default Undefined: what a missing variable, key or attribute evaluates to. It prints as "", is false,
/// iterates as empty and has length 0; using it any other way (arithmetic, attribute access, calling it) is an error
/// that reports <see cref="Hint"/>, e.g. "'foo' is undefined".
/// </summary>
internal sealed class Undefined
{
    public Undefined(string hint) => Hint = hint;

    public string Hint { get; }

    public static Undefined Variable(string name) => new($"'{name}' is undefined");

    public static Undefined Attribute(object? owner, string name)
        => new($"'{Values.OwnerDescription(owner)}' has no attribute '{name}'");

    public RuntimeFault Fault() => new(Hint);

    public override string ToString() => "";
}

/// <summary>A render-time error raised by value helpers; the node that called them adds the source location.</summary>
internal class RuntimeFault : Exception
{
    public RuntimeFault(string message) : base(message) { }
}

/// <summary>raise_exception(msg) from the template; carried up to the call node which adds the location.</summary>
internal sealed class RaiseFault : RuntimeFault
{
    public RaiseFault(string message) : base(message) { }
}
