using System.Text;
using Microsoft.Playwright;
using Modular.Server.WebConsole;
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

    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;

    private Browser(IPlaywright playwright, IBrowser browser, IBrowserContext context, IPage page)
    {
        _playwright = playwright;
        _browser = browser;
        Context = context;
        Page = page;
    }

    public IBrowserContext Context { get; }
    public IPage Page { get; }

    /// <summary>Uncaught page errors and console errors, for a check at the end of a test.</summary>
    public List<string> Errors { get; } = [];

    /// <summary>
    /// Opens a fresh browser context (own sessionStorage) on the console at <paramref name="baseUri"/>. When the
    /// server does not yet route <c>/</c> to the console, the console's embedded files are answered by Playwright
    /// routing instead, while every API call still goes to the real server.
    /// </summary>
    public static async Task<Browser> OpenAsync(Uri baseUri)
    {
        Assert.SkipWhen(!File.Exists(ExecutablePath),
            $"Chromium not found at {ExecutablePath} (install Debian's 'chromium' package or set MODULAR_CHROMIUM); the web console browser tests need it");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            Timeout = 30_000,
        });
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseUri.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
            ColorScheme = ColorScheme.Light,
        });
        context.SetDefaultTimeout(20_000);
        if (!await ServerRoutesConsoleAsync(baseUri)) await RouteConsoleFilesAsync(context, baseUri);
        var page = await context.NewPageAsync();
        var session = new Browser(playwright, browser, context, page);
        page.PageError += (_, message) => session.Errors.Add("page error: " + message);
        page.Console += (_, m) =>
        {
            // A refused request shows in the console as a failed resource load; those are expected (401 flows).
            if (m.Type == "error" && !m.Text.Contains("Failed to load resource", StringComparison.Ordinal)) session.Errors.Add("console: " + m.Text);
        };
        return session;
    }

    /// <summary>True when GET / on the server answers the console page (the server calls MapWebConsole).</summary>
    public static async Task<bool> ServerRoutesConsoleAsync(Uri baseUri)
    {
        using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(10) };
        using var r = await http.GetAsync("/");
        if (!r.IsSuccessStatusCode) return false;
        string html = await r.Content.ReadAsStringAsync();
        return html.Contains("content=\"modular-console\"", StringComparison.Ordinal);
    }

    private static async Task RouteConsoleFilesAsync(IBrowserContext context, Uri baseUri)
    {
        TestContext.Current.SendDiagnosticMessage("the server does not map the web console at / yet; serving its embedded files through Playwright routing");
        string root = baseUri.GetLeftPart(UriPartial.Authority);
        async Task Serve(IRoute route, string name)
        {
            Assert.True(ConsoleAssets.TryGet(name, out var asset), $"no embedded console file {name}");
            await route.FulfillAsync(new RouteFulfillOptions { Status = 200, ContentType = asset.ContentType, BodyBytes = asset.Content.ToArray() });
        }
        await context.RouteAsync(root + "/", route => Serve(route, ConsoleAssets.IndexName));
        await context.RouteAsync(root + "/console/*", route => Serve(route, route.Request.Url[(root.Length + "/console/".Length)..]));
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

    public async ValueTask DisposeAsync()
    {
        await Context.CloseAsync();
        await _browser.CloseAsync();
        _playwright.Dispose();
    }
}
