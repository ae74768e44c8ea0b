namespace Modular.Templates.Runtime;

/// <summary>A Jinja test, the right side of <c>x is name(args)</c>.</summary>
internal delegate bool TestFunction(object? value, Args args);

/// <summary>Jinja's built-in tests, with Python's type rules (a bool is a number, not an integer).</summary>
internal static class TemplateTests
{
    private static readonly Dictionary<string, TestFunction> Registry = new(StringComparer.Ordinal)
    {
        ["defined"] = (v, _) => v is not Undefined,
        ["undefined"] = (v, _) => v is Undefined,
        ["none"] = (v, _) => v is null,
        ["string"] = (v, _) => v is string,
        ["mapping"] = (v, _) => v is OrderedDictionary<string, object?>,
        ["sequence"] = (v, _) => v is string or IList<object?> or OrderedDictionary<string, object?> or Undefined,
        ["iterable"] = (v, _) => v is string or IList<object?> or OrderedDictionary<string, object?> or Undefined,
        ["number"] = (v, _) => v is long or double or bool,
        ["integer"] = (v, _) => v is long,
        ["float"] = (v, _) => v is double,
        ["boolean"] = (v, _) => v is bool,
        ["true"] = (v, _) => v is true,
        ["false"] = (v, _) => v is false,
        ["callable"] = (v, _) => v is ICallable,
        ["even"] = (v, _) => Values.AsLongLoose(v) % 2 == 0,
        ["odd"] = (v, _) => Values.AsLongLoose(v) % 2 != 0,
        ["divisibleby"] = (v, a) => Divisible(v, a.Get(0, "num")),
        ["eq"] = (v, a) => Values.PyEquals(v, a.Get(0, "other")),
        ["ne"] = (v, a) => !Values.PyEquals(v, a.Get(0, "other")),
        ["lt"] = (v, a) => Values.Compare(v, a.Get(0, "other"), "<") < 0,
        ["le"] = (v, a) => Values.Compare(v, a.Get(0, "other"), "<=") <= 0,
        ["gt"] = (v, a) => Values.Compare(v, a.Get(0, "other"), ">") > 0,
        ["ge"] = (v, a) => Values.Compare(v, a.Get(0, "other"), ">=") >= 0,
        ["in"] = (v, a) => Values.Contains(a.Get(0, "seq"), v),
        ["lower"] = (v, _) => Values.ToStr(v) is var s && s.Any(char.IsLetter) && !s.Any(char.IsUpper),
        ["upper"] = (v, _) => Values.ToStr(v) is var s && s.Any(char.IsLetter) && !s.Any(char.IsLower),
        ["sameas"] = (v, a) => SameAs(v, a.Get(0, "other")),
        ["escaped"] = (_, _) => false,
        ["filter"] = (v, a) => v is string name && TemplateFilters.TryGet(name, out FilterFunction _),
        ["test"] = (v, _) => v is string name && Registry!.ContainsKey(name),
    };

    static TemplateTests()
    {
        Registry["equalto"] = Registry["=="] = Registry["eq"];
        Registry["!="] = Registry["ne"];
        Registry["lessthan"] = Registry["<"] = Registry["lt"];
        Registry["<="] = Registry["le"];
        Registry["greaterthan"] = Registry[">"] = Registry["gt"];
        Registry[">="] = Registry["ge"];
    }

    public static bool TryGet(string name, out TestFunction test) => Registry.TryGetValue(name, out test!);

    private static bool Divisible(object? v, object? num)
    {
        if (v is double || num is double)
        {
            double d = Values.ToDouble(num);
            if (d == 0) throw new RuntimeFault("divisibleby: division by zero");
            return Values.ToDouble(v) % d == 0;
        }
        long n = Values.AsLongLoose(num);
        if (n == 0) throw new RuntimeFault("divisibleby: division by zero");
        return Values.AsLongLoose(v) % n == 0;
    }

    private static bool SameAs(object? a, object? b)
    {
        if (a is null || b is null) return a is null && b is null;
        if (a is bool x && b is bool y) return x == y;
        // Python caches small ints, so "1 is 1" holds; strings compare by identity there too, approximated here by value.
        if (a is long l1 && b is long l2) return l1 == l2 && l1 is >= -5 and <= 256;
        return ReferenceEquals(a, b);
    }
}
