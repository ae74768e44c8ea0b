using System.Diagnostics;

namespace Modular.Cli;

/// <summary>Facts recorded with every benchmark result.</summary>
internal static class BenchInfo
{
    /// <summary>The git commit of the working tree, or $MODULAR_COMMIT, or "unknown".</summary>
    public static string Commit()
    {
        var env = Environment.GetEnvironmentVariable("MODULAR_COMMIT");
        if (!string.IsNullOrEmpty(env)) return env;
        try
        {
            using var p = Process.Start(new ProcessStartInfo("git", "rev-parse --short HEAD") { RedirectStandardOutput = true, RedirectStandardError = true });
            if (p is null) return "unknown";
            var s = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit(2000);
            return p.ExitCode == 0 && s.Length > 0 ? s : "unknown";
        }
        catch (Exception) { return "unknown"; }
    }
}
