using Modular.Abstractions;

namespace Modular.Hosting;

/// <summary>One backend plugin's answer to <see cref="IPlugin.Probe"/>.</summary>
/// <param name="Plugin">Plugin name.</param>
/// <param name="Score">Probe score; 0 when it cannot run here (or when the probe threw or returned a non-finite value).</param>
/// <param name="Detail">The plugin's <see cref="IPlugin.ProbeDetail"/>, or why the probe failed.</param>
public sealed record ProbeResult(string Plugin, double Score, string Detail)
{
    /// <inheritdoc />
    public override string ToString() => $"{Plugin}: {Score:0.###} ({Detail})";
}

/// <summary>Which backend plugin was chosen and why, before any service is resolved.</summary>
/// <param name="Plugin">The chosen backend plugin.</param>
/// <param name="Reason">One log line saying which backend and why ("auto: cuda scored 10 ... over cpu 1 ...").</param>
/// <param name="Probes">Probe results of every backend plugin that was asked (all of them for "auto").</param>
public sealed record BackendChoice(LoadedPlugin Plugin, string Reason, IReadOnlyList<ProbeResult> Probes);

/// <summary>The chosen backend plugin with the <see cref="IBackendProvider"/> it registered.</summary>
/// <param name="Choice">Which plugin and why.</param>
/// <param name="Provider">The provider resolved from the service provider.</param>
public sealed record BackendSelection(BackendChoice Choice, IBackendProvider Provider)
{
    /// <summary>One log line saying which backend was chosen and why.</summary>
    public string Reason => Choice.Reason;
}
