using System.Text.Json;

namespace Modular.Plugins.Quant;

/// <summary>
/// Reads fields of <c>quantization_config</c>; every failure names the method, the field, the value found and the
/// supported values, because these messages are what a user sees when a checkpoint is refused.
/// </summary>
internal static class QuantConfig
{
    /// <summary>Thrown by readers; its message is what <see cref="Modular.Abstractions.IQuantizer.Check"/> returns.</summary>
    public sealed class Unsupported(string message) : Exception(message);

    public static Unsupported Refuse(string method, string field, string found, string supported) =>
        new($"{method}: quantization_config.{field} = {found} is not supported (supported: {supported})");

    public static bool Has(JsonElement c, string field) =>
        c.ValueKind == JsonValueKind.Object && c.TryGetProperty(field, out var v) && v.ValueKind != JsonValueKind.Null;

    public static int Int(JsonElement c, string method, string field, int? fallback, string supported)
    {
        if (!Has(c, field))
            return fallback ?? throw new Unsupported($"{method}: quantization_config.{field} is missing (supported: {supported})");
        var v = c.GetProperty(field);
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : throw Refuse(method, field, v.GetRawText(), supported);
    }

    public static bool Bool(JsonElement c, string method, string field, bool fallback)
    {
        if (!Has(c, field)) return fallback;
        var v = c.GetProperty(field);
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Refuse(method, field, v.GetRawText(), "true, false"),
        };
    }

    public static string? String(JsonElement c, string method, string field)
    {
        if (!Has(c, field)) return null;
        var v = c.GetProperty(field);
        return v.ValueKind == JsonValueKind.String ? v.GetString() : throw Refuse(method, field, v.GetRawText(), "a string");
    }

    /// <summary>The config's <c>quant_method</c> must be <paramref name="method"/>.</summary>
    public static void Method(JsonElement c, string method)
    {
        if (c.ValueKind != JsonValueKind.Object) throw new Unsupported($"{method}: quantization_config must be a JSON object");
        var m = String(c, method, "quant_method");
        if (!string.Equals(m, method, StringComparison.OrdinalIgnoreCase))
            throw Refuse(method, "quant_method", m is null ? "(missing)" : $"'{m}'", $"'{method}' for this quantizer; the quant plugin reads {QuantPlugin.SupportedMethods}");
    }

    /// <summary>Runs a validator, turning its refusal into the message <c>Check</c> returns.</summary>
    public static string? Check(Action validate)
    {
        try { validate(); return null; }
        catch (Unsupported e) { return e.Message; }
    }
}
