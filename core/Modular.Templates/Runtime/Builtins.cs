namespace Modular.Templates.Runtime;

/// <summary>
/// Global functions of the Hugging Face template environment: Jinja's range/namespace/dict plus HF's
/// raise_exception and strftime_now.
/// </summary>
internal static class Builtins
{
    /// <summary>Most items range() may produce, as in Jinja's sandbox (MAX_RANGE).</summary>
    public const long MaxRange = 100_000;

    private static readonly Dictionary<string, object?> Globals = new(StringComparer.Ordinal)
    {
        ["range"] = new BuiltinFunction("range", (_, args) => Range(args)),
        ["namespace"] = new BuiltinFunction("namespace", (_, args) => NewNamespace(args)),
        ["dict"] = new BuiltinFunction("dict", (_, args) => NewDict(args)),
        ["raise_exception"] = new BuiltinFunction("raise_exception", (_, args) =>
            throw new RaiseFault(Values.ToStr(args.Get(0, "message", "")))),
        ["strftime_now"] = new BuiltinFunction("strftime_now", (ctx, args) =>
            args.Get(0, "format") is string f ? Strftime.Format(ctx.Now(), f) : throw new RuntimeFault("strftime_now needs a format string")),
    };

    public static bool TryGet(string name, out object? value) => Globals.TryGetValue(name, out value);

    private static List<object?> Range(Args args)
    {
        long start = 0, stop, step = 1;
        foreach (var a in args.Positional)
            if (a is not (long or bool)) throw new RuntimeFault($"range() needs integers, got {Values.TypeName(a)}");
        switch (args.Positional.Length)
        {
            case 1: stop = Values.AsLong(args.Positional[0]); break;
            case 2: start = Values.AsLong(args.Positional[0]); stop = Values.AsLong(args.Positional[1]); break;
            case 3:
                start = Values.AsLong(args.Positional[0]);
                stop = Values.AsLong(args.Positional[1]);
                step = Values.AsLong(args.Positional[2]);
                break;
            default: throw new RuntimeFault($"range expected 1 to 3 arguments, got {args.Positional.Length}");
        }
        if (step == 0) throw new RuntimeFault("range() arg 3 must not be zero");
        double count = step > 0 ? Math.Ceiling(((double)stop - start) / step) : Math.Ceiling(((double)start - stop) / -step);
        if (count > MaxRange) throw new RuntimeFault($"range() would produce {count} items; the limit is {MaxRange}");
        var list = new List<object?>((int)Math.Max(0, count));
        for (long i = start; step > 0 ? i < stop : i > stop; i += step) list.Add(i);
        return list;
    }

    private static Namespace NewNamespace(Args args)
    {
        var ns = new Namespace();
        foreach (var positional in args.Positional)
        {
            if (positional is not OrderedDictionary<string, object?> init)
                throw new RuntimeFault("namespace() takes keyword arguments or a dict");
            foreach (var kv in init) ns.Attributes[kv.Key] = kv.Value;
        }
        if (args.Named is not null)
            foreach (var kv in args.Named) ns.Attributes[kv.Key] = kv.Value;
        return ns;
    }

    private static OrderedDictionary<string, object?> NewDict(Args args)
    {
        var dict = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
        foreach (var positional in args.Positional)
        {
            if (positional is OrderedDictionary<string, object?> init)
                foreach (var kv in init) dict[kv.Key] = kv.Value;
            else throw new RuntimeFault("dict() takes keyword arguments or a dict");
        }
        if (args.Named is not null)
            foreach (var kv in args.Named) dict[kv.Key] = kv.Value;
        return dict;
    }
}
