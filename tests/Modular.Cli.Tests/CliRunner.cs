using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Modular.Testing;

namespace Modular.Cli.Tests;

/// <summary>Runs the built <c>modular</c> program as a user would.</summary>
internal static class CliRunner
{
    public static string Dll
    {
        get
        {
            foreach (var cfg in new[] { "Debug", "Release" })
            {
                var p = Path.Combine(Fixtures.RepoRoot, "core", "Modular.Cli", "bin", cfg, "net10.0", "modular.dll");
                if (File.Exists(p)) return p;
            }
            throw new InvalidOperationException("modular.dll not built");
        }
    }

    public static ProcessStartInfo Start(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Fixtures.RepoRoot };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    /// <summary>Runs to completion (bounded) and returns exit code, stdout, stderr.</summary>
    public static async Task<(int Code, string Out, string Err)> RunAsync(TimeSpan timeout, params string[] args)
    {
        using var p = Process.Start(Start(args))!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { p.Kill(true); throw new TimeoutException($"modular {string.Join(' ', args)} ran past {timeout}"); }
        return (p.ExitCode, await stdout, await stderr);
    }

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
