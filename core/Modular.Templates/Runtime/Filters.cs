namespace Modular.Templates.Runtime;

/// <summary>A Jinja filter, the right side of <c>value | name(args)</c>.</summary>
internal delegate object? FilterFunction(RenderContext ctx, object? value, Args args);

/// <summary>Jinja's built-in filters as the Hugging Face environment has them (tojson replaced by HF's version).</summary>
internal static partial class TemplateFilters
{
    private static readonly Dictionary<string, FilterFunction> Registry = new(StringComparer.Ordinal)
    {
        // text
        ["trim"] = (_, v, a) => Trim(v, a),
        ["upper"] = (_, v, _) => Values.ToStr(v).ToUpperInvariant(),
        ["lower"] = (_, v, _) => Values.ToStr(v).ToLowerInvariant(),
        ["title"] = (_, v, _) => TextCase.JinjaTitle(Values.ToStr(v)),
        ["capitalize"] = (_, v, _) => TextCase.Capitalize(Values.ToStr(v)),
        ["replace"] = (_, v, a) => Methods.Call(Values.ToStr(v), "replace", a),
        ["string"] = (_, v, _) => Values.ToStr(v),
        ["safe"] = (_, v, _) => v,
        ["escape"] = (_, v, _) => Escape(Values.ToStr(v)),
        ["forceescape"] = (_, v, _) => Escape(Values.ToStr(v)),
        ["indent"] = (_, v, a) => Indent(Values.ToStr(v), a),
        ["center"] = (_, v, a) => Center(Values.ToStr(v), a),
        ["truncate"] = (_, v, a) => Truncate(Values.ToStr(v), a),
        ["wordcount"] = (_, v, _) => WordCount(Values.ToStr(v)),
        ["format"] = (_, v, a) => Format(v, a),
        ["tojson"] = (_, v, a) => JsonDump.Dump(v, JsonDump.FromArgs(a)),
        // numbers
        ["int"] = (_, v, a) => ToInt(v, a),
        ["float"] = (_, v, a) => ToFloat(v, a),
        ["abs"] = (_, v, _) => Abs(v),
        ["round"] = (_, v, a) => Round(v, a),
        // values and collections
        ["default"] = (_, v, a) => Default(v, a),
        ["length"] = (_, v, _) => Values.Length(v),
        ["first"] = (_, v, _) => First(v),
        ["last"] = (_, v, _) => Last(v),
        ["list"] = (_, v, _) => new List<object?>(Values.Iterate(v)),
        ["items"] = (_, v, _) => Items(v),
        ["join"] = (ctx, v, a) => Join(v, a),
        ["reverse"] = (_, v, _) => Reverse(v),
        ["sort"] = (_, v, a) => Sort(v, a),
        ["unique"] = (_, v, a) => Unique(v, a),
        ["min"] = (_, v, a) => MinMax(v, a, max: false),
        ["max"] = (_, v, a) => MinMax(v, a, max: true),
        ["sum"] = (_, v, a) => Sum(v, a),
        ["dictsort"] = (_, v, a) => DictSort(v, a),
        ["batch"] = (_, v, a) => Batch(v, a),
        ["attr"] = (_, v, a) => Access.GetAttribute(v, Values.ToStr(a.Get(0, "name"))),
        ["map"] = (ctx, v, a) => Map(ctx, v, a),
        ["select"] = (ctx, v, a) => Select(ctx, v, a, keep: true),
        ["reject"] = (ctx, v, a) => Select(ctx, v, a, keep: false),
        ["selectattr"] = (ctx, v, a) => SelectAttr(ctx, v, a, keep: true),
        ["rejectattr"] = (ctx, v, a) => SelectAttr(ctx, v, a, keep: false),
    };

    static TemplateFilters()
    {
        Registry["d"] = Registry["default"];
        Registry["e"] = Registry["escape"];
        Registry["count"] = Registry["length"];
    }

    public static bool TryGet(string name, out FilterFunction filter) => Registry.TryGetValue(name, out filter!);
}
