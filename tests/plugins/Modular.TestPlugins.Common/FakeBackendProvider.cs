using Modular.Abstractions;

namespace Modular.TestPlugins.Common;

/// <summary>A backend provider that only has a name: the host tests never open a device.</summary>
public sealed class FakeBackendProvider(string name) : IBackendProvider
{
    /// <inheritdoc />
    public string Name => name;

    /// <inheritdoc />
    public IBackend Create(BackendOptions options) =>
        throw new NotSupportedException($"{name} is a fake backend used by the plugin host tests");
}
