namespace Engagement.Sdk.Hosting;

/// <summary>
/// One kind of periodic work that <see cref="EngagementBackgroundService"/> runs: outbox delivery, the release of held messages,
/// a journey sweep, or the host's own. Each pass does what is due now and says how much it did; the service runs it again at
/// once while it finds work, and otherwise waits <see cref="Interval"/> on the host's <see cref="TimeProvider"/>.
/// Register one with <see cref="Microsoft.Extensions.DependencyInjection.EngagementHostingServiceCollectionExtensions.AddEngagementBackgroundWork{TWork}"/>.
/// </summary>
public interface IEngagementBackgroundWork
{
    /// <summary>A short, stable name for logs, metrics and health checks (for example <c>outbox-delivery</c>).</summary>
    string Name { get; }

    /// <summary>How long to wait after a pass that found nothing to do (or failed) before the next one.</summary>
    TimeSpan Interval { get; }

    /// <summary>Does the work that is due now.</summary>
    /// <param name="cancellationToken">Signals that the host is stopping: finish or hand back what is in flight, without losing it.</param>
    /// <returns>How many items the pass handled; more than zero runs the next pass at once.</returns>
    ValueTask<int> RunOnceAsync(CancellationToken cancellationToken);
}
