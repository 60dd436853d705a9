using Engagement.Sdk.Channels;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Decisioning;

/// <summary>What became of a message that contact policy held back.</summary>
public enum HeldMessageStatus
{
    /// <summary>The message was held: it waits in the dispatch log until <see cref="DispatchRecord.ReleaseAt"/>.</summary>
    Held,

    /// <summary>Policy allowed it: it was queued in the outbox for the delivery worker (see <see cref="HeldMessageOutcome.Dispatch"/>).</summary>
    Released,

    /// <summary>Policy still defers it: it waits for the new <see cref="DispatchRecord.ReleaseAt"/>.</summary>
    Rescheduled,

    /// <summary>It will never be sent; <see cref="HeldMessageOutcome.Reason"/> says why.</summary>
    Cancelled,
}

/// <summary>The stable reason codes of <see cref="HeldMessageOutcome"/>.</summary>
public static class HoldReasons
{
    /// <summary>Held because contact policy deferred it (the permission reason is in the detail).</summary>
    public const string Deferred = "deferred";

    /// <summary>Released: contact policy allows it now.</summary>
    public const string Allowed = "allowed";

    /// <summary>Cancelled: it could not be sent before it stopped being worth sending.</summary>
    public const string Expired = "expired";

    /// <summary>Cancelled: the customer's queue was full and a higher-priority message took its place.</summary>
    public const string Preempted = "preempted";

    /// <summary>Not held: the customer's queue is full of messages of the same or higher priority.</summary>
    public const string QueueFull = "queue_full";

    /// <summary>Cancelled: the permission gate now denies it (consent withdrawn, an objection, a bounce…).</summary>
    public const string NotPermitted = "not_permitted";

    /// <summary>Cancelled: the action is no longer eligible (stage, already bought, out of stock, no address or sender).</summary>
    public const string NotEligible = "not_eligible";

    /// <summary>Cancelled: the action is no longer in the catalogue.</summary>
    public const string ActionRemoved = "action_removed";
}

/// <summary>What happened to one held message.</summary>
/// <param name="Record">The dispatch log entry as it stands now.</param>
/// <param name="Status">Held, released, rescheduled or cancelled.</param>
/// <param name="Reason">A stable code from <see cref="HoldReasons"/>.</param>
/// <param name="Detail">A sentence for people.</param>
public sealed record HeldMessageOutcome(DispatchRecord Record, HeldMessageStatus Status, string Reason, string Detail)
{
    /// <summary>The outbox's result, for a released message.</summary>
    public DispatchResult? Dispatch { get; init; }
}
