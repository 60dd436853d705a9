using System.Collections.Immutable;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Consent;

/// <summary>The question: may we contact this customer, on this channel, at this address, for this purpose, now?</summary>
/// <param name="Profile">The customer's profile (for identity, time zone and address).</param>
/// <param name="Channel">The channel.</param>
/// <param name="Purpose">The purpose.</param>
/// <param name="Address">The identifier the message would go to, or <see langword="null"/> for on-site channels.</param>
/// <param name="At">The instant the message would be sent.</param>
public readonly record struct PermissionRequest(CustomerProfile Profile, Channel Channel, Purpose Purpose, Identifier? Address, DateTimeOffset At)
{
    /// <summary>The dispatch being checked at hand-off, if any: frequency caps do not count it against itself.</summary>
    public string? DispatchId { get; init; }
}

/// <summary>The answer's kind.</summary>
public enum PermissionVerdict
{
    /// <summary>Contact is permitted now.</summary>
    Allow,

    /// <summary>Contact is not permitted.</summary>
    Deny,

    /// <summary>Contact is permitted later (quiet hours, a frequency cap): see <see cref="PermissionDecision.DeferUntil"/>.</summary>
    Defer,
}

/// <summary>A machine-readable reason with a human-readable detail.</summary>
/// <param name="Code">A stable code from <see cref="PermissionReasons"/>.</param>
/// <param name="Detail">A sentence for people.</param>
public sealed record PermissionReason(string Code, string Detail);

/// <summary>The stable reason codes of permission decisions.</summary>
public static class PermissionReasons
{
    /// <summary>A grant for the channel and purpose is in force.</summary>
    public const string ConsentGranted = "consent_granted";

    /// <summary>A transactional message: the contract suffices.</summary>
    public const string Transactional = "transactional";

    /// <summary>No record answers the question: consent-based purposes are denied by default.</summary>
    public const string NoConsent = "no_consent";

    /// <summary>The customer withdrew consent.</summary>
    public const string Withdrawn = "consent_withdrawn";

    /// <summary>The customer declined.</summary>
    public const string Denied = "consent_denied";

    /// <summary>The customer objected to the purpose.</summary>
    public const string Objected = "objected";

    /// <summary>Double opt-in is not confirmed yet.</summary>
    public const string PendingConfirmation = "pending_confirmation";

    /// <summary>The grant lapsed.</summary>
    public const string Expired = "consent_expired";

    /// <summary>The customer paused marketing until a later time.</summary>
    public const string Paused = "paused";

    /// <summary>A frequency cap is reached.</summary>
    public const string FrequencyCap = "frequency_cap";

    /// <summary>The recipient's local time is inside quiet hours.</summary>
    public const string QuietHours = "quiet_hours";

    /// <summary>The recipient's time zone is unknown, so quiet hours cannot be honoured.</summary>
    public const string TimeZoneUnknown = "time_zone_unknown";

    /// <summary>The customer has no address on the channel.</summary>
    public const string NoAddress = "no_address";

    /// <summary>The address is suppressed (bounce, complaint, opt-out keyword, erasure).</summary>
    public const string Suppressed = "suppressed";

    /// <summary>The consent ledger or dispatch log could not be read: the gate fails closed.</summary>
    public const string StoreUnavailable = "store_unavailable";

    /// <summary>
    /// This process's clock is behind a dispatch another process wrote by more than <see cref="EngagementOptions.MaxClockSkew"/>:
    /// it refuses to send until its clock is corrected, since its caps and consent times cannot be trusted.
    /// </summary>
    public const string ClockSkew = "clock_skew";
}

/// <summary>The answer to a <see cref="PermissionRequest"/>, with its reasons and the ledger entries it relied on.</summary>
/// <param name="Verdict">Allow, deny or defer.</param>
/// <param name="Reasons">Why.</param>
/// <param name="ReliedOn">The consent records that decided it.</param>
/// <param name="DeferUntil">For <see cref="PermissionVerdict.Defer"/>: the earliest instant to ask again.</param>
public sealed record PermissionDecision(PermissionVerdict Verdict, ImmutableArray<PermissionReason> Reasons, ImmutableArray<ConsentRecord> ReliedOn, DateTimeOffset? DeferUntil = null)
{
    /// <summary>Whether contact is permitted now.</summary>
    public bool IsAllowed => Verdict == PermissionVerdict.Allow;

    /// <summary>The first reason's code.</summary>
    public string Code => Reasons.IsDefaultOrEmpty ? string.Empty : Reasons[0].Code;

    internal static PermissionDecision Deny(string code, string detail, ConsentRecord? reliedOn = null)
        => new(PermissionVerdict.Deny, [new PermissionReason(code, detail)], reliedOn is null ? [] : [reliedOn]);
}
