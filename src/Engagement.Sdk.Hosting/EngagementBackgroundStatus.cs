using System.Collections.Concurrent;
using System.Collections.Immutable;

namespace Engagement.Sdk.Hosting;

/// <summary>Where one periodic work stands: when its passes ran, how the last one ended, how much it handled.</summary>
/// <param name="Name">The work's <see cref="IEngagementBackgroundWork.Name"/>.</param>
/// <param name="Interval">The work's <see cref="IEngagementBackgroundWork.Interval"/>.</param>
/// <param name="LastStartedAt">When the last pass started, or <see langword="null"/> before the first.</param>
/// <param name="LastSucceededAt">When the last successful pass ended, or <see langword="null"/> before the first.</param>
/// <param name="LastFailedAt">When the last failed pass ended, or <see langword="null"/> if none failed.</param>
/// <param name="LastFailure">The type of the last pass's exception (never its message, which may quote personal data), or <see langword="null"/> when the last pass succeeded.</param>
/// <param name="ConsecutiveFailures">How many passes in a row have failed.</param>
/// <param name="Handled">How many items the passes have handled since the host started.</param>
public sealed record BackgroundWorkState(
    string Name,
    TimeSpan Interval,
    DateTimeOffset? LastStartedAt,
    DateTimeOffset? LastSucceededAt,
    DateTimeOffset? LastFailedAt,
    string? LastFailure,
    int ConsecutiveFailures,
    long Handled);

/// <summary>
/// The state of the <see cref="EngagementBackgroundService"/> and of each work it runs, for health checks and dashboards.
/// Thread-safe; each work's state is replaced whole after each pass.
/// </summary>
public sealed class EngagementBackgroundStatus
{
    private readonly ConcurrentDictionary<string, BackgroundWorkState> _works = new(StringComparer.Ordinal);
    private long _startedAtTicks = long.MinValue;

    /// <summary>When the service started, or <see langword="null"/> when it is not running.</summary>
    public DateTimeOffset? StartedAt
    {
        get
        {
            var ticks = Interlocked.Read(ref _startedAtTicks);
            return ticks == long.MinValue ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    /// <summary>Each work's state, by name.</summary>
    public ImmutableArray<BackgroundWorkState> Works => [.. _works.Values.OrderBy(w => w.Name, StringComparer.Ordinal)];

    internal void ServiceStarted(DateTimeOffset at, IEnumerable<IEngagementBackgroundWork> works)
    {
        _works.Clear();
        foreach (var work in works)
        {
            _works[work.Name] = new BackgroundWorkState(work.Name, work.Interval, null, null, null, null, 0, 0);
        }

        Interlocked.Exchange(ref _startedAtTicks, at.UtcTicks);
    }

    internal void ServiceStopped() => Interlocked.Exchange(ref _startedAtTicks, long.MinValue);

    internal void PassStarted(string name, DateTimeOffset at)
        => _works.AddOrUpdate(name, static (n, a) => new BackgroundWorkState(n, TimeSpan.Zero, a, null, null, null, 0, 0), static (_, s, a) => s with { LastStartedAt = a }, at);

    internal void PassSucceeded(string name, DateTimeOffset at, int handled)
        => _works.AddOrUpdate(name, static (n, x) => new BackgroundWorkState(n, TimeSpan.Zero, x.At, x.At, null, null, 0, x.Handled), static (_, s, x) => s with { LastSucceededAt = x.At, LastFailure = null, ConsecutiveFailures = 0, Handled = s.Handled + x.Handled }, (At: at, Handled: handled));

    internal void PassFailed(string name, DateTimeOffset at, Exception exception)
        => _works.AddOrUpdate(name, static (n, x) => new BackgroundWorkState(n, TimeSpan.Zero, x.At, null, x.At, x.Type, 1, 0), static (_, s, x) => s with { LastFailedAt = x.At, LastFailure = x.Type, ConsecutiveFailures = s.ConsecutiveFailures + 1 }, (At: at, Type: exception.GetType().FullName ?? exception.GetType().Name));
}
