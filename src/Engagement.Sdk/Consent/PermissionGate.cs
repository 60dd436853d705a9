using System.Collections.Immutable;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Consent;

/// <summary>Answers whether a customer may be contacted. Implementations fail closed: if they cannot tell, they deny.</summary>
public interface IPermissionGate
{
    /// <summary>Decides a <see cref="PermissionRequest"/>.</summary>
    /// <param name="request">The question.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>Allow, deny or defer, with reasons.</returns>
    ValueTask<PermissionDecision> CheckAsync(PermissionRequest request, CancellationToken cancellationToken = default);
}

/// <summary>
/// The SDK's permission gate: the consent ledger first (consent-based purposes need a grant in force for the channel and
/// address; transactional messages need none), then contact policy (quiet hours in the recipient's local time, frequency
/// caps from the dispatch log). Fails closed: a store that cannot be read means deny.
/// </summary>
public sealed class PermissionGate : IPermissionGate
{
    private readonly IConsentStore _consents;
    private readonly IDispatchStore _dispatches;
    private readonly ContactPolicyOptions _policy;

    /// <summary>Creates the gate.</summary>
    /// <param name="consents">The consent ledger.</param>
    /// <param name="dispatches">The dispatch log, which frequency caps count.</param>
    /// <param name="policy">The contact policy.</param>
    public PermissionGate(IConsentStore consents, IDispatchStore dispatches, IOptions<ContactPolicyOptions> policy)
    {
        ArgumentNullException.ThrowIfNull(consents);
        ArgumentNullException.ThrowIfNull(dispatches);
        ArgumentNullException.ThrowIfNull(policy);
        _consents = consents;
        _dispatches = dispatches;
        _policy = policy.Value;
    }

    /// <inheritdoc />
    public async ValueTask<PermissionDecision> CheckAsync(PermissionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request.Profile);
        ConsentState state;
        try
        {
            var records = await _consents.ReadAsync(request.Profile.Id, cancellationToken).ConfigureAwait(false);
            state = ConsentState.Fold(request.Profile.Id, records);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return PermissionDecision.Deny(PermissionReasons.StoreUnavailable, "The consent ledger could not be read: " + ex.GetType().Name);
        }

        var consent = ConsentDecision.Decide(state, request);
        if (!consent.IsAllowed || request.Purpose.IsTransactional)
        {
            return consent;
        }

        var quiet = CheckQuietHours(request);
        if (quiet is not null)
        {
            return quiet with { ReliedOn = consent.ReliedOn };
        }

        IReadOnlyList<DispatchRecord> recent;
        try
        {
            var longest = _policy.Caps.Count == 0 ? TimeSpan.Zero : _policy.Caps.Max(c => c.Window);
            recent = longest == TimeSpan.Zero ? [] : await _dispatches.ListAsync(request.Profile.Id, request.At - longest, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return PermissionDecision.Deny(PermissionReasons.StoreUnavailable, "The dispatch log could not be read: " + ex.GetType().Name);
        }

        var capped = CheckCaps(request, recent);
        return capped is null ? consent : capped with { ReliedOn = consent.ReliedOn };
    }

    private PermissionDecision? CheckQuietHours(PermissionRequest request)
    {
        foreach (var quiet in _policy.QuietHours)
        {
            if (quiet.Channel != request.Channel || quiet.Purpose != request.Purpose)
            {
                continue;
            }

            if (request.Profile.TimeZone is null || !TimeZoneInfo.TryFindSystemTimeZoneById(request.Profile.TimeZone, out var zone))
            {
                return PermissionDecision.Deny(PermissionReasons.TimeZoneUnknown, $"Quiet hours apply to {request.Channel} {request.Purpose} and the recipient's time zone '{request.Profile.TimeZone}' is unknown.");
            }

            var local = TimeZoneInfo.ConvertTime(request.At, zone);
            var time = TimeOnly.FromDateTime(local.DateTime);
            if (time >= quiet.Start && time < quiet.End)
            {
                continue;
            }

            var day = DateOnly.FromDateTime(local.DateTime);
            if (time >= quiet.End)
            {
                day = day.AddDays(1);
            }

            var resume = day.ToDateTime(quiet.Start);
            while (zone.IsInvalidTime(resume))
            {
                resume = resume.AddMinutes(30);
            }

            var offset = zone.IsAmbiguousTime(resume) ? zone.GetAmbiguousTimeOffsets(resume).Max() : zone.GetUtcOffset(resume);
            var until = new DateTimeOffset(resume, offset);
            return new PermissionDecision(
                PermissionVerdict.Defer,
                [new PermissionReason(PermissionReasons.QuietHours, $"It is {time:HH\\:mm} for the recipient; {request.Channel} {request.Purpose} goes out between {quiet.Start:HH\\:mm} and {quiet.End:HH\\:mm}.")],
                [],
                until);
        }

        return null;
    }

