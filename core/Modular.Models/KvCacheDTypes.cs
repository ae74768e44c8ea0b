using Modular.Abstractions;

namespace Modular.Models;

/// <summary>
/// The KV cache dtype option (vLLM's <c>--kv-cache-dtype</c>): "auto" keeps K/V in the backend's activation dtype;
/// "fp8" / "fp8_e4m3" stores them as FP8 e4m3fn with scale 1.0 (rounded to nearest even, saturated to ±448 on
/// store, decoded exactly on read), a quarter of F32's bytes and half of BF16's.
/// </summary>
public static class KvCacheDTypes
{
    /// <summary>The default spelling: the backend's activation dtype.</summary>
    public const string Auto = "auto";

    /// <summary>Every accepted spelling.</summary>
    public static readonly IReadOnlyList<string> Names = [Auto, "fp8", "fp8_e4m3"];

    /// <summary>True when <paramref name="option"/> is an accepted spelling (case-insensitive; null or empty means "auto").</summary>
    public static bool IsKnown(string? option) => string.IsNullOrWhiteSpace(option) || Names.Contains(option.Trim().ToLowerInvariant());

    /// <summary>The message for an unknown spelling, after the option's name.</summary>
    public static string Unknown(string? option) => $"\"{option}\" is unknown; use one of: {string.Join(", ", Names)}";

    /// <summary>The dtype an option names, or null for "auto" (and for null or empty); throws on anything else.</summary>
    public static DType? Parse(string? option)
    {
        switch (option?.Trim().ToLowerInvariant())
        {
            case null or "" or Auto: return null;
            case "fp8" or "fp8_e4m3": return DType.F8E4M3;
            default:
                throw new ArgumentException("kv_cache_dtype: " + Unknown(option), nameof(option));
        }
    }

    /// <summary>The KV cache dtype on <paramref name="backend"/>: the parsed option, or its activation dtype for "auto".</summary>
    public static DType Resolve(string? option, IBackend backend) => Parse(option) ?? backend.ActivationDType;

    /// <summary>The option's name for a resolved dtype, for logs and benchmark reports ("fp8" or the dtype's lower-case name).</summary>
    public static string Describe(DType kvDType) => kvDType == DType.F8E4M3 ? "fp8_e4m3" : kvDType.ToString().ToLowerInvariant();
}
