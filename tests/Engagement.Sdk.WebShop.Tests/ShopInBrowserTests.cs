using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;

namespace Engagement.Sdk.WebShop.Tests;

/// <summary>
/// End to end in headless Chromium: a visitor browses, adds to the cart, signs up for email and push, confirms the double
/// opt-in from the demo mailbox, buys, and finds it all on the dashboard. Screenshots of every step are kept under
/// <c>artifacts/test-results/screenshots</c>.
/// </summary>
public sealed class ShopInBrowserTests(WebShopServer server) : IClassFixture<WebShopServer>
{
    [BrowserFact]
    public async Task Visitor_BrowsesSignsUpConfirmsAndBuys_DashboardShowsIt()
    {
        var chromium = await SystemChromium.RequireAsync();
        var before = await FunnelAsync();
        var shots = Screenshots.Folder(nameof(Visitor_BrowsesSignsUpConfirmsAndBuys_DashboardShowsIt));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = chromium, Headless = true, Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = server.BaseAddress.ToString(), ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(30_000);

        // Browses: the shop's front page, then a product, into the cart.
        await page.GotoAsync("/");
        (await page.Locator(".product").CountAsync()).Should().BeGreaterThan(10);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "01-shop.png"), FullPage = true });
        var product = (await page.Locator(".product a").First.TextContentAsync())!.Trim();
        await page.Locator(".product a").First.ClickAsync();
        await page.Locator("#add-to-cart").ClickAsync();
        // The URL is polled rather than waited for with a load state: a form post answered by a redirect can settle its load
        // states before the wait starts listening, and the cart's own content is what the next line waits for anyway.
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/cart$"), new PageAssertionsToHaveURLOptions { Timeout = 30_000 });
        (await page.Locator("#cart").TextContentAsync()).Should().Contain(product);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "02-cart.png"), FullPage = true });

        // Signs up: email offers and new arrivals, push reminders.
        await page.GotoAsync("/account");
        var customerId = (await page.Locator("#customer-id").TextContentAsync())!.Trim();
        await page.GotoAsync("/preferences");
        await page.Locator("#email").FillAsync($"{customerId}@example.com");
        await page.Locator("#email-offers").CheckAsync();
        await page.Locator("#email-new_arrivals").CheckAsync();
        await page.Locator("#push-reminders").CheckAsync();
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "03-sign-up.png"), FullPage = true });
        await page.Locator("#save-preferences").ClickAsync();
        (await page.Locator("#confirm-needed").TextContentAsync()).Should().Contain("email");

        // Before confirming, the email choices are pending: the gate does not allow them.
        var pending = await CellsAsync(customerId);
        pending["email:offers"].Should().Be("pending_confirmation");
        pending["push:reminders"].Should().Be("consent_granted");

        // Confirms: the link in the demo mailbox.
        await page.GotoAsync("/mailbox");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "04-mailbox.png"), FullPage = true });
        await page.Locator(".confirm-link").First.ClickAsync();
        (await page.Locator("#confirmed").TextContentAsync()).Should().Contain("2 subscription(s) confirmed");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "05-confirmed.png"), FullPage = true });

        // Buys.
        await page.GotoAsync("/cart");
        await page.Locator("#checkout").ClickAsync();
        var orderId = (await page.Locator("#order-id").TextContentAsync())!.Trim();
        orderId.Should().StartWith("o-");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "06-thank-you.png"), FullPage = true });

        // The dashboard shows the customer: converted, one order, the confirmed consent in the ledger, the purchase on the path.
        await page.GotoAsync($"/dashboard?refresh=true&customer={customerId}");
        (await page.Locator("#customer-stage").TextContentAsync()).Should().Be("conversion");
        (await page.Locator("#customer-orders").TextContentAsync()).Should().Be("1");
        (await page.Locator("#path li").AllTextContentsAsync()).Select(t => t.Split(' ')[0]).Should().Equal("attraction", "relationship", "conversion");
        var ledger = string.Join('\n', await page.Locator("#ledger tr.consent").AllTextContentsAsync());
        ledger.Should().Contain("double-opt-in-confirmation").And.Contain("PendingConfirmation").And.Contain("preference-centre");
        (await page.Locator("[data-cell='email:offers']").TextContentAsync()).Should().Be("consent_granted");
        (await page.Locator("[data-cell='sms:offers']").TextContentAsync()).Should().Be("no_consent");
        (await page.Locator("#events").TextContentAsync()).Should().Contain("purchased").And.Contain(orderId).And.Contain("added_to_cart");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "07-dashboard-customer.png"), FullPage = true });

        // And in the aggregate figures: one more customer in conversion than before the visit, the charts drawn.
        var after = await FunnelAsync();
        after["conversion"].Current.Should().Be(before["conversion"].Current + 1);
        after["conversion"].Reached.Should().Be(before["conversion"].Reached + 1);
        after["attraction"].Reached.Should().Be(before["attraction"].Reached + 1);
        (await page.Locator("#stages-chart path").CountAsync()).Should().Be(4);
        (await page.Locator("#funnel tr.stage[data-stage='conversion'] td").Nth(1).TextContentAsync()).Should().Be(after["conversion"].Current.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "08-dashboard.png"), FullPage = true });
    }

    private async Task<Dictionary<string, (int Current, int Reached)>> FunnelAsync()
    {
        using var client = server.CreateClient();
        using var refresh = await client.GetAsync("/dashboard?refresh=true");
        refresh.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await client.GetStringAsync("/api/dashboard"));
        return json.RootElement.GetProperty("funnel").EnumerateArray().ToDictionary(
            s => s.GetProperty("stageId").GetString()!,
            s => (s.GetProperty("current").GetInt32(), s.GetProperty("reached").GetInt32()));
    }

    private async Task<Dictionary<string, string>> CellsAsync(string customerId)
    {
        using var client = server.CreateClient();
        var cells = await client.GetFromJsonAsync<JsonElement>($"/api/customers/{customerId}/preferences");
        return cells.EnumerateArray().ToDictionary(c => c.GetProperty("channel").GetString() + ":" + c.GetProperty("messageType").GetString(), c => c.GetProperty("status").GetString()!);
    }
}

/// <summary>Where the browser tests keep their screenshots: <c>artifacts/test-results/screenshots</c> of the repository (else the test's output folder).</summary>
public static class Screenshots
{
    /// <summary>A folder for one test's screenshots, emptied first.</summary>
    /// <param name="test">The test's name.</param>
    /// <returns>The folder.</returns>
    public static string Folder(string test)
    {
        var root = AppContext.BaseDirectory;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (dir.EnumerateFiles("*.sln").Any())
            {
                root = Path.Combine(dir.FullName, "artifacts", "test-results");
                break;
            }
        }

        var folder = Path.Combine(root, "screenshots", test);
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }

        Directory.CreateDirectory(folder);
        return folder;
    }
}
