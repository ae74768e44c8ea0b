using System.Diagnostics;
using Modular.Testing;

namespace Modular.ConformanceSelf.Tests;

/// <summary>
/// The sample backend (samples/ScalarBackend) is not in Modular.sln, so the solution build does not make it: it is
/// built here, in Release as its plugins.json expects, when its assembly is missing or older than its sources.
/// </summary>
internal static class SampleBuild
{
    private static readonly SemaphoreSlim Gate = new(1, 1);

    /// <summary>samples/ScalarBackend.</summary>
    public static string Folder => Path.Combine(Fixtures.RepoRoot, "samples", "ScalarBackend");

    /// <summary>The sample's own plugins.json (loads bin/Release/net10.0/ScalarBackend.dll).</summary>
    public static string PluginsJson => Path.Combine(Folder, "plugins.json");

    /// <summary>The built plugin assembly.</summary>
    public static string Assembly => Path.Combine(Folder, "bin", "Release", "net10.0", "ScalarBackend.dll");

    /// <summary>Builds the sample unless its assembly is up to date; fails the test with the build log on error.</summary>
    public static async Task EnsureBuiltAsync()
    {
        await Gate.WaitAsync(TestContext.Current.CancellationToken);
        try
        {
            if (IsUpToDate()) return;
            var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = Fixtures.RepoRoot };
            foreach (var a in new[] { "build", Path.Combine(Folder, "ScalarBackend.csproj"), "-c", "Release", "-nologo", "-v", "q", "-nodeReuse:false", "--disable-build-servers" })
                psi.ArgumentList.Add(a);
            // No MSBuild node may outlive the build holding our output pipes open.
            psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
            psi.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
            var watch = Stopwatch.StartNew();
            var (code, output) = await ChildProcess.RunAsync(psi, TimeSpan.FromMinutes(5), "dotnet build samples/ScalarBackend -c Release");
            TestContext.Current.TestOutputHelper?.WriteLine($"built samples/ScalarBackend in {watch.Elapsed.TotalSeconds:F1} s");
            Assert.True(code == 0, $"dotnet build samples/ScalarBackend -c Release exited with {code}:\n{ChildProcess.Tail(output)}");
            Assert.True(File.Exists(Assembly), $"the sample built but {Assembly} is missing; did its output path change?");
        }
        finally
        {
            Gate.Release();
        }
    }

    private static bool IsUpToDate()
    {
        if (!File.Exists(Assembly)) return false;
        var built = File.GetLastWriteTimeUtc(Assembly);
        foreach (var file in Directory.EnumerateFiles(Folder, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(Folder, file);
            if (relative.StartsWith("bin" + Path.DirectorySeparatorChar) || relative.StartsWith("obj" + Path.DirectorySeparatorChar)) continue;
            if (file.EndsWith(".cs") || file.EndsWith(".csproj") || file.EndsWith(".props"))
                if (File.GetLastWriteTimeUtc(file) > built) return false;
        }
        return true;
    }
}
