using Engagement.Sdk.Channels;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Consent;

/// <summary>The state a consent record expresses.</summary>
public enum ConsentStatus
{
    /// <summary>The customer agreed.</summary>
    Granted,

    /// <summary>Double opt-in started: only the confirmation message may be sent until confirmed.</summary>
    PendingConfirmation,

    /// <summary>The customer declined when asked.</summary>
    Denied,

    /// <summary>The customer took back an earlier agreement.</summary>
    Withdrawn,

    /// <summary>The customer objected to processing for this purpose (GDPR Art. 21), which also covers what was based on legitimate interest.</summary>
    Objected,
}

/// <summary>The lawful basis a record rests on.</summary>
public enum LawfulBasis
{
    /// <summary>Freely given, specific, informed and unambiguous consent (GDPR Art. 6(1)(a)).</summary>
    Consent,

    /// <summary>Necessary for a contract with the customer (Art. 6(1)(b)): transactional messages.</summary>
    Contract,

    /// <summary>Legitimate interest (Art. 6(1)(f)), which the customer may object to.</summary>
    LegitimateInterest,

    /// <summary>The ePrivacy "soft opt-in": marketing of similar products to an existing customer who was offered an opt-out.</summary>
    SoftOptIn,
}

/// <summary>How the consent was demonstrated: what the customer saw and where.</summary>
/// <param name="NoticeVersion">The version of the notice or wording shown (required for a grant).</param>
/// <param name="CollectionPoint">Where it was collected (a form id, the checkout, an SMS keyword).</param>
/// <param name="IpAddress">The customer's IP address, when given.</param>
/// <param name="UserAgent">The customer's user agent, when given.</param>
public sealed record ConsentEvidence(string NoticeVersion, string CollectionPoint, [property: PersonalData] string? IpAddress = null, [property: PersonalData] string? UserAgent = null)
{
    /// <summary>For a pending double opt-in: the SHA-256 of the confirmation token (the token itself is never stored).</summary>
    public string? TokenHash { get; init; }

    /// <summary>For a confirmed double opt-in: when the customer confirmed.</summary>
    public DateTimeOffset? ConfirmedAt { get; init; }

    /// <summary>For a confirmed double opt-in: the pending record it confirms (a token confirms once).</summary>
    public string? ConfirmsRecordId { get; init; }

    /// <summary>For a soft opt-in: the order in the course of which the customer's address was obtained.</summary>
    public string? OrderReference { get; init; }
}

/// <summary>
/// One entry of the append-only consent ledger: what a customer said about one channel (or every channel) and one purpose,
/// from when, on what basis and with what evidence. Records are never changed or deleted; the current state is a fold over
/// them (<see cref="ConsentState"/>).
/// </summary>
public sealed record ConsentRecord
{
    /// <summary>The record's unique id (also its idempotency key: appending the same id twice has one effect).</summary>
    public required string RecordId { get; init; }

    /// <summary>The customer.</summary>
    public required CustomerId CustomerId { get; init; }

    /// <summary>The channel; <see langword="null"/> means every channel (for example an objection to all marketing).</summary>
    public Channel? Channel { get; init; }

    /// <summary>The purpose.</summary>
    public required Purpose Purpose { get; init; }

    /// <summary>The identifier the record binds to (this email address, this phone number); <see langword="null"/> for all of the customer's identifiers on the channel.</summary>
    [PersonalData]
    public Identifier? Identifier { get; init; }

    /// <summary>The state expressed.</summary>
    public required ConsentStatus Status { get; init; }

    /// <summary>The lawful basis.</summary>
    public LawfulBasis LawfulBasis { get; init; } = LawfulBasis.Consent;

    /// <summary>Who or what recorded it (a form, the checkout, the customer-service desk, an SMS keyword).</summary>
    public required string Source { get; init; }

    /// <summary>The evidence (required for a grant).</summary>
    public ConsentEvidence? Evidence { get; init; }

    /// <summary>
    /// From when the record applies, as its producer claims (up to <see cref="EngagementOptions.MaxClockSkew"/> ahead of the
    /// ledger's clock). The fold orders records by this time, and by <see cref="RecordedAt"/>: see <see cref="ConsentState"/>.
    /// </summary>
    public required DateTimeOffset EffectiveAt { get; init; }

    /// <summary>
    /// When the ledger appended the record, by its own clock: <see cref="ConsentLedger.RecordAsync"/> sets it (a value given
    /// by the caller is replaced), an import keeps the exported one. A withdrawal, denial or objection is never overtaken by
    /// a grant recorded before it, whatever effective time the grant claims. <see langword="null"/> for records written
    /// before the ledger stamped them; they fold by <see cref="EffectiveAt"/> alone, as they always did.
    /// </summary>
    public DateTimeOffset? RecordedAt { get; init; }

    /// <summary>When a grant lapses by itself, if it does.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>Whether the status denies (anything but <see cref="ConsentStatus.Granted"/>).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsRestrictive => Status != ConsentStatus.Granted;

    /// <summary>
    /// From when the record is in force: its <see cref="EffectiveAt"/>, except that a restrictive record is in force from
    /// when it was recorded at the latest (a withdrawal acknowledged now counts now, even if a fast clock dated it ahead).
    /// </summary>
    internal DateTimeOffset InForceFrom => IsRestrictive && RecordedAt is { } recorded && recorded < EffectiveAt ? recorded : EffectiveAt;

    /// <summary>
    /// Whether <paramref name="other"/> says the same as this record, <see cref="RecordedAt"/> aside: appending it again (a
    /// retry) is a duplicate, not a conflict. Stores compare with it.
    /// </summary>
    /// <param name="other">The other record.</param>
    /// <returns><see langword="true"/> when the two differ at most in <see cref="RecordedAt"/>.</returns>
    public bool HasSameContent(ConsentRecord? other)
        => other is not null && (RecordedAt == other.RecordedAt ? this == other : this == other with { RecordedAt = RecordedAt });

    /// <summary>How restrictive the status is, for breaking ties between records with the same effective time: higher wins.</summary>
    internal int Restrictiveness => Status switch
    {
        ConsentStatus.Granted => 0,
        ConsentStatus.PendingConfirmation => 1,
        ConsentStatus.Denied => 2,
        ConsentStatus.Withdrawn => 3,
        _ => 4,
    };
}
