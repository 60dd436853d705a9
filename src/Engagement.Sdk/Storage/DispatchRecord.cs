using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;

namespace Engagement.Sdk.Storage;

/// <summary>Where a dispatch stands in the outbox.</summary>
/// <remarks>
/// A dispatch is written as <see cref="Queued"/> (or <see cref="Held"/>) in the same unit of work as the event that decided it;
/// a <see cref="DispatchWorker"/> claims it under a lease (<see cref="Sending"/>), hands it to the channel and settles it as
/// <see cref="Sent"/>, <see cref="Undeliverable"/>, <see cref="DeadLettered"/> or <see cref="Cancelled"/>, or queues it again
/// (a transient failure, a deferral) or marks it <see cref="Unknown"/> (the channel may have accepted it). Queued, sending,
/// unknown and sent dispatches count against frequency caps.
/// </remarks>
public enum DispatchStatus
{
    /// <summary>Decided and permitted; waiting in the outbox for <see cref="DispatchRecord.DueAt"/> and a worker.</summary>
    Queued,

    /// <summary>Claimed by a worker until <see cref="DispatchRecord.LeaseUntil"/>; a lease that runs out means the worker stopped mid-send.</summary>
    Sending,

    /// <summary>The channel accepted the message.</summary>
    Sent,

    /// <summary>
    /// The channel may or may not have accepted it (a time-out after the request went out, a worker that stopped mid-send):
    /// it is reconciled through the channel's status query or idempotency keys, never sent again blindly.
    /// </summary>
    Unknown,

    /// <summary>The channel refused the address for good (it does not exist); the address is suppressed.</summary>
    Undeliverable,

    /// <summary>
    /// Set aside for a person to decide (content rejected, retries exhausted, an outcome that cannot be reconciled);
    /// <see cref="DispatchRecord.Reason"/> says why. <see cref="DispatchWorker.ReplayAsync"/> queues it again.
    /// </summary>
    DeadLettered,

    /// <summary>
    /// Held back by contact policy (a frequency cap, quiet hours, a pause) and waiting for <see cref="DispatchRecord.ReleaseAt"/>;
    /// not yet counted by any cap. Released in priority order, or cancelled when it expires or a higher-priority message
    /// takes its place.
    /// </summary>
    Held,

    /// <summary>Never sent: a held message that expired or was pre-empted, or a queued one the gate refused at hand-off; <see cref="DispatchRecord.Reason"/> says why.</summary>
    Cancelled,
}

/// <summary>The stable reason codes a dispatch is settled with (<see cref="DispatchRecord.Reason"/>), besides the permission gate's codes.</summary>
public static class DispatchReasons
{
    /// <summary>The channel accepted the message.</summary>
    public const string Accepted = "accepted";

    /// <summary>A transient failure: tried again later.</summary>
    public const string Transient = "transient_failure";

    /// <summary>Transient failures went on past the retry budget (attempts or time).</summary>
    public const string RetriesExhausted = "retries_exhausted";

    /// <summary>The channel refused the address for good; it is suppressed.</summary>
    public const string AddressInvalid = "address_invalid";

    /// <summary>The channel refused the content for good.</summary>
    public const string ContentRejected = "content_rejected";

    /// <summary>The channel refused the message for good for another reason.</summary>
    public const string Rejected = "rejected";

    /// <summary>The outcome is unknown and waits for reconciliation.</summary>
    public const string OutcomeUnknown = "outcome_unknown";

    /// <summary>The outcome is unknown and the channel can neither be asked nor deduplicates: a person decides.</summary>
    public const string Unreconcilable = "unreconcilable";

    /// <summary>The channel's circuit is open or its rate limit reached: the dispatch waits (no attempt is counted).</summary>
    public const string ChannelBusy = "channel_busy";

    /// <summary>Contact policy defers it (quiet hours, a cap): it waits.</summary>
    public const string Deferred = "deferred";

    /// <summary>The customer was erased before the message went out.</summary>
    public const string Erased = "erased";

    /// <summary>The customer was erased while the message was with the channel: the audit row holds no personal data.</summary>
    public const string ErasedInFlight = "erased_in_flight";

    /// <summary>The action is no longer eligible, no longer in the catalogue, or its channel has no sender.</summary>
    public const string NotEligible = "not_eligible";

    /// <summary>A dead letter was queued again by a person.</summary>
    public const string Replayed = "replayed";

