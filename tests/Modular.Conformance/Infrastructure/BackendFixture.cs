using System.Reflection;
using Modular.Abstractions;

[assembly: AssemblyFixture(typeof(Modular.Conformance.BackendFixture))]
// One device, one stream: suites share the backend and must not run concurrently.
[assembly: Xunit.v3.Parallelization(Mode = Xunit.Sdk.ParallelMode.None)]

namespace Modular.Conformance;

/// <summary>
/// The backend under test, chosen by name through MODULAR_BACKEND (default "cpu") and created through its plugin's
/// <see cref="IBackendProvider"/>; plus the CPU backend as a second reference when the target is another backend.
/// When the target cannot run here (no device), every test that needs it skips with the plugin's probe detail.
/// </summary>
public sealed class BackendFixture : IDisposable
{
    /// <summary>Backend assemblies known to the suite (project references until the plugin host loads them).</summary>
    private static readonly string[] BackendAssemblies = ["Modular.Backends.Cpu", "Modular.Backends.Cuda"];

    private readonly Lazy<(IBackend? Backend, string? Why)> _target;
    private readonly Lazy<IBackend?> _cpu;

    /// <summary>Reads MODULAR_BACKEND; creation is deferred to the first test that needs a backend.</summary>
    public BackendFixture()
    {
        var env = Environment.GetEnvironmentVariable("MODULAR_BACKEND");
        Name = string.IsNullOrWhiteSpace(env) ? "cpu" : env.Trim();
        _target = new Lazy<(IBackend?, string?)>(() => Open(Name));
        _cpu = new Lazy<IBackend?>(() => Name == "cpu" ? null : Open("cpu").Backend);
    }

    /// <summary>Name of the backend under test.</summary>
    public string Name { get; }

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

    /// <summary>The CPU backend for cross-checks, or null when the target is the CPU or it cannot be created.</summary>
    public IBackend? Cpu => _cpu.Value;

    /// <summary>Finds a provider by name in the known backend assemblies; probes its plugin first.</summary>
    internal static (IBackend? Backend, string? Why) Open(string name)
    {
        foreach (var asmName in BackendAssemblies)
        {
            Assembly asm;
            try { asm = Assembly.Load(asmName); }
            catch (Exception e) when (e is FileNotFoundException or BadImageFormatException) { continue; }
            Type[] types;
            try { types = asm.GetTypes(); }
            catch (ReflectionTypeLoadException e) { types = e.Types.Where(t => t is not null).ToArray()!; }
            IPlugin? plugin = null;
            IBackendProvider? provider = null;
            foreach (var t in types)
            {
                if (t.IsAbstract || t.GetConstructor(Type.EmptyTypes) is null) continue;
                if (typeof(IPlugin).IsAssignableFrom(t)) plugin ??= (IPlugin)Activator.CreateInstance(t)!;
                if (typeof(IBackendProvider).IsAssignableFrom(t))
                {
                    var p = (IBackendProvider)Activator.CreateInstance(t)!;
                    if (p.Name == name) provider = p;
                }
            }
            if (provider is null) continue;
            if (plugin is not null && plugin.Name == name && plugin.Probe() <= 0)
                return (null, $"probe of plugin '{name}' returned 0: {plugin.ProbeDetail}");
            try
            {
                return (provider.Create(new BackendOptions()), null);
            }
            catch (Exception e)
            {
                return (null, $"{provider.GetType().Name}.Create failed: {e.Message}");
            }
        }
        return (null, $"no IBackendProvider named '{name}' in {string.Join(", ", BackendAssemblies)}");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_target.IsValueCreated) _target.Value.Backend?.Dispose();
        if (_cpu.IsValueCreated) _cpu.Value?.Dispose();
    }
}
