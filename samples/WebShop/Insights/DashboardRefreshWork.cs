using Engagement.Sdk.Hosting;
using Microsoft.Extensions.Options;

namespace WebShop.Insights;

/// <summary>
/// Periodic work run by the SDK's background service: recomputes the dashboard's figures when the shop's data changed, so that
/// serving the dashboard reads nothing but the last snapshot.
/// </summary>
/// <param name="insights">The dashboard's data.</param>
/// <param name="options">The shop's options (<see cref="WebShopOptions.DashboardRefresh"/>).</param>
public sealed class DashboardRefreshWork(ShopInsights insights, IOptions<WebShopOptions> options) : IEngagementBackgroundWork
{
    /// <inheritdoc />
    public string Name => "webshop-dashboard";

    /// <inheritdoc />
    public TimeSpan Interval => options.Value.DashboardRefresh;

    /// <inheritdoc />
    public async ValueTask<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        if (insights.IsStale || insights.Current is null)
        {
            await insights.RefreshAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        return 0;
    }
}
