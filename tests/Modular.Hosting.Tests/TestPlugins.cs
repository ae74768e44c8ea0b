using System.Text.Json;
using Modular.Testing;

namespace Modular.Hosting.Tests;

/// <summary>
/// Locates the test plugins built from tests/plugins and writes plugins.json files into a private temporary folder.
/// </summary>
internal sealed class TestPlugins : IDisposable
{
    public TestPlugins()
    {
        Dir = Path.Combine(Path.GetTempPath(), "modular-hosting-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Dir);
    }

    /// <summary>Temporary folder holding this test's plugins.json.</summary>
    public string Dir { get; }

    /// <summary>Build output folder of test plugin project Modular.TestPlugins.<paramref name="project"/>.</summary>
    public static string Folder(string project) =>
        Path.Combine(Fixtures.RepoRoot, "tests", "plugins", "bin", "Modular.TestPlugins." + project);

    /// <summary>Main assembly of test plugin project Modular.TestPlugins.<paramref name="project"/>.</summary>
    public static string Dll(string project)
    {
        var path = Path.Combine(Folder(project), $"Modular.TestPlugins.{project}.dll");
        Assert.True(File.Exists(path), $"test plugin not built: {path} (building tests/Modular.Hosting.Tests builds it)");
        return path;
    }

    /// <summary>A plugins.json entry for <paramref name="path"/>, with extra raw JSON properties appended.</summary>
    public static string Entry(string path, string extra = "") =>
        $"{{ \"path\": {JsonSerializer.Serialize(path)}{(extra.Length > 0 ? ", " + extra : "")} }}";

    /// <summary>Writes plugins.json with the given backend and entries; returns its path.</summary>
    public string Write(string backend, params string[] entries) =>
        WriteRaw($"{{ \"backend\": {JsonSerializer.Serialize(backend)}, \"plugins\": [ {string.Join(", ", entries)} ] }}");

    /// <summary>Writes plugins.json with exactly <paramref name="json"/>; returns its path.</summary>
    public string WriteRaw(string json)
    {
        var path = Path.Combine(Dir, "plugins.json");
        File.WriteAllText(path, json);
        return path;
    }

    /// <summary>Copies a test plugin's whole build folder under <see cref="Dir"/>; returns the copied main assembly.</summary>
    public string CopyPlugin(string project, string subfolder)
    {
        var target = Path.Combine(Dir, subfolder);
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(Folder(project)))
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        return Path.Combine(target, $"Modular.TestPlugins.{project}.dll");
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
            // a loaded plugin may still hold a file open on some systems; the temp folder is disposable anyway
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
