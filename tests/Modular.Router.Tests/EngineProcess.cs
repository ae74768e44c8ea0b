using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Modular.Testing;

namespace Modular.Router.Tests;

/// <summary>
/// A real <c>modular serve</c> process on loopback (the CLI built beside this test project), started on a free
/// port and waited for until its /health answers 200. <see cref="Kill"/> ends it the hard way, like a crash.
/// </summary>
internal sealed class EngineProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private EngineProcess(Process process, string name, Uri baseUri)
    {
        _process = process;
        Name = name;
        BaseUri = baseUri;
    }

    /// <summary>The model name it serves.</summary>
    public string Name { get; }
    /// <summary>Its base address, ending with '/'.</summary>
    public Uri BaseUri { get; }
    /// <summary>What it printed so far (for failure messages).</summary>
    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>core/Modular.Cli/bin/&lt;this test's configuration&gt;/net10.0/modular.dll.</summary>
    public static string CliPath()
    {
        var config = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var path = Path.Combine(Fixtures.RepoRoot, "core", "Modular.Cli", "bin", config, "net10.0", "modular.dll");
        Assert.True(File.Exists(path), $"the CLI is not built at {path}; build tests/Modular.Router.Tests (it references core/Modular.Cli)");
        return path;
    }

    /// <summary>Starts <c>modular serve --model NAME=DIR</c> on a free port and waits until it is healthy.</summary>
    public static async Task<EngineProcess> StartAsync(string name, string modelDir, int maxModelLen = 512)
    {
        int port = FreePort();
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] args =
        [
            CliPath(), "serve", "--model", $"{name}={modelDir}", "--host", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--plugins", Path.Combine(Fixtures.RepoRoot, "plugins.json"), "--backend", "cpu", "--threads", "1", "--no-ui",
            "--max-model-len", maxModelLen.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--kv-cache-memory", (64L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture),
        ];
        foreach (var a in args) psi.ArgumentList.Add(a);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("dotnet did not start");
        var engine = new EngineProcess(process, name, new Uri($"http://127.0.0.1:{port}/"));
        process.OutputDataReceived += (_, e) => engine.Append(e.Data);
        process.ErrorDataReceived += (_, e) => engine.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(90))
        {
            if (process.HasExited)
                throw new InvalidOperationException($"modular serve ({name}) exited with {process.ExitCode}: {engine.Output}");
            try
            {
                using var r = await http.GetAsync(new Uri(engine.BaseUri, "health"));
                if (r.StatusCode == HttpStatusCode.OK) return engine;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // not listening yet
            }
            await Task.Delay(200);
        }
        await engine.DisposeAsync();
        throw new TimeoutException($"modular serve ({name}) was not healthy within 90 s: {engine.Output}");
    }

    /// <summary>SIGKILL: no draining, connections are cut.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    public ValueTask DisposeAsync()
    {
        try { Kill(); }
        catch (InvalidOperationException) { /* never started or already reaped */ }
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            if (_output.Length < 64 * 1024) _output.AppendLine(line);
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