    /// <summary>
    /// Never sent: the customer is in a control group, and the entry logs the would-be send (<see cref="DispatchRecord.Decision"/>
    /// holds its choice probability) so that uplift can be measured.
    /// </summary>
    public const string ControlGroup = "control_group";
}

/// <summary>One entry of the dispatch log.</summary>
public sealed record DispatchRecord
{
    // The optional instants are kept as instants, with one bit of _set each for whether they are set: a DateTimeOffset? takes
    // 24 bytes and a DateTimeOffset 16, and a record is written for every queued message and copied at each step of its
    // delivery. An instant not set is the default one, so records compare as they did with the optional values.
    private DateTimeOffset _completedAt;
    private DateTimeOffset _dueAt;
    private DateTimeOffset _leaseUntil;
    private DateTimeOffset _respondedAt;
    private DateTimeOffset _heldAt;
    private DateTimeOffset _releaseAt;
    private DateTimeOffset _expiresAt;
    private byte _set;

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

    /// <summary>When it was decided (or, for a held message, released into the outbox): what frequency caps count.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Where it stands.</summary>
    public DispatchStatus Status { get; init; } = DispatchStatus.Queued;

    /// <summary>How many times the channel was called.</summary>
    public int Attempts { get; init; }

    /// <summary>The last error, when it failed (redacted: no address or message content).</summary>
    public string? Error { get; init; }

    /// <summary>A stable code from <see cref="DispatchReasons"/> or <see cref="Consent.PermissionReasons"/>: why it stands where it does.</summary>
    public string? Reason { get; init; }

    /// <summary>When it ended.</summary>
    public DateTimeOffset? CompletedAt { get => Get(_completedAt, 1); init => _completedAt = Set(value, 1); }

    /// <summary>For a queued or unknown dispatch: the earliest instant a worker may take it (after a back-off or a deferral).</summary>
    public DateTimeOffset? DueAt { get => Get(_dueAt, 2); init => _dueAt = Set(value, 2); }

    /// <summary>For a sending dispatch: the worker that holds it.</summary>
    public string? LeaseOwner { get; init; }

    /// <summary>For a sending dispatch: when the worker's lease runs out (then the outcome is unknown).</summary>
    public DateTimeOffset? LeaseUntil { get => Get(_leaseUntil, 4); init => _leaseUntil = Set(value, 4); }

    /// <summary>When the recipient first responded to the message (its first click): later clicks are not learned from again.</summary>
    public DateTimeOffset? RespondedAt { get => Get(_respondedAt, 8); init => _respondedAt = Set(value, 8); }

    /// <summary>The action's priority (higher goes first when messages compete for a cap's slots).</summary>
    public int Priority { get; init; }

    /// <summary>When the message was held back, for a message that was held.</summary>
    public DateTimeOffset? HeldAt { get => Get(_heldAt, 16); init => _heldAt = Set(value, 16); }

    /// <summary>For a held message: the earliest instant it may be sent (when contact policy said to ask again).</summary>
    public DateTimeOffset? ReleaseAt { get => Get(_releaseAt, 32); init => _releaseAt = Set(value, 32); }

    /// <summary>For a held message: the instant it stops being worth sending; it is cancelled then.</summary>
    public DateTimeOffset? ExpiresAt { get => Get(_expiresAt, 64); init => _expiresAt = Set(value, 64); }

    /// <summary>
    /// The next-best-action decision the dispatch came from, as logged: the probability with which its action × channel was
    /// chosen, the policy, the learning segment and treatment. <see langword="null"/> for dispatches not decided by the SDK.
    /// </summary>
    public DispatchDecision? Decision { get; init; }

    private DateTimeOffset? Get(DateTimeOffset value, byte bit) => (_set & bit) != 0 ? value : null;

    private DateTimeOffset Set(DateTimeOffset? value, byte bit)
    {
        if (value is { } set)
        {
            _set |= bit;
            return set;
        }

        _set &= (byte)~bit;
        return default;
    }
}

/// <summary>What a dispatch logs of the decision it came from (for learning, off-policy evaluation and uplift).</summary>
public sealed record DispatchDecision
{
    /// <summary>The decision's id.</summary>
    public required string DecisionId { get; init; }

    /// <summary>The policy that took it (the champion's or a challenger's name).</summary>
    public required string Policy { get; init; }

    /// <summary>The probability with which the action × channel (and treatment) was chosen, after every filter: π(a | x), in (0, 1].</summary>
    public required double ChoiceProbability { get; init; }

