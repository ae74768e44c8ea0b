using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Modular.Abstractions;

namespace Modular.Plugins.Quant;

/// <summary>
/// Plugin entry "quant": reads GPTQ, AWQ and FP8 checkpoints into the canonical <see cref="QuantizedWeight"/> layout
/// that backends implementing <see cref="IQuantizedKernels"/> run, and offers online FP8 quantization.
/// </summary>
public sealed class QuantPlugin : IPlugin
{
    /// <summary>The <c>quant_method</c> values this plugin reads, for messages.</summary>
    public const string SupportedMethods = "gptq, awq, fp8";

    /// <inheritdoc />
    public string Name => "quant";
    /// <inheritdoc />
    public int ContractVersion => Abstractions.ContractVersion.Major;
    /// <inheritdoc />
    public string ProbeDetail => $"quantized checkpoint formats: {SupportedMethods}";
    /// <inheritdoc />
    public double Probe() => 1;

    /// <inheritdoc />
    public void Register(IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IQuantizer, GptqQuantizer>();
        services.AddSingleton<IQuantizer, AwqQuantizer>();
        services.AddSingleton<IQuantizer, Fp8Quantizer>();
        services.AddSingleton<IQuantizer, Fp8OnlineQuantizer>();
        foreach (var method in DummyQuantizer.Methods)
            services.AddSingleton<IQuantizer>(new DummyQuantizer(method));
    }

    /// <summary>The quantizer for a <c>quant_method</c>, or null when this plugin does not read it.</summary>
    public static IQuantizer? Find(string method) => method.ToLowerInvariant() switch
    {
        "gptq" => new GptqQuantizer(),
        "awq" => new AwqQuantizer(),
        "fp8" => new Fp8Quantizer(),
        _ => null,
    };

    /// <summary>
    /// Checks a whole <c>quantization_config</c>: null when some quantizer of this plugin reads it, else the reason
    /// (an unknown <c>quant_method</c> included).
    /// </summary>
    public static string? Check(JsonElement quantizationConfig)
    {
        string method = quantizationConfig.ValueKind == JsonValueKind.Object
            && quantizationConfig.TryGetProperty("quant_method", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "";
        return Find(method) is { } q ? q.Check(quantizationConfig)
            : $"quantization_config.quant_method = '{method}' is not supported (supported: {SupportedMethods})";
    }
}
