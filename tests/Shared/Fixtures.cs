namespace Modular.Testing;

/// <summary>Locates test data: the bundled default model in the repository and the shared fixtures beside it.</summary>
public static class Fixtures
{
    /// <summary>Repository root (the folder holding Modular.sln).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The bundled bard-2m checkpoint.</summary>
    public static string BundledModel => Path.Combine(RepoRoot, "models", "bard-2m");

    /// <summary>../shared/fixtures beside the repository, or null when this checkout has none.</summary>
    public static string? SharedRoot
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("MODULAR_FIXTURES");
            if (!string.IsNullOrEmpty(env) && Directory.Exists(env)) return env;
            var p = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "fixtures"));
            return Directory.Exists(p) ? p : null;
        }
    }

    /// <summary>Path under the shared fixtures; skips the calling test, saying so, when they are absent.</summary>
    public static string Shared(params string[] parts)
    {
        var root = SharedRoot;
        Assert.SkipWhen(root is null, "shared fixtures not found (expected ../shared/fixtures beside the repository or MODULAR_FIXTURES); this test needs them");
        var p = Path.Combine([root!, .. parts]);
        Assert.SkipWhen(!File.Exists(p) && !Directory.Exists(p), $"shared fixture missing: {p}");
        return p;
    }

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Modular.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Modular.sln not found above " + AppContext.BaseDirectory);
    }
}