    /// <summary>
    /// The standard error of <see cref="ChoiceProbability"/> when it was estimated by Monte Carlo; for a Thompson choice from
    /// posterior sample banks (where the logged value is exactly the probability of the policy that ran), its standard error
    /// against Thompson sampling on the posteriors themselves; <see langword="null"/> when exact.
    /// </summary>
    public double? ChoiceProbabilityError { get; init; }

    /// <summary>The estimated response probability of the action × channel at the decision.</summary>
    public double Propensity { get; init; }

    /// <summary>The score of the choice.</summary>
    public double Score { get; init; }

    /// <summary>Whether it was chosen by exploration rather than as the highest expected score.</summary>
    public bool Explored { get; init; }

    /// <summary>How many candidates it was chosen among (do-nothing included).</summary>
    public int Candidates { get; init; }

    /// <summary>The customer's learning segment at the decision ("" or <see langword="null"/> for none).</summary>
    public string? Segment { get; init; }

    /// <summary>The treatment sent, when the action has treatments.</summary>
    public string? TreatmentId { get; init; }

    /// <summary>For a would-be send of a control group: which group (<c>global</c> or <c>action</c>); <see langword="null"/> for a real send.</summary>
    public string? ControlGroup { get; init; }
}

/// <summary>Helpers for dispatch stores.</summary>
public static class DispatchRecords
{
    /// <summary>The record as a store begins it: as given when it is held, unknown or already settled (an import or an audit row), otherwise queued and due at once.</summary>
    /// <param name="record">The record given to <see cref="IDispatchStore.TryBeginAsync"/>.</param>
    /// <returns>The record to store.</returns>
    public static DispatchRecord AsBegun(DispatchRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Status is DispatchStatus.Held or DispatchStatus.Sent or DispatchStatus.Undeliverable or DispatchStatus.DeadLettered or DispatchStatus.Cancelled)
        {
            return record;
        }

        if (record.Status is DispatchStatus.Queued or DispatchStatus.Unknown && record.DueAt is not null && record.LeaseOwner is null && record.LeaseUntil is null)
        {
            return record; // already in the form it is begun in (as the outbox writes it): no copy
        }

        if (record.Status == DispatchStatus.Unknown)
        {
            return record with { DueAt = record.DueAt ?? record.CreatedAt, LeaseOwner = null, LeaseUntil = null };
        }

        return record with { Status = DispatchStatus.Queued, DueAt = record.DueAt ?? record.CreatedAt, LeaseOwner = null, LeaseUntil = null };
    }

    /// <summary>Whether a worker may claim <paramref name="record"/> at <paramref name="now"/>: queued or unknown and due, or sending under a lease that ran out.</summary>
    /// <param name="record">The record.</param>
    /// <param name="now">The instant.</param>
    /// <returns><see langword="true"/> when it is claimable.</returns>
    public static bool IsClaimable(DispatchRecord record, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(record);
        return record.Status switch
        {
            DispatchStatus.Queued or DispatchStatus.Unknown => (record.DueAt ?? record.CreatedAt) <= now,
            DispatchStatus.Sending => record.LeaseUntil is not { } until || until <= now,
            _ => false,
        };
    }

    /// <summary>The instant from which a claimable record is due, for ordering claims (oldest due first).</summary>
    /// <param name="record">The record.</param>
    /// <returns>The instant.</returns>
    public static DateTimeOffset DueOf(DispatchRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return record.Status == DispatchStatus.Sending ? record.LeaseUntil ?? record.CreatedAt : record.DueAt ?? record.CreatedAt;
    }

    /// <summary>Whether frequency caps count the record: a message that is, may be, or will be with the channel.</summary>
    /// <param name="record">The record.</param>
    /// <returns><see langword="true"/> for queued, sending, unknown and sent dispatches.</returns>
    public static bool CountsAgainstCaps(DispatchRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return record.Status is DispatchStatus.Queued or DispatchStatus.Sending or DispatchStatus.Unknown or DispatchStatus.Sent;
    }

    /// <summary>Checks the arguments of <see cref="IDispatchStore.ClaimAsync"/>.</summary>
    /// <param name="owner">The worker's identity.</param>
    /// <param name="max">The most to claim.</param>
    /// <exception cref="EngagementValidationException">The owner is empty or <paramref name="max"/> is not positive.</exception>
    public static void RequireClaim(string owner, int max)
    {
        if (string.IsNullOrWhiteSpace(owner))
        {
            throw new EngagementValidationException("owner", owner, "a claim needs the worker's identity");
        }

        if (max <= 0)
        {
            throw new EngagementValidationException("max", max, "must be positive");
        }
    }
}
