using Engagement.Sdk.Hosting;
using Microsoft.Extensions.Options;

namespace WebShop.Insights;

/// <summary>
/// Periodic work run by the SDK's background service: recomputes the dashboard's figures when the shop's data changed, so that
/// serving the dashboard reads nothing but the last snapshot. Computing them reads every event, so under a steady stream of
/// events it would run back to back: after a computation that took <c>t</c>, the next one waits at least
/// <see cref="CostFactor"/> × <c>t</c> (as well as <see cref="WebShopOptions.DashboardRefresh"/>), which keeps the refresh to a
/// tenth of the time at most; <c>/dashboard?refresh=true</c> still recomputes at once.
/// </summary>
/// <param name="insights">The dashboard's data.</param>
/// <param name="options">The shop's options (<see cref="WebShopOptions.DashboardRefresh"/>).</param>
/// <param name="time">The clock (its timestamps measure the computation).</param>
public sealed class DashboardRefreshWork(ShopInsights insights, IOptions<WebShopOptions> options, TimeProvider time) : IEngagementBackgroundWork
{
    /// <summary>How many times its own duration a computation waits before the next one.</summary>
    public const int CostFactor = 10;

    private long _nextAllowed;

    /// <inheritdoc />
    public string Name => "webshop-dashboard";

    /// <inheritdoc />
    public TimeSpan Interval => options.Value.DashboardRefresh;

    /// <inheritdoc />
    public async ValueTask<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        if (insights.Current is not null && (!insights.IsStale || time.GetTimestamp() < _nextAllowed))
        {
            return 0;
        }

        var started = time.GetTimestamp();
        await insights.RefreshAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var took = time.GetTimestamp() - started;
        _nextAllowed = time.GetTimestamp() + (CostFactor * took);
        return 0;
    }
}
