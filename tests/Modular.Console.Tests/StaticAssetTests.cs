using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Modular.Server.WebConsole;

namespace Modular.Console.Tests;

/// <summary>
/// MapWebConsole over HTTP on its own minimal Kestrel host: every file the page references is embedded and served
/// with the right type, revalidation works, unknown names are 404, and the page loads nothing from other origins.
/// </summary>
public sealed class StaticAssetTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapWebConsole();
        await _app.StartAsync();
        string url = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(10) };
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task Root_serves_the_page_with_html_type_csp_and_revalidation()
    {
        using var r = await _http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("text/html", r.Content.Headers.ContentType?.MediaType);
        Assert.Equal("utf-8", r.Content.Headers.ContentType?.CharSet);
        Assert.True(r.Headers.CacheControl?.NoCache, "Cache-Control must be no-cache so a new build is picked up on reload");
        Assert.NotNull(r.Headers.ETag);
        string csp = string.Join(";", r.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'self'", csp);
        Assert.Contains("connect-src 'self'", csp);
        string html = await r.Content.ReadAsStringAsync();
        Assert.Contains("content=\"modular-console\"", html);
    }

    [Fact]
    public async Task Every_file_the_page_references_is_served_with_its_type_and_nothing_is_external()
    {
        string html = await _http.GetStringAsync("/");
        var refs = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match m in Regex.Matches(html, "(?:src|href)=\"([^\"]+)\"")) refs.Add(m.Groups[1].Value);
        // Module imports ('./api.js') are resolved by the browser relative to /console/.
        foreach (var asset in ConsoleAssets.All.Values)
        {
            if (!asset.Name.EndsWith(".js", StringComparison.Ordinal)) continue;
            string js = System.Text.Encoding.UTF8.GetString(asset.Content.Span);
            foreach (Match m in Regex.Matches(js, @"from\s+'\./([^']+)'")) refs.Add(ConsoleEndpoints.AssetPrefix + m.Groups[1].Value);
            Assert.DoesNotMatch(@"https?://(?!www\.w3\.org/2000/svg)", js);
        }
        Assert.Contains("/console/app.js", refs);
        Assert.True(refs.Count >= 8, $"expected the page and its modules to reference several files, got {string.Join(", ", refs)}");
        foreach (string path in refs)
        {
            Assert.StartsWith("/console/", path); // same origin, nothing from the internet
            using var r = await _http.GetAsync(path);
            Assert.True(r.StatusCode == HttpStatusCode.OK, $"{path}: HTTP {(int)r.StatusCode}");
            string expected = path.EndsWith(".js", StringComparison.Ordinal) ? "text/javascript" : path.EndsWith(".css", StringComparison.Ordinal) ? "text/css" : "?";
            Assert.Equal(expected, r.Content.Headers.ContentType?.MediaType);
            Assert.Equal("nosniff", string.Join(",", r.Headers.GetValues("X-Content-Type-Options")));
            Assert.True((await r.Content.ReadAsByteArrayAsync()).Length > 100, $"{path} is nearly empty");
        }
    }

    [Fact]
    public async Task Matching_etag_answers_304_and_a_stale_one_the_file()
    {
        using var first = await _http.GetAsync("/console/chat.js");
        var etag = first.Headers.ETag!;
        using var again = new HttpRequestMessage(HttpMethod.Get, "/console/chat.js");
        again.Headers.IfNoneMatch.Add(etag);
        using var notModified = await _http.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());

        using var stale = new HttpRequestMessage(HttpMethod.Get, "/console/chat.js");
        stale.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"0000\""));
        using var full = await _http.SendAsync(stale);
        Assert.Equal(HttpStatusCode.OK, full.StatusCode);
        Assert.Equal(first.Content.Headers.ContentLength, full.Content.Headers.ContentLength);
        Assert.NotEqual(first.Headers.ETag, (await _http.GetAsync("/console/api.js")).Headers.ETag);
    }

    [Fact]
    public async Task Head_has_headers_without_body_and_unknown_files_are_404()
    {
        using var head = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/console/console.css"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("text/css", head.Content.Headers.ContentType?.MediaType);
        Assert.True(head.Content.Headers.ContentLength > 100);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());

        foreach (string path in new[] { "/console/missing.js", "/console/..%2FModular.Server.dll", "/console/Index.html" })
        {
            using var r = await _http.GetAsync(path);
            Assert.True(r.StatusCode == HttpStatusCode.NotFound, $"{path}: expected 404, got {(int)r.StatusCode}");
        }
    }
}