    private PermissionDecision? CheckCaps(PermissionRequest request, IReadOnlyList<DispatchRecord> recent)
    {
        DateTimeOffset? until = null;
        string? detail = null;
        foreach (var cap in _policy.Caps)
        {
            if (cap.Purpose != request.Purpose || (cap.Channel is { } channel && channel != request.Channel))
            {
                continue;
            }

            var since = request.At - cap.Window;
            var count = 0;
            DateTimeOffset? oldest = null;
            foreach (var d in recent)
            {
                if (d.Status is DispatchStatus.Failed or DispatchStatus.Undeliverable || d.CreatedAt < since || d.CreatedAt > request.At || d.Purpose != cap.Purpose
                    || (cap.Channel is { } c && d.Channel != c))
                {
                    continue;
                }

                count++;
                oldest = oldest is { } o && o <= d.CreatedAt ? o : d.CreatedAt;
            }

            if (count >= cap.Limit)
            {
                var free = oldest!.Value + cap.Window;
                if (until is null || free > until)
                {
                    until = free;
                    detail = $"{count} {cap.Purpose} message(s) on {(cap.Channel is { } ch ? ch.Name : "all channels")} in the last {cap.Window}; the cap is {cap.Limit}.";
                }
            }
        }

        return until is null ? null : new PermissionDecision(PermissionVerdict.Defer, [new PermissionReason(PermissionReasons.FrequencyCap, detail!)], [], until);
    }
}

/// <summary>The consent part of the decision: a pure function of the folded ledger and the request.</summary>
public static class ConsentDecision
{
    /// <summary>Decides the consent part of <paramref name="request"/> from <paramref name="state"/>.</summary>
    /// <param name="state">The customer's folded ledger.</param>
    /// <param name="request">The question.</param>
    /// <returns>Allow or deny with reasons.</returns>
    public static PermissionDecision Decide(ConsentState state, PermissionRequest request)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (request.Purpose.IsTransactional)
        {
            return new PermissionDecision(PermissionVerdict.Allow, [new PermissionReason(PermissionReasons.Transactional, "A transactional message rests on the contract and needs no marketing consent.")], []);
        }

        var record = state.Decisive(request.Channel, request.Purpose, request.Address, request.At);
        if (record is null)
        {
            return PermissionDecision.Deny(PermissionReasons.NoConsent, $"No consent for {request.Purpose} on {request.Channel} is recorded: consent-based purposes are denied by default.");
        }

        return record.Status switch
        {
            ConsentStatus.Granted when record.ExpiresAt is { } expiry && expiry <= request.At
                => PermissionDecision.Deny(PermissionReasons.Expired, $"The grant '{record.RecordId}' expired at {expiry:O}.", record),
            ConsentStatus.Granted
                => new PermissionDecision(PermissionVerdict.Allow, [new PermissionReason(PermissionReasons.ConsentGranted, $"Granted by '{record.RecordId}' from {record.EffectiveAt:O} ({record.Source}).")], [record]),
            ConsentStatus.Withdrawn => PermissionDecision.Deny(PermissionReasons.Withdrawn, $"Withdrawn by '{record.RecordId}' at {record.EffectiveAt:O}.", record),
            ConsentStatus.Objected => PermissionDecision.Deny(PermissionReasons.Objected, $"The customer objected by '{record.RecordId}' at {record.EffectiveAt:O}.", record),
            ConsentStatus.PendingConfirmation => PermissionDecision.Deny(PermissionReasons.PendingConfirmation, $"Double opt-in '{record.RecordId}' is not confirmed.", record),
            _ => PermissionDecision.Deny(PermissionReasons.Denied, $"Declined by '{record.RecordId}' at {record.EffectiveAt:O}.", record),
        };
    }
}
