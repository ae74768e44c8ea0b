using System.Text.Json;
using Modular.Server.Http;

namespace Modular.Server.Protocol;

/// <summary>
/// Typed, validating access to the fields of a JSON request object. Every getter treats an absent field and an
/// explicit <c>null</c> alike (vLLM and the OpenAI SDKs send both) and reports a wrong type or range as a 400 that
/// names the field; unknown fields are simply never read.
/// </summary>
internal readonly struct JsonFields
{
    private readonly JsonElement _obj;
    private readonly string _prefix;

    public JsonFields(JsonElement obj, string prefix = "")
    {
        _obj = obj;
        _prefix = prefix;
    }

    /// <summary>The full name of a field for error messages ("messages[2].content").</summary>
    public string Name(string field) => _prefix.Length == 0 ? field : _prefix + "." + field;

    /// <summary>The field's value, or null when absent or JSON null.</summary>
    public JsonElement? Get(string field) =>
        _obj.TryGetProperty(field, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public bool Has(string field) => Get(field) is not null;

    public string? String(string field)
    {
        if (Get(field) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.String) throw Wrong(field, "a string", v);
        return v.GetString();
    }

    public bool? Bool(string field)
    {
        if (Get(field) is not { } v) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Wrong(field, "a boolean", v),
        };
    }

    /// <summary>An integer in [min, max]; JSON numbers with a zero fraction (2.0) are accepted as Python does.</summary>
    public long? Long(string field, long min = long.MinValue, long max = long.MaxValue)
    {
        if (Get(field) is not { } v) return null;
        long x = AsLong(v, Name(field), Name(field));
        if (x < min || x > max) throw ApiException.BadField(Name(field), $"{Name(field)}: {x} is out of range (must be {RangeText(min, max)})");
        return x;
    }

    public int? Int(string field, int min = int.MinValue, int max = int.MaxValue) => (int?)Long(field, min, max);

    /// <summary>A finite number in [min, max].</summary>
    public double? Number(string field, double min = double.NegativeInfinity, double max = double.PositiveInfinity)
    {
        if (Get(field) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double x) || !double.IsFinite(x))
            throw Wrong(field, "a number", v);
        if (x < min || x > max) throw ApiException.BadField(Name(field), $"{Name(field)}: {Format(x)} is out of range (must be {RangeText(min, max)})");
        return x;
    }

    public JsonElement? Object(string field)
    {
        if (Get(field) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Object) throw Wrong(field, "an object", v);
        return v;
    }

    public JsonElement? Array(string field)
    {
        if (Get(field) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Array) throw Wrong(field, "an array", v);
        return v;
    }

    /// <summary>A string or an array of strings (e.g. <c>stop</c>).</summary>
    public List<string>? StringOrStrings(string field)
    {
        if (Get(field) is not { } v) return null;
        if (v.ValueKind == JsonValueKind.String) return [v.GetString()!];
        if (v.ValueKind != JsonValueKind.Array) throw Wrong(field, "a string or an array of strings", v);
        var list = new List<string>(v.GetArrayLength());
        int i = 0;
        foreach (var e in v.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.String)
                throw ApiException.BadField(Name(field), $"{Name(field)}[{i}]: expected a string, got {Kind(e)}");
            list.Add(e.GetString()!);
            i++;
        }
        return list;
    }

    /// <summary>An array of integers in [min, max].</summary>
    public List<int>? Ints(string field, int min, int max)
    {
        if (Array(field) is not { } v) return null;
        return IntList(v, Name(field), min, max);
    }

    public static List<int> IntList(JsonElement array, string name, int min, int max)
    {
        var list = new List<int>(array.GetArrayLength());
        int i = 0;
        foreach (var e in array.EnumerateArray())
        {
            long x = AsLong(e, $"{name}[{i}]", name);
            if (x < min || x > max) throw ApiException.BadField(name, $"{name}[{i}]: {x} is out of range (must be {RangeText(min, max)})");
            list.Add((int)x);
            i++;
        }
        return list;
    }

    private static long AsLong(JsonElement v, string name, string param)
    {
        if (v.ValueKind == JsonValueKind.Number)
        {
            if (v.TryGetInt64(out long x)) return x;
            if (v.TryGetDouble(out double d) && double.IsFinite(d) && Math.Floor(d) == d && Math.Abs(d) < 9e15) return (long)d;
        }
        throw ApiException.BadField(param, $"{name}: expected an integer, got {Kind(v)}");
    }

    private ApiException Wrong(string field, string expected, JsonElement v) =>
        ApiException.BadField(Name(field), $"{Name(field)}: expected {expected}, got {Kind(v)}");

    /// <summary>Describes a JSON value for error messages without echoing large inputs.</summary>
    public static string Kind(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "the number " + Truncate(v.GetRawText()),
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.Null => "null",
        _ => v.ValueKind.ToString(),
    };

    private static string Truncate(string s) => s.Length <= 32 ? s : s[..32] + "...";

    private static string Format(double x) => x.ToString("G", System.Globalization.CultureInfo.InvariantCulture);

    private static string RangeText(double min, double max) =>
        double.IsNegativeInfinity(min) || min <= long.MinValue ? $"<= {Format(max)}"
        : double.IsPositiveInfinity(max) || max >= long.MaxValue ? $">= {Format(min)}"
        : $"between {Format(min)} and {Format(max)}";
}
