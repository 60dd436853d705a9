namespace Engagement.Sdk.Storage;

/// <summary>Thrown when a profile was saved by another writer since it was read: reload, re-apply and save again.</summary>
public sealed class ConcurrencyConflictException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="customerId">The customer whose profile conflicted.</param>
    /// <param name="expectedVersion">The version the writer read.</param>
    /// <param name="actualVersion">The version stored now.</param>
    public ConcurrencyConflictException(CustomerId customerId, long expectedVersion, long actualVersion)
        : base($"The profile of customer '{customerId}' is at version {actualVersion}, not the expected {expectedVersion}: it was changed by another writer.")
    {
        CustomerId = customerId;
        ExpectedVersion = expectedVersion;
        ActualVersion = actualVersion;
    }

    /// <summary>The customer.</summary>
    public CustomerId CustomerId { get; }

    /// <summary>The version the writer read.</summary>
    public long ExpectedVersion { get; }

    /// <summary>The version stored now.</summary>
    public long ActualVersion { get; }
}

/// <summary>Thrown when an event id is reused for a different payload.</summary>
public sealed class EventConflictException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="eventId">The reused id.</param>
    public EventConflictException(string eventId)
        : base($"An event with id '{eventId}' but a different payload is already stored; event ids must be unique.")
    {
        EventId = eventId;
    }

    /// <summary>The reused id.</summary>
    public string EventId { get; }
}

/// <summary>Thrown when a consent record id is reused for a different record.</summary>
public sealed class ConsentConflictException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="recordId">The reused id.</param>
    public ConsentConflictException(string recordId)
        : base($"A consent record with id '{recordId}' but different content is already in the ledger; records are never changed.")
    {
        RecordId = recordId;
    }

    /// <summary>The reused id.</summary>
    public string RecordId { get; }
}
