using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Modular.TestPlugins.FaultyBackend;

/// <summary>
/// Which faults to inject, read from the plugin's plugins.json <c>settings</c> (all optional):
/// <list type="bullet">
/// <item><c>triggerToken</c>: a step whose input ids contain this token throws <see cref="InjectedFaultException"/>.</item>
/// <item><c>failAtSteps</c>: comma-separated 1-based step numbers (counted by attention Prepare calls) that throw.</item>
/// <item><c>maxAllocationBytes</c>: any single allocation larger than this reports out-of-memory.</item>
/// <item><c>kvBudgetBytes</c>: a KV cache larger than this reports out-of-memory when it is created.</item>
/// <item><c>oom</c>: <c>device</c> (default) throws <see cref="DeviceOutOfMemoryException"/>, as a GPU runtime would;
/// <c>managed</c> throws <see cref="OutOfMemoryException"/>.</item>
/// <item><c>threads</c>: CPU threads (default: the backend options').</item>
/// </list>
/// </summary>
public sealed record FaultSettings
{
    /// <summary>Token id that makes a step throw; -1 for none.</summary>
    public int TriggerToken { get; init; } = -1;
    /// <summary>1-based step numbers that throw.</summary>
    public IReadOnlySet<long> FailAtSteps { get; init; } = new HashSet<long>();
    /// <summary>Largest single allocation in bytes; 0 for no limit.</summary>
    public long MaxAllocationBytes { get; init; }
    /// <summary>Largest KV cache in bytes; 0 for no limit.</summary>
    public long KvBudgetBytes { get; init; }
    /// <summary>True to throw <see cref="OutOfMemoryException"/> instead of <see cref="DeviceOutOfMemoryException"/>.</summary>
    public bool ManagedOom { get; init; }
    /// <summary>CPU threads; null to use the backend options.</summary>
    public int? Threads { get; init; }

    /// <summary>Reads the settings; a malformed value throws naming the setting.</summary>
    public static FaultSettings Read(IConfiguration c)
    {
        var steps = new HashSet<long>();
        if (c["failAtSteps"] is { Length: > 0 } list)
            foreach (var part in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                steps.Add(Long(part, "failAtSteps"));
        string oom = c["oom"] ?? "device";
        if (oom is not ("device" or "managed")) throw new FormatException($"faulty backend setting oom: \"{oom}\" must be device or managed");
        return new FaultSettings
        {
            TriggerToken = c["triggerToken"] is { } t ? (int)Long(t, "triggerToken") : -1,
            FailAtSteps = steps,
            MaxAllocationBytes = c["maxAllocationBytes"] is { } m ? Long(m, "maxAllocationBytes") : 0,
            KvBudgetBytes = c["kvBudgetBytes"] is { } k ? Long(k, "kvBudgetBytes") : 0,
            ManagedOom = oom == "managed",
            Threads = c["threads"] is { } th ? (int)Long(th, "threads") : null,
        };
    }

    private static long Long(string text, string name) =>
        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v)
            ? v
            : throw new FormatException($"faulty backend setting {name}: \"{text}\" is not an integer");
}

/// <summary>The fault the backend was told to inject (a step that throws).</summary>
public sealed class InjectedFaultException(string message) : Exception(message);

/// <summary>Device memory exhausted, as GPU runtimes report it (a plain exception, not the CLR's OutOfMemoryException).</summary>
public sealed class DeviceOutOfMemoryException(string message) : Exception(message);
