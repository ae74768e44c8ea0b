using Modular.Abstractions;

[assembly: AssemblyFixture(typeof(Modular.Conformance.BackendFixture))]
// One device, one stream: suites share the backend and must not run concurrently.
[assembly: Xunit.v3.Parallelization(Mode = Xunit.Sdk.ParallelMode.None)]

namespace Modular.Conformance;

/// <summary>
/// The backend under test, loaded the way production loads it: through the plugin host from plugins.json
/// (MODULAR_PLUGINS, default: the repository's plugins.json), chosen by name through MODULAR_BACKEND (default "cpu"),
/// with backend settings from MODULAR_BACKEND_SETTINGS ("key=value;key=value"). The CPU backend, the reference, is
/// created directly. When the target cannot run here (no device), every test that needs it skips with the reason.
/// </summary>
public sealed class BackendFixture : IDisposable
{
    private readonly Lazy<(IBackend? Backend, string? Why)> _target;
    private readonly Lazy<IBackend?> _cpu;
    private Hosting.PluginRuntime? _runtime;

    /// <summary>Reads MODULAR_BACKEND; creation is deferred to the first test that needs a backend.</summary>
    public BackendFixture()
    {
        var env = Environment.GetEnvironmentVariable("MODULAR_BACKEND");
        Name = string.IsNullOrWhiteSpace(env) ? "cpu" : env.Trim();
        _target = new Lazy<(IBackend?, string?)>(Open);
        _cpu = new Lazy<IBackend?>(() => Name == "cpu" ? null : new Backends.Cpu.CpuBackend());
    }

    /// <summary>Name of the backend under test.</summary>
    public string Name { get; }

    /// <summary>The device the target runs on, or why it is unavailable (for reports).</summary>
    public string Describe() => _target.Value.Backend is { } b ? $"{b.Name}: {b.Info.Name} ({b.Info.Driver})" : $"{Name}: unavailable ({_target.Value.Why})";

    /// <summary>The backend under test; skips the calling test when it cannot be created here.</summary>
    public IBackend Backend
    {
        get
        {
            var (b, why) = _target.Value;
            Assert.SkipWhen(b is null, $"backend '{Name}' is not available here: {why}");
            return b!;
        }
    }

    /// <summary>The CPU backend for cross-checks, or null when the target is the CPU.</summary>
    public IBackend? Cpu => _cpu.Value;

    private (IBackend?, string?) Open()
    {
        // The cuda backend is compiled into the suite for its backend-specific tests (graph capture), which need its
        // concrete type; every other backend - a vendor's included - comes through plugins.json like production.
        if (Name == "cuda") return OpenCompiledIn(Name);
        string plugins;
        try { plugins = Environment.GetEnvironmentVariable("MODULAR_PLUGINS") is { Length: > 0 } p ? p : Hosting.PluginRuntime.DefaultPluginsJson(); }
        catch (Hosting.PluginLoadException e) { return (null, e.Message); }
        var settings = new Dictionary<string, string>();
        foreach (var kv in (Environment.GetEnvironmentVariable("MODULAR_BACKEND_SETTINGS") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var i = kv.IndexOf('=');
            if (i > 0) settings[kv[..i].Trim()] = kv[(i + 1)..].Trim();
        }
        try
        {
            _runtime = Hosting.PluginRuntime.Open(plugins, Name, new BackendOptions(Settings: settings));
        }
        catch (Hosting.PluginLoadException e)
        {
            return (null, e.Message);
        }
        var probe = _runtime.Selection.Choice.Probes;
        if (probe.Count > 0 && probe[0].Score <= 0) return (null, $"probe of plugin '{Name}' returned 0: {probe[0].Detail}");
        return (_runtime.Backend, null);
    }

    private static (IBackend?, string?) OpenCompiledIn(string name)
    {
        IPlugin plugin = new Backends.Cuda.CudaPlugin();
        if (plugin.Probe() <= 0) return (null, $"probe of plugin '{name}' returned 0: {plugin.ProbeDetail}");
        try { return (new Backends.Cuda.CudaBackendProvider().Create(new BackendOptions()), null); }
        catch (Exception e) { return (null, $"CudaBackendProvider.Create failed: {e.Message}"); }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _runtime?.Dispose();
        if (_cpu.IsValueCreated) _cpu.Value?.Dispose();
    }
}
