using System.Diagnostics;
using System.Text;

namespace Modular.ConformanceSelf.Tests;

/// <summary>Runs a process to completion with a time limit, collecting stdout and stderr interleaved.</summary>
internal static class ChildProcess
{
    /// <summary>Exit code and combined output; fails the test (after killing the process tree) on timeout.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(ProcessStartInfo psi, TimeSpan timeout, string what)
    {
        psi.UseShellExecute = false;
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        var output = new StringBuilder();
        using var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        if (!p.Start()) throw new InvalidOperationException($"could not start {psi.FileName} for {what}");
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await p.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{what} did not finish within {timeout.TotalSeconds:F0} s; output so far:\n{Tail(output.ToString())}");
        }
        // WaitForExit() without a timeout also waits for the redirected streams to be drained.
        p.WaitForExit();
        return (p.ExitCode, output.ToString());
    }

    /// <summary>The last lines of a long output, for failure messages.</summary>
    public static string Tail(string text, int chars = 4000) => text.Length <= chars ? text : "..." + text[^chars..];
}
