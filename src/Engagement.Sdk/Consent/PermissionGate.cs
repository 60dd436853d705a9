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
    private readonly ISuppressionStore _suppressions;
    private readonly Households.IHouseholdStore? _households;
    private readonly ContactPolicyOptions _policy;
    private readonly TimeSpan _maxClockSkew;

    /// <summary>Creates the gate.</summary>
    /// <param name="consents">The consent ledger.</param>
    /// <param name="dispatches">The dispatch log, which frequency caps count.</param>
    /// <param name="policy">The contact policy.</param>
    /// <param name="suppressions">The identifier-level suppression list; none when <see langword="null"/>.</param>
    /// <param name="options">The engine's options, for the largest clock skew between processes that is tolerated (<see cref="EngagementOptions.MaxClockSkew"/>).</param>
    /// <param name="households">The households: an opt-out of a shared identifier by any member applies to all, and caps marked <see cref="FrequencyCap.PerHousehold"/> count every member (none when <see langword="null"/>).</param>
    public PermissionGate(IConsentStore consents, IDispatchStore dispatches, IOptions<ContactPolicyOptions> policy, ISuppressionStore? suppressions = null, IOptions<EngagementOptions>? options = null, Households.IHouseholdStore? households = null)
    {
        _households = households;
        _maxClockSkew = options?.Value.MaxClockSkew ?? new EngagementOptions().MaxClockSkew;
        _suppressions = suppressions ?? new InMemorySuppressionStore();
        ArgumentNullException.ThrowIfNull(consents);
        ArgumentNullException.ThrowIfNull(dispatches);
        ArgumentNullException.ThrowIfNull(policy);
        _consents = consents;
        _dispatches = dispatches;
        _policy = policy.Value;
        _anyHouseholdCap = _policy.Caps.Any(c => c.PerHousehold);
    }

    private readonly bool _anyHouseholdCap;

    // The member's records and every other member's restrictions of the shared address, filed under the member's id.
    private async ValueTask<IReadOnlyList<ConsentRecord>> HouseholdRestrictionsAsync(Households.Household household, CustomerId member, Profiles.Identifier shared, IReadOnlyList<ConsentRecord> own, CancellationToken cancellationToken)
    {
        List<ConsentRecord>? all = null;
        foreach (var other in household.Members)
        {
            if (other == member)
            {
                continue;
            }

            foreach (var record in await _consents.ReadAsync(other, cancellationToken).ConfigureAwait(false))
            {
                if (record.IsRestrictive && record.Status != ConsentStatus.PendingConfirmation && record.Identifier == shared)
                {
                    (all ??= [.. own]).Add(record with { CustomerId = member });
                }
            }
        }

        return all ?? own;
    }

    /// <inheritdoc />
    public async ValueTask<PermissionDecision> CheckAsync(PermissionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request.Profile);
        Suppression? erased = null;
        if (request.Address is { } address)
        {
            try
            {
                var suppressions = await _suppressions.FindAsync(address, cancellationToken).ConfigureAwait(false);
                for (var i = 0; i < suppressions.Count; i++)
                {
                    var suppression = suppressions[i];
                    if (suppression.At <= request.At && (suppression.BlocksEverything || !request.Purpose.IsTransactional))
                    {
                        if (suppression.Reason == SuppressionReason.Erasure)
                        {
                            // Unless the address was signed up again since the latest erasure (see below).
                            erased = erased is null || suppression.At > erased.At ? suppression : erased;
                            continue;
                        }

                        return PermissionDecision.Deny(PermissionReasons.Suppressed, $"The address is suppressed since {suppression.At:O} ({suppression.Reason}, reported by {suppression.Source}).");
                    }
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                return PermissionDecision.Deny(PermissionReasons.StoreUnavailable, "The suppression list could not be read: " + ex.GetType().Name);
            }
        }

        ConsentState state;
        Households.Household? household;
        try
        {
            household = _households is null || (request.Address is null && !_anyHouseholdCap)
                ? null
                : await _households.FindByMemberAsync(request.Profile.Id, cancellationToken).ConfigureAwait(false);
            var sharedAddress = household is not null && request.Address is { } a && household.Shares(a) ? request.Address : null;
            if (request.Profile.Merges.IsDefaultOrEmpty && sharedAddress is null && _consents is IConsentStateSource source)
            {
                // The common case: one id, no shared address — the store hands out the folded state it keeps.
                state = await source.GetStateAsync(request.Profile.Id, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var records = await _consents.ReadAsync(request.Profile.Id, cancellationToken).ConfigureAwait(false);
                if (!request.Profile.Merges.IsDefaultOrEmpty)
                {
                    // A person known by several ids: what the ids merged into the profile recorded counts too.
                    records = await PersonConsent.ReadAsync(_consents, request.Profile, records, cancellationToken).ConfigureAwait(false);
                }

                if (sharedAddress is not null)
                {
                    // An address the household shares: a withdrawal, denial or objection of it by any member applies to all.
                    records = await HouseholdRestrictionsAsync(household!, request.Profile.Id, sharedAddress, records, cancellationToken).ConfigureAwait(false);
                }

                state = ConsentState.Fold(request.Profile.Id, records);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return PermissionDecision.Deny(PermissionReasons.StoreUnavailable, "The consent ledger could not be read: " + ex.GetType().Name);
        }

        if (erased is not null && !ConsentLedger.SignedUpAgain(state, request.Channel, request.Purpose, request.Address!, erased.At))
        {
            return PermissionDecision.Deny(PermissionReasons.Suppressed, $"The address is suppressed since {erased.At:O} ({erased.Reason}, reported by {erased.Source}) and was not signed up again since.");
        }

        var consent = ConsentDecision.Decide(state, request);
        if (!consent.IsAllowed || request.Purpose.IsTransactional || request.Purpose == Purpose.ConsentConfirmation)
        {
            return consent;
        }

        if (request.Profile.PausedUntil is { } pausedUntil && pausedUntil > request.At)
        {
            return new PermissionDecision(PermissionVerdict.Defer, [new PermissionReason(PermissionReasons.Paused, $"The customer paused marketing until {pausedUntil:O}.")], consent.ReliedOn, pausedUntil);
        }

        var quiet = CheckQuietHours(request);
        if (quiet is not null)
        {
            return quiet with { ReliedOn = consent.ReliedOn };
        }

        IReadOnlyList<CappedDispatch> recent;
        IReadOnlyList<CappedDispatch> householdRecent = [];
        try
        {
            var longest = TimeSpan.Zero;
            for (var c = 0; c < _policy.Caps.Count; c++)
            {
                var lookBack = LookBack(_policy.Caps[c]);
                longest = lookBack > longest ? lookBack : longest;
            }

            recent = longest == TimeSpan.Zero ? [] : await CountedAsync(request.Profile.Id, request.At - longest, cancellationToken).ConfigureAwait(false);
            if (longest > TimeSpan.Zero)
            {
                // Caps are per person: a message queued under a profile merged into this one since (a held message released
                // under its first owner) counts too. Such messages were held at most the longest hold before the merge.
                foreach (var merge in request.Profile.Merges)
                {
                    if (merge.At >= request.At - longest - Decisioning.ActionCatalog.MaxHoldFor)
                    {
                        recent = [.. recent, .. await CountedAsync(merge.MergedId, request.At - longest, cancellationToken).ConfigureAwait(false)];
                    }
                }

                if (household is not null && _anyHouseholdCap)
                {
                    // What the other members were sent, for the caps that count the household.
                    foreach (var member in household.Members)
                    {
                        if (member != request.Profile.Id)
                        {
                            householdRecent = [.. householdRecent, .. await CountedAsync(member, request.At - longest, cancellationToken).ConfigureAwait(false)];
                        }
                    }
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return PermissionDecision.Deny(PermissionReasons.StoreUnavailable, "The dispatch log could not be read: " + ex.GetType().Name);
        }

        IReadOnlyList<CappedDispatch> counted = householdRecent.Count == 0 ? recent : [.. recent, .. householdRecent];
        for (var i = 0; i < counted.Count; i++)
        {
            var d = counted[i];

            // A dispatch written "later" than this clock by more than the tolerated skew: this clock is behind (or was set
            // back), and a cap counted on it cannot be trusted. Fail closed until the clock is right.
            if (d.CreatedAt > request.At + _maxClockSkew)
            {
                return PermissionDecision.Deny(PermissionReasons.ClockSkew, $"A dispatch was written at {d.CreatedAt:O}, more than {_maxClockSkew} after this process's clock ({request.At:O}).");
            }
        }

        var capped = CheckCaps(request, recent, householdRecent);
        return capped is null ? consent : capped with { ReliedOn = consent.ReliedOn };
    }

    private PermissionDecision? CheckQuietHours(PermissionRequest request)
    {
        for (var q = 0; q < _policy.QuietHours.Count; q++)
        {
            var quiet = _policy.QuietHours[q];
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

            // A start in the repeated hour of a fall-back day opens at its earlier occurrence, or at the later one when the
            // recipient is already in the second pass of that hour (the earlier one is past): never at an instant gone by.
            var offset = zone.IsAmbiguousTime(resume) ? zone.GetAmbiguousTimeOffsets(resume).Max() : zone.GetUtcOffset(resume);
            var until = new DateTimeOffset(resume, offset);
            if (until <= request.At && zone.IsAmbiguousTime(resume))
            {
                until = new DateTimeOffset(resume, zone.GetAmbiguousTimeOffsets(resume).Min());
            }
            return new PermissionDecision(
                PermissionVerdict.Defer,
                [new PermissionReason(PermissionReasons.QuietHours, $"It is {time:HH\\:mm} for the recipient; {request.Channel} {request.Purpose} goes out between {quiet.Start:HH\\:mm} and {quiet.End:HH\\:mm}.")],
                [],
                until);
        }

        return null;
    }

    private static TimeSpan LookBack(FrequencyCap cap) => cap.Period switch
    {
        CapPeriod.CalendarDay => TimeSpan.FromHours(50),
        CapPeriod.CalendarWeek => TimeSpan.FromDays(8),
        _ => cap.Window,
    };

    /// <summary>
    /// Lets the dispatch log read ahead, in one query, what the caps of checks at or after <paramref name="at"/> will count for
    /// <paramref name="customerIds"/> (see <see cref="IDispatchCapLog.ReadAheadCountedAsync"/>); the checks themselves are unchanged.
    /// </summary>
    internal ValueTask ReadAheadCapsAsync(IReadOnlyCollection<CustomerId> customerIds, DateTimeOffset at, CancellationToken cancellationToken)
    {
        if (_dispatches is not IDispatchCapLog log || customerIds.Count == 0)
        {
            return ValueTask.CompletedTask;
        }

        var longest = TimeSpan.Zero;
        for (var c = 0; c < _policy.Caps.Count; c++)
        {
            var lookBack = LookBack(_policy.Caps[c]);
            longest = lookBack > longest ? lookBack : longest;
        }

        return longest == TimeSpan.Zero ? ValueTask.CompletedTask : log.ReadAheadCountedAsync(customerIds, at - longest, cancellationToken);
    }

    // What caps count of one customer's dispatches since an instant: through the store's cap log when it has one.
    private async ValueTask<IReadOnlyList<CappedDispatch>> CountedAsync(CustomerId customerId, DateTimeOffset since, CancellationToken cancellationToken)
    {
        if (_dispatches is IDispatchCapLog log)
        {
            return await log.ListCountedAsync(customerId, since, cancellationToken).ConfigureAwait(false);
        }

        var counted = new List<CappedDispatch>();
        foreach (var d in await _dispatches.ListAsync(customerId, since, cancellationToken).ConfigureAwait(false))
        {
            if (DispatchRecords.CountsAgainstCaps(d))
            {
                counted.Add(new CappedDispatch(d.DispatchId, d.CreatedAt, d.Channel, d.Purpose));
            }
        }

        return counted;
    }

    private PermissionDecision? CheckCaps(PermissionRequest request, IReadOnlyList<CappedDispatch> recent, IReadOnlyList<CappedDispatch> householdRecent)
    {
        DateTimeOffset? until = null;
        string? detail = null;
        for (var k = 0; k < _policy.Caps.Count; k++)
        {
            var cap = _policy.Caps[k];
            if (cap.Purpose != request.Purpose || (cap.Channel is { } channel && channel != request.Channel))
            {
                continue;
            }

            DateTimeOffset since;
            DateTimeOffset? windowEnd = null;
            if (cap.Period == CapPeriod.Rolling)
            {
                since = request.At - cap.Window;
            }
            else if (request.Profile.TimeZone is null || !TimeZoneInfo.TryFindSystemTimeZoneById(request.Profile.TimeZone, out var zone))
            {
                return PermissionDecision.Deny(PermissionReasons.TimeZoneUnknown, $"A calendar cap applies to {request.Channel} {request.Purpose} and the recipient's time zone '{request.Profile.TimeZone}' is unknown.");
            }
            else
            {
                var local = TimeZoneInfo.ConvertTime(request.At, zone);
                var day = DateOnly.FromDateTime(local.DateTime);
                if (cap.Period == CapPeriod.CalendarWeek)
                {
                    day = day.AddDays(-(((int)day.DayOfWeek + 6) % 7));
                }

                since = LocalMidnight(zone, day);
                windowEnd = LocalMidnight(zone, day.AddDays(cap.Period == CapPeriod.CalendarWeek ? 7 : 1));
            }

            var count = 0;
            DateTimeOffset? oldest = null;
            IReadOnlyList<CappedDispatch> capped = cap.PerHousehold && householdRecent.Count > 0 ? [.. recent, .. householdRecent] : recent;
            for (var i = 0; i < capped.Count; i++)
            {
                var d = capped[i];

                // Every message that is, may be or will be with a channel counts, whatever its time relative to this clock's
                // (another process's clock may run ahead, or this one may have been set back): only the window's start bounds it.
                if (d.CreatedAt < since || d.Purpose != cap.Purpose
                    || (cap.Channel is { } c && d.Channel != c) || (request.DispatchId is { } self && d.DispatchId == self))
                {
                    continue;
                }

                count++;
                oldest = oldest is { } o && o <= d.CreatedAt ? o : d.CreatedAt;
            }

            if (count >= cap.Limit)
            {
                var free = windowEnd ?? oldest!.Value + cap.Window;
                if (until is null || free > until)
                {
                    until = free;
                    var window = cap.Period switch
                    {
                        CapPeriod.CalendarDay => "the recipient's calendar day",
                        CapPeriod.CalendarWeek => "the recipient's calendar week",
                        _ => "the last " + cap.Window,
                    };
                    detail = $"{count} {cap.Purpose} message(s) on {(cap.Channel is { } ch ? ch.Name : "all channels")}{(cap.PerHousehold ? " to the household" : "")} in {window}; the cap is {cap.Limit}.";
                }
            }
        }

        return until is null ? null : new PermissionDecision(PermissionVerdict.Defer, [new PermissionReason(PermissionReasons.FrequencyCap, detail!)], [], until);
    }

    /// <summary>The instant a local calendar day starts; a midnight skipped by a daylight-saving change starts at the first valid local time after it.</summary>
    private static DateTimeOffset LocalMidnight(TimeZoneInfo zone, DateOnly day)
    {
        var local = day.ToDateTime(TimeOnly.MinValue);
        while (zone.IsInvalidTime(local))
        {
            local = local.AddMinutes(30);
        }

        var offset = zone.IsAmbiguousTime(local) ? zone.GetAmbiguousTimeOffsets(local).Max() : zone.GetUtcOffset(local);
        return new DateTimeOffset(local, offset);
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
        var verdict = state.Evaluate(request.Channel, request.Purpose, request.Address, request.At);
        return state.Explain(verdict, request.Channel, request.Purpose, Build);
    }

    private static PermissionDecision Build(ExplainedKey key)
    {
        var (verdict, channel, purpose) = key;
        var request = (Channel: channel, Purpose: purpose);
        var record = verdict.Record;
        var detail = verdict.Code switch
        {
            PermissionReasons.Transactional => "A transactional message rests on the contract and needs no marketing consent.",
            PermissionReasons.NoConsent when request.Purpose == Purpose.ConsentConfirmation => $"No double opt-in is pending for {request.Channel} at this address.",
            PermissionReasons.NoConsent => $"No consent for {request.Purpose} on {request.Channel} is recorded: consent-based purposes are denied by default.",
            PermissionReasons.PendingConfirmation when verdict.IsAllowed => $"Double opt-in '{record!.RecordId}' is pending: only the confirmation request may be sent.",
            PermissionReasons.PendingConfirmation => $"Double opt-in '{record!.RecordId}' is not confirmed.",
            PermissionReasons.Expired => $"The grant '{record!.RecordId}' expired at {record.ExpiresAt:O}.",
            PermissionReasons.ConsentGranted => $"Granted by '{record!.RecordId}' from {record.EffectiveAt:O} ({record.Source}).",
            PermissionReasons.Withdrawn => $"Withdrawn by '{record!.RecordId}' at {record.EffectiveAt:O}.",
            PermissionReasons.Objected => $"The customer objected to {record!.Purpose} by '{record.RecordId}' at {record.EffectiveAt:O}.",
            _ => $"Declined by '{record!.RecordId}' at {record.EffectiveAt:O}.",
        };

        return new PermissionDecision(
            verdict.IsAllowed ? PermissionVerdict.Allow : PermissionVerdict.Deny,
            [new PermissionReason(verdict.Code, detail)],
            record is null ? [] : [record]);
    }
}
