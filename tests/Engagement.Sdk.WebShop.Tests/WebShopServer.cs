using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;

namespace Engagement.Sdk.WebShop.Tests;

/// <summary>
/// The web shop on a real Kestrel server on 127.0.0.1 with a free port, on a SQLite file in a temporary folder, with a small
/// seeded demo shop (300 customers over 30 days). Stopped and deleted on dispose.
/// </summary>
public sealed class WebShopServer : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("webshop-tests-").FullName;
    private WebApplication? _app;

    /// <summary>The shop's address, for example <c>http://127.0.0.1:41234</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The running application (for its services).</summary>
    public WebApplication App => _app ?? throw new InvalidOperationException("The server has not started.");

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        _app = global::WebShop.WebShopApp.Create(
        [
            "--urls=http://127.0.0.1:0",
            "--WebShop:DataFolder=" + _folder,
            "--WebShop:DemoCustomers=300",
            "--WebShop:DemoDays=30",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await _app.StartAsync();
        BaseAddress = new Uri(_app.Urls.Single(u => u.StartsWith("http://127.0.0.1:", StringComparison.Ordinal)));
    }

    /// <summary>A client for the shop that keeps cookies, as a browser would.</summary>
    /// <returns>The client.</returns>
    public HttpClient CreateClient() => new(new HttpClientHandler { UseCookies = true, AllowAutoRedirect = true }) { BaseAddress = BaseAddress };

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
