using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Modular.Console.Tests;

/// <summary>
/// A server started with an API key: the page asks for the key when the server answers 401, asks again when the key
/// is wrong, keeps it in sessionStorage only, and then works with it as a bearer token.
/// </summary>
public sealed class ApiKeyTests(ConsoleServers servers)
{
    [Fact]
    public async Task Page_asks_for_the_key_on_401_retries_and_then_chats()
    {
        await using var b = await Browser.OpenAsync(servers.KeyedUri);
        var page = b.Page;
        var authHeaders = new List<string?>();
        page.Request += (_, r) => { if (r.Url.Contains("/v1/", StringComparison.Ordinal)) authHeaders.Add(r.Headers.GetValueOrDefault("authorization")); };
        await page.GotoAsync("/");

        // GET /v1/models is refused without a key: the dialog opens with the server's reason.
        var dialog = page.Locator("#key-dialog");
        await Expect(dialog).ToBeVisibleAsync();
        await Expect(page.Locator("#key-reason")).ToContainTextAsync("missing API key");
        await Expect(page.Locator("#model option")).ToHaveCountAsync(0);

        // A wrong key is refused too, and the page asks again with the new reason.
        await page.Locator("#key-input").FillAsync("sk-wrong");
        await page.Locator("#key-ok").ClickAsync();
        await Expect(page.Locator("#key-reason")).ToContainTextAsync("incorrect API key");
        await Expect(dialog).ToBeVisibleAsync();
        await b.ScreenshotAsync("api-key");

        await page.Locator("#key-input").FillAsync(ConsoleServers.ApiKey);
        await page.Locator("#key-input").PressAsync("Enter");
        await Expect(dialog).ToBeHiddenAsync();
        await Expect(page.Locator("#model option")).ToHaveCountAsync(1);
        Assert.Equal(ConsoleServers.ApiKey, await page.EvaluateAsync<string>("() => sessionStorage.getItem('modular.apiKey')"));
        Assert.Equal(0, await page.EvaluateAsync<int>("() => localStorage.length"));
        Assert.Equal(["Bearer sk-wrong", "Bearer " + ConsoleServers.ApiKey], authHeaders.Where(h => h is not null).Distinct().ToArray());
        await Expect(page.Locator("#change-key")).ToBeVisibleAsync();

        // Chat with the key: no further prompt, the answer streams in.
        await page.Locator("#max-tokens").FillAsync("24");
        await page.Locator("#prompt").FillAsync("Hello");
        await page.Locator("#send").ClickAsync();
        await Expect(page.Locator(".msg.assistant").Last).ToHaveAttributeAsync("data-state", "done", new() { Timeout = 30_000 });
        Assert.NotEmpty((await page.Locator(".msg.assistant .content").Last.InnerTextAsync()).Trim());
        Assert.Equal("Bearer " + ConsoleServers.ApiKey, authHeaders[^1]);

        // The key lives in this tab's session: a reload keeps working without asking.
        await page.ReloadAsync();
        await Expect(page.Locator("#model option")).ToHaveCountAsync(1);
        await Expect(dialog).ToBeHiddenAsync();

        // A fresh context (a new browser session) has no key and is asked again.
        var other = await b.Context.Browser!.NewContextAsync(new BrowserNewContextOptions { BaseURL = servers.KeyedUri.ToString() });
        var otherPage = await other.NewPageAsync();
        await otherPage.GotoAsync("/");
        await Expect(otherPage.Locator("#key-dialog")).ToBeVisibleAsync();
        await other.CloseAsync();
        b.AssertNoPageErrors();
    }

    [Fact]
    public async Task Cancelling_the_prompt_shows_the_refusal()
    {
        await using var b = await Browser.OpenAsync(servers.KeyedUri);
        var page = b.Page;
        await page.GotoAsync("/");
        await Expect(page.Locator("#key-dialog")).ToBeVisibleAsync();
        await page.Locator("#key-cancel").ClickAsync();
        await Expect(page.Locator("#key-dialog")).ToBeHiddenAsync();
        await Expect(page.Locator(".msg.error")).ToContainTextAsync("missing API key");
        b.AssertNoPageErrors();
    }
}
