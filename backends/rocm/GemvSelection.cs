using Modular.Abstractions;

namespace Modular.Backends.Rocm;

/// <summary>
/// Resolves <see cref="GemvVariant"/>: the backend setting <c>gemv</c> (auto, group or warp), else the environment
/// variable <c>MODULAR_ROCM_GEMV</c> (same values; handy for A/B runs whose settings are fixed in a script), else
/// auto: <see cref="GemvVariant.Group"/> on GPUs (ILGPU's CUDA accelerator, OpenCL GPU devices) and
/// <see cref="GemvVariant.Warp"/> on CPU devices (pocl, ILGPU's CPU accelerator).
/// </summary>
public static class GemvSelection
{
    /// <summary>Backend settings key.</summary>
    public const string Setting = "gemv";

    /// <summary>Environment variable consulted when the setting is absent or auto.</summary>
    public const string EnvironmentVariable = "MODULAR_ROCM_GEMV";

    /// <summary>The variant for a device, from the options and the process environment.</summary>
    public static GemvVariant Resolve(BackendOptions options, bool isGpu)
    {
        string? setting = options.Settings is { } s && s.TryGetValue(Setting, out var v) ? v : null;
        return Resolve(setting, Environment.GetEnvironmentVariable(EnvironmentVariable), isGpu);
    }

    /// <summary>
    /// The variant for a device: <paramref name="setting"/> unless absent or auto, then <paramref name="environment"/>
    /// likewise, then by <paramref name="isGpu"/>. Throws naming the source of an unknown value.
    /// </summary>
    public static GemvVariant Resolve(string? setting, string? environment, bool isGpu) =>
        Parse(setting, $"backend setting '{Setting}'")
        ?? Parse(environment, EnvironmentVariable)
        ?? (isGpu ? GemvVariant.Group : GemvVariant.Warp);

    private static GemvVariant? Parse(string? value, string source) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto" => null,
        "group" => GemvVariant.Group,
        "warp" => GemvVariant.Warp,
        _ => throw new ArgumentException($"{source} is '{value}'; expected auto, group or warp"),
    };

    /// <summary>The name shown in the device name ("group" or "warp").</summary>
    public static string Name(GemvVariant v) => v == GemvVariant.Group ? "group" : "warp";
}
