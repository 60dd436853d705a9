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
}
