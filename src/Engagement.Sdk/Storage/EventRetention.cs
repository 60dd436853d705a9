using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Storage;

/// <summary>Implemented by event stores that can drop events older than a cutoff (a retention policy).</summary>
public interface IEventRetention
{
    /// <summary>Deletes every event whose timestamp is earlier than <paramref name="cutoff"/>.</summary>
    /// <param name="cutoff">The exclusive cutoff.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>How many events were deleted.</returns>
    ValueTask<int> PurgeBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default);
}

/// <summary>
/// Applies <see cref="EngagementOptions.EventRetention"/>: the host calls <see cref="ApplyAsync"/> on its own schedule (the
/// SDK runs no timers of its own). Profiles keep their aggregates; only the raw events go. An event older than the retention
/// period is also refused at ingestion, because <see cref="EngagementOptions.LatenessWindow"/> may not exceed it, so a purged
/// event id cannot come back as new.
/// </summary>
public sealed class EventRetentionPolicy
{
    private readonly IEventStore _events;
    private readonly TimeProvider _time;
    private readonly TimeSpan? _retention;

    /// <summary>Creates the policy.</summary>
    /// <param name="events">The event store.</param>
    /// <param name="time">The clock.</param>
    /// <param name="options">The options.</param>
    public EventRetentionPolicy(IEventStore events, TimeProvider time, IOptions<EngagementOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _events = events ?? throw new ArgumentNullException(nameof(events));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _retention = options.Value.EventRetention;
    }

    /// <summary>Deletes the events older than the retention period.</summary>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>How many events were deleted (0 when no retention period is set).</returns>
    /// <exception cref="InvalidOperationException">A retention period is set but the event store cannot purge.</exception>
    public ValueTask<int> ApplyAsync(CancellationToken cancellationToken = default)
    {
        if (_retention is not { } retention)
        {
            return ValueTask.FromResult(0);
        }

        return _events is IEventRetention purging
            ? purging.PurgeBeforeAsync(_time.GetUtcNow() - retention, cancellationToken)
            : throw new InvalidOperationException($"EventRetention is set, but {_events.GetType().Name} cannot purge events (implement IEventRetention).");
    }
}
