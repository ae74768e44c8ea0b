namespace Modular.Abstractions;

/// <summary>Options a backend is created with.</summary>
/// <param name="DeviceIndex">Device ordinal for multi-device machines.</param>
/// <param name="Threads">Worker threads for CPU backends; 0 means all cores.</param>
/// <param name="Settings">Backend-specific settings from plugins.json or the command line.</param>
public sealed record BackendOptions(int DeviceIndex = 0, int Threads = 0, IReadOnlyDictionary<string, string>? Settings = null);

/// <summary>
/// Registered in DI by a backend plugin; creates the device object. A backend plugin registers exactly one,
/// whose <see cref="Name"/> equals the plugin's name.
/// </summary>
public interface IBackendProvider
{
    /// <summary>Backend name.</summary>
    string Name { get; }

    /// <summary>Opens the device; throws with a clear message when it cannot.</summary>
    IBackend Create(BackendOptions options);
}
