using System.Text;
using Microsoft.Playwright;
using Modular.Testing;

namespace Modular.Console.Tests;

/// <summary>
/// Debian's Chromium driven by Playwright (no browser download: the system binary is launched by path). Tests call
/// <see cref="OpenAsync"/>, which skips them with the reason when no Chromium is installed.
/// </summary>
public sealed class Browser : IAsyncDisposable
{
    /// <summary>Chromium binary; MODULAR_CHROMIUM overrides the Debian path.</summary>
    public static string ExecutablePath =>
        Environment.GetEnvironmentVariable("MODULAR_CHROMIUM") is { Length: > 0 } p ? p : "/usr/bin/chromium";

    // One Chromium process for the whole run (launching costs seconds on a small machine); each test gets its own
    // context, which is as isolated as a fresh profile: own cookies, sessionStorage and cache.
    private static readonly SemaphoreSlim s_launchGate = new(1, 1);
    private static IPlaywright? s_playwright;
    private static IBrowser? s_browser;

    private Browser(IBrowserContext context, IPage page)
    {
        Context = context;
        Page = page;
    }

    public IBrowserContext Context { get; }
    public IPage Page { get; }

    /// <summary>Uncaught page errors and console errors, for a check at the end of a test.</summary>
    public List<string> Errors { get; } = [];

    /// <summary>Opens a fresh browser context (own sessionStorage) whose relative URLs resolve against <paramref name="baseUri"/>.</summary>
    public static async Task<Browser> OpenAsync(Uri baseUri)
    {
        Assert.SkipWhen(!File.Exists(ExecutablePath),
            $"Chromium not found at {ExecutablePath} (install Debian's 'chromium' package or set MODULAR_CHROMIUM); the web console browser tests need it");
        var browser = await LaunchedAsync();
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseUri.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
            ColorScheme = ColorScheme.Light,
        });
        context.SetDefaultTimeout(20_000);
        var page = await context.NewPageAsync();
        var session = new Browser(context, page);
        page.PageError += (_, message) => session.Errors.Add("page error: " + message);
        page.Console += (_, m) =>
        {
            // A refused request shows in the console as a failed resource load; those are expected (401 flows).
            if (m.Type == "error" && !m.Text.Contains("Failed to load resource", StringComparison.Ordinal)) session.Errors.Add("console: " + m.Text);
        };
        return session;
    }

    /// <summary>Saves a full-page screenshot under TestResults/screenshots, attaches it to the test, and returns it.</summary>
    public async Task<byte[]> ScreenshotAsync(string name)
    {
        byte[] png = await Page.ScreenshotAsync(new PageScreenshotOptions { FullPage = false, Animations = ScreenshotAnimations.Disabled });
        string dir = Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots");
        Directory.CreateDirectory(dir);
        await File.WriteAllBytesAsync(Path.Combine(dir, name + ".png"), png);
        TestContext.Current.AddAttachment(name + ".png", png, "image/png");
        // The committed copies in docs/screenshots are refreshed on request only, so test runs leave the tree clean.
        if (Environment.GetEnvironmentVariable("MODULAR_UPDATE_SCREENSHOTS") == "1")
        {
            string docs = Path.Combine(Fixtures.RepoRoot, "docs", "screenshots");
            Directory.CreateDirectory(docs);
            await File.WriteAllBytesAsync(Path.Combine(docs, "console-" + name + ".png"), png);
        }
        return png;
    }

    /// <summary>Fails with every page error collected so far.</summary>
    public void AssertNoPageErrors()
    {
        if (Errors.Count == 0) return;
        var sb = new StringBuilder("the console page reported errors:");
        foreach (var e in Errors) sb.Append('\n').Append(e);
        Assert.Fail(sb.ToString());
    }

    private static async Task<IBrowser> LaunchedAsync()
    {
        await s_launchGate.WaitAsync();
        try
        {
            if (s_browser is { IsConnected: true }) return s_browser;
            s_playwright ??= await Playwright.CreateAsync();
            s_browser = await s_playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ExecutablePath,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
                Timeout = 30_000,
            });
            return s_browser;
        }
        finally
        {
            s_launchGate.Release();
        }
    }

    /// <summary>Closes the shared Chromium (called once, when the assembly's fixture is torn down).</summary>
    public static async Task ShutdownAsync()
    {
        if (s_browser is not null) await s_browser.CloseAsync();
        s_playwright?.Dispose();
        s_browser = null;
        s_playwright = null;
    }

    /// <summary>Closes this test's context (its pages and storage).</summary>
    public async ValueTask DisposeAsync() => await Context.CloseAsync();
}
