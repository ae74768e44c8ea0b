using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Modular.Abstractions;

namespace Modular.TestPlugins.TwoEntries;

/// <summary>First of two IPlugin classes in one assembly: the host must refuse the assembly.</summary>
public sealed class FirstPlugin : IPlugin
{
    /// <inheritdoc />
    public string Name => "first";

    /// <inheritdoc />
    public int ContractVersion => Modular.Abstractions.ContractVersion.Major;

    /// <inheritdoc />
    public string ProbeDetail => "first";

    /// <inheritdoc />
    public double Probe() => 0;

    /// <inheritdoc />
    public void Register(IServiceCollection services, IConfiguration configuration)
    {
    }
}

/// <summary>Second IPlugin class.</summary>
public sealed class SecondPlugin : IPlugin
{
    /// <inheritdoc />
    public string Name => "second";

    /// <inheritdoc />
    public int ContractVersion => Modular.Abstractions.ContractVersion.Major;

    /// <inheritdoc />
    public string ProbeDetail => "second";

    /// <inheritdoc />
    public double Probe() => 0;

    /// <inheritdoc />
    public void Register(IServiceCollection services, IConfiguration configuration)
    {
    }
}
