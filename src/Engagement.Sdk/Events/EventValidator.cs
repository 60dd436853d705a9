namespace Engagement.Sdk.Events;

/// <summary>
/// Validates events at the SDK's boundary: the common fields every event must have, then the event's own payload.
/// </summary>
public sealed class EventValidator
{
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _maxFutureSkew;
    private readonly TimeSpan? _latenessWindow;

    /// <summary>Creates a validator.</summary>
    /// <param name="timeProvider">The clock that "the future" is measured against.</param>
    /// <param name="maxFutureSkew">How far ahead of the clock an event's timestamp may be (producers' clocks drift).</param>
    public EventValidator(TimeProvider timeProvider, TimeSpan maxFutureSkew)
        : this(timeProvider, maxFutureSkew, null)
    {
    }

    /// <summary>Creates a validator that also rejects events older than a lateness window.</summary>
    /// <param name="timeProvider">The clock that "the future" and "too late" are measured against.</param>
    /// <param name="maxFutureSkew">How far ahead of the clock an event's timestamp may be (producers' clocks drift).</param>
    /// <param name="latenessWindow">How far behind the clock an event's timestamp may be; <see langword="null"/> for no limit.</param>
    public EventValidator(TimeProvider timeProvider, TimeSpan maxFutureSkew, TimeSpan? latenessWindow)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _timeProvider = timeProvider;
        _maxFutureSkew = maxFutureSkew;
        _latenessWindow = latenessWindow;
    }

    /// <summary>Throws <see cref="EngagementValidationException"/> naming the first field of <paramref name="engagementEvent"/> that breaks a rule.</summary>
    /// <param name="engagementEvent">The event.</param>
    public void Validate(EngagementEvent engagementEvent) => Validate(engagementEvent, _timeProvider.GetUtcNow());

    /// <summary>As <see cref="Validate(EngagementEvent)"/>, with the clock already read (the engine reads it once an event).</summary>
    /// <param name="engagementEvent">The event.</param>
    /// <param name="now">The current instant.</param>
    internal void Validate(EngagementEvent engagementEvent, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(engagementEvent);
        Text.RequireToken("eventId", engagementEvent.EventId);
        if (engagementEvent.SchemaVersion != EngagementEvent.CurrentSchemaVersion)
        {
            throw new EngagementValidationException("schemaVersion", engagementEvent.SchemaVersion, $"this library reads event schema version {EngagementEvent.CurrentSchemaVersion} only");
        }

        if (engagementEvent.CustomerId.IsEmpty)
        {
            throw new EngagementValidationException("customerId", null, "an event must name its customer");
        }

        if (engagementEvent.Timestamp == default)
        {
            throw new EngagementValidationException("timestamp", engagementEvent.Timestamp.ToString("O", System.Globalization.CultureInfo.InvariantCulture), "an event needs a real timestamp, not the default value");
        }

        var latest = now + _maxFutureSkew;
        if (engagementEvent.Timestamp > latest)
        {
            throw new EngagementValidationException("timestamp", engagementEvent.Timestamp.ToString("O", System.Globalization.CultureInfo.InvariantCulture), $"must not be later than the clock plus the allowed skew ({latest:O})");
        }

        if (_latenessWindow is { } window && engagementEvent.Timestamp < now - window)
        {
            throw new EngagementValidationException("timestamp", engagementEvent.Timestamp.ToString("O", System.Globalization.CultureInfo.InvariantCulture), $"arrived more than the lateness window ({window}) after it happened; replay history through an import instead");
        }

        if (engagementEvent.Identifiers.IsDefault)
        {
            throw new EngagementValidationException("identifiers", null, "must be an array (empty when there are none)");
        }

        engagementEvent.ValidatePayload();
    }
}
