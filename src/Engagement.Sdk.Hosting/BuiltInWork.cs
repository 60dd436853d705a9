using Engagement.Sdk.Channels;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Hosting;

/// <summary>Delivers the outbox: one <see cref="DispatchWorker.RunOnceAsync"/> pass at a time.</summary>
internal sealed class OutboxDeliveryWork(DispatchWorker worker, IOptions<DispatchOptions> options) : IEngagementBackgroundWork
{
    public string Name => "outbox-delivery";

    public TimeSpan Interval => options.Value.PollInterval;

    public async ValueTask<int> RunOnceAsync(CancellationToken cancellationToken)
        => (await worker.RunOnceAsync(cancellationToken).ConfigureAwait(false)).Claimed;
}

/// <summary>Releases held messages that contact policy now allows (<see cref="IEngagementEngine.ReleaseHeldAsync"/>).</summary>
internal sealed class HeldMessageReleaseWork(IEngagementEngine engine, IOptions<EngagementBackgroundOptions> options) : IEngagementBackgroundWork
{
    public string Name => "held-message-release";

    public TimeSpan Interval => options.Value.HeldReleaseInterval;

    public async ValueTask<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        // One release handles everything due now: the next pass waits the interval rather than asking again at once.
        await engine.ReleaseHeldAsync(cancellationToken).ConfigureAwait(false);
        return 0;
    }
}

/// <summary>
/// Evaluates the customers whose journey timers fell due (<see cref="IEngagementEngine.SweepJourneysAsync"/>): waits that
/// ended, time-outs, windowed conditions that came true with time.
/// </summary>
internal sealed class JourneySweepWork(IEngagementEngine engine, IOptions<EngagementBackgroundOptions> options) : IEngagementBackgroundWork
{
    public string Name => "journey-sweep";

    public TimeSpan Interval => options.Value.JourneySweepInterval;

    public async ValueTask<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        // A sweep evaluates everything due now: the next pass waits the interval rather than asking again at once.
        await engine.SweepJourneysAsync(cancellationToken).ConfigureAwait(false);
        return 0;
    }
}

/// <summary>
/// Evaluates the customers whose segment timers fell due (<see cref="IEngagementEngine.SweepSegmentsAsync"/>): a counted
/// event left its window, so a condition such as "no purchase in 90 days" may have come true.
/// </summary>
internal sealed class SegmentSweepWork(IEngagementEngine engine, IOptions<EngagementBackgroundOptions> options) : IEngagementBackgroundWork
{
    public string Name => "segment-sweep";

    public TimeSpan Interval => options.Value.SegmentSweepInterval;

    public async ValueTask<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        // A sweep evaluates everything due now: the next pass waits the interval rather than asking again at once.
        await engine.SweepSegmentsAsync(cancellationToken).ConfigureAwait(false);
        return 0;
    }
}
