using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;

namespace Engagement.Sdk.Storage;

/// <summary>Where a dispatch stands.</summary>
public enum DispatchStatus
{
    /// <summary>Decided and permitted; the channel has not confirmed yet.</summary>
    Pending,

    /// <summary>The channel accepted the message.</summary>
    Sent,

    /// <summary>The channel failed after every retry; the message may be resumed.</summary>
    Failed,

    /// <summary>The channel refused the message for good (an invalid address).</summary>
    Undeliverable,

    /// <summary>
    /// Held back by contact policy (a frequency cap, quiet hours, a pause) and waiting for <see cref="DispatchRecord.ReleaseAt"/>;
    /// not yet counted by any cap. Released in priority order, or cancelled when it expires or a higher-priority message
    /// takes its place.
    /// </summary>
    Held,

    /// <summary>A held message that was never sent (expired, pre-empted, or no longer permitted); <see cref="DispatchRecord.Error"/> says why.</summary>
    Cancelled,
}

/// <summary>One entry of the dispatch log.</summary>
public sealed record DispatchRecord
{
    /// <summary>The dispatch's id: deterministic for one trigger, action and channel, so a replay cannot send twice.</summary>
    public required string DispatchId { get; init; }

    /// <summary>The customer.</summary>
    public required CustomerId CustomerId { get; init; }

    /// <summary>The channel.</summary>
    public required Channel Channel { get; init; }

    /// <summary>The purpose.</summary>
    public required Purpose Purpose { get; init; }

    /// <summary>The action sent.</summary>
    public required string ActionId { get; init; }

    /// <summary>When it was decided.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Where it stands.</summary>
    public DispatchStatus Status { get; init; } = DispatchStatus.Pending;

    /// <summary>How many times the channel was called.</summary>
    public int Attempts { get; init; }

    /// <summary>The last error, when it failed.</summary>
    public string? Error { get; init; }

    /// <summary>When it ended.</summary>
    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>The action's priority (higher goes first when messages compete for a cap's slots).</summary>
    public int Priority { get; init; }

    /// <summary>When the message was held back, for a message that was held.</summary>
    public DateTimeOffset? HeldAt { get; init; }

    /// <summary>For a held message: the earliest instant it may be sent (when contact policy said to ask again).</summary>
    public DateTimeOffset? ReleaseAt { get; init; }

    /// <summary>For a held message: the instant it stops being worth sending; it is cancelled then.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }
}

/// <summary>Helpers for dispatch stores.</summary>
public static class DispatchRecords
{
    /// <summary>The record as a store begins it: held when it is held, otherwise pending.</summary>
    /// <param name="record">The record given to <see cref="IDispatchStore.TryBeginAsync"/>.</param>
    /// <returns>The record to store.</returns>
    public static DispatchRecord AsBegun(DispatchRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var status = record.Status == DispatchStatus.Held ? DispatchStatus.Held : DispatchStatus.Pending;
        return record.Status == status ? record : record with { Status = status };
    }
}
