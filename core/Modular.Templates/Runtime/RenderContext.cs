using Modular.Templates.Lexing;
using Modular.Templates.Syntax;

namespace Modular.Templates.Runtime;

/// <summary>Variables visible at one point of a render; a for-loop iteration or macro call opens a child scope.</summary>
internal sealed class Scope
{
    private readonly Dictionary<string, object?> _vars = new(StringComparer.Ordinal);

    public Scope(Scope? parent) => Parent = parent;

    public Scope? Parent { get; }

    public bool TryGet(string name, out object? value)
    {
        for (var s = this; s is not null; s = s.Parent)
            if (s._vars.TryGetValue(name, out value)) return true;
        value = null;
        return false;
    }

    public void Set(string name, object? value) => _vars[name] = value;

    public void Clear() => _vars.Clear();
}

/// <summary>The state of one render: current scope, limits and counters. A parsed template is shared; this is not.</summary>
internal sealed class RenderContext
{
    /// <summary>Loop iterations allowed in one render, across all loops; guards against runaway templates.</summary>
    public const long MaxIterations = 1_000_000;

    /// <summary>Nested macro calls allowed (recursive macros).</summary>
    public const int MaxCallDepth = 100;

    /// <summary>Longest output, in UTF-16 units.</summary>
    public const int MaxOutputLength = 64 * 1024 * 1024;

    private readonly SourceMap _map;

    public RenderContext(SourceMap map, Scope root, Func<DateTime> now)
    {
        _map = map;
        Scope = root;
        Now = now;
    }

    public Scope Scope { get; set; }
    public Func<DateTime> Now { get; }
    public int CallDepth { get; set; }
    public long Iterations { get; set; }

    public object? Lookup(string name)
    {
        if (Scope.TryGet(name, out var value)) return value;
        return Builtins.TryGet(name, out var builtin) ? builtin : Undefined.Variable(name);
    }

    public TemplateRenderException Error(Node node, string reason, Exception? inner = null)
    {
        var (line, col) = _map.Locate(node.Offset);
        return new TemplateRenderException(reason, line, col, node.Construct, inner);
    }

    /// <summary>Attaches the node's location to a fault raised by a value helper.</summary>
    public TemplateRenderException Fault(Node node, RuntimeFault fault)
    {
        var (line, col) = _map.Locate(node.Offset);
        if (fault is RaiseFault) return new TemplateRaiseException(fault.Message, line, col);
        return new TemplateRenderException(fault.Message, line, col, node.Construct, fault);
    }
}
