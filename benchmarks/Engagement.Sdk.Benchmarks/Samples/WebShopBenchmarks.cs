using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;

namespace Engagement.Sdk.Benchmarks.Samples;

/// <summary>
/// The web sample over HTTP on loopback, on SQLite with its 5,000 seeded demo customers (seeded once into a folder under the
/// temporary folder and reused by later runs): serving the dashboard (from its last computed figures, and with one
/// customer's view read live), and tracking through the batch endpoint, 1,000 events a request (80 % product views, 10 %
/// page views, 10 % carts, which trigger decisions) for the seeded customers. Run it in process:
/// <c>--filter '*WebShopBenchmarks*' --inProcess</c>.
/// </summary>
[MemoryDiagnoser]
public class WebShopBenchmarks
{
    private const int BatchSize = 1000;
    private WebApplication? _app;
    private HttpClient? _client;
    private long _next = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 10;

    /// <summary>Whether one event in ten is a cart (which triggers a decision); otherwise views only.</summary>
    public bool WithCarts { get; set; } = true;

    /// <summary>Starts the shop (seeding it on the first run) and computes the dashboard's figures.</summary>
    /// <returns>A task.</returns>
    [GlobalSetup]
    public async Task StartAsync()
    {
        var folder = Path.Combine(Path.GetTempPath(), "engagement-webshop-benchmarks");
        _app = global::WebShop.WebShopApp.Create(["--urls=http://127.0.0.1:0", "--WebShop:DataFolder=" + folder, "--WebShop:DemoCustomers=5000", "--WebShop:DemoDays=90", "--Logging:LogLevel:Default=Warning"]);
        await _app.StartAsync();
        _client = new HttpClient { BaseAddress = new Uri(_app.Urls.First()) };
        (await _client.GetAsync("/dashboard?refresh=true")).EnsureSuccessStatusCode();
    }

    /// <summary>Stops the shop.</summary>
    /// <returns>A task.</returns>
    [GlobalCleanup]
    public async Task StopAsync()
    {
        _client?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }

    /// <summary>GET /dashboard.</summary>
    /// <returns>The page's length.</returns>
    [Benchmark(Baseline = true)]
    public async Task<int> Dashboard() => (await _client!.GetStringAsync("/dashboard")).Length;

    /// <summary>GET /dashboard with one customer's profile, consent ledger, path, messages and decisions.</summary>
    /// <returns>The page's length.</returns>
    [Benchmark]
    public async Task<int> DashboardWithCustomer() => (await _client!.GetStringAsync("/dashboard?customer=c00042")).Length;

    /// <summary>POST /api/events/batch with 1,000 new events (the time is per event).</summary>
    /// <returns>The response's length.</returns>
    [Benchmark(OperationsPerInvoke = BatchSize)]
    public async Task<int> TrackBatchPerEvent()
    {
        var now = DateTimeOffset.UtcNow.AddSeconds(-1).ToString("O", CultureInfo.InvariantCulture);
        var body = new StringBuilder(BatchSize * 160).Append('[');
        for (var i = 0; i < BatchSize; i++)
        {
            var n = Interlocked.Increment(ref _next);
            var customer = $"c{(n % 5000) + 1:00000}";
            var sku = $"sku-{(n % 48) + 1:000}";
            body.Append(i == 0 ? string.Empty : ",");
            _ = (WithCarts ? n % 10 : 2 + (n % 8)) switch
            {
                0 => body.Append(CultureInfo.InvariantCulture, $"{{\"type\":\"added_to_cart\",\"eventId\":\"bench-{n}\",\"customerId\":\"{customer}\",\"timestamp\":\"{now}\",\"productId\":\"{sku}\",\"quantity\":1}}"),
                1 => body.Append(CultureInfo.InvariantCulture, $"{{\"type\":\"page_viewed\",\"eventId\":\"bench-{n}\",\"customerId\":\"{customer}\",\"timestamp\":\"{now}\",\"url\":\"/\"}}"),
                _ => body.Append(CultureInfo.InvariantCulture, $"{{\"type\":\"product_viewed\",\"eventId\":\"bench-{n}\",\"customerId\":\"{customer}\",\"timestamp\":\"{now}\",\"productId\":\"{sku}\"}}"),
            };
        }

        using var content = new StringContent(body.Append(']').ToString(), Encoding.UTF8, "application/json");
        using var response = await _client!.PostAsync("/api/events/batch", content);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode || !text.Contains("\"rejected\":[]", StringComparison.Ordinal) || !text.Contains($"\"accepted\":{BatchSize}", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("The batch was not accepted whole: " + text[..Math.Min(text.Length, 500)]);
        }

        return text.Length;
    }
}
