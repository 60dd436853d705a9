using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Profiles;

/// <summary>An identifier an event presented that was not stitched, and why.</summary>
/// <param name="Identifier">The identifier.</param>
/// <param name="OwnerId">The profile that holds it.</param>
/// <param name="Reason">Why the two profiles were not merged.</param>
public sealed record IdentityConflict(Identifier Identifier, CustomerId OwnerId, string Reason);

/// <summary>Where an event or call lands after identity resolution.</summary>
/// <param name="CustomerId">The profile it belongs to (the survivor of any merge).</param>
/// <param name="Merges">The merges this resolution performed.</param>
/// <param name="Conflicts">Identifiers that matched another profile which could not be merged; they are not added to the profile.</param>
public sealed record IdentityResolution(CustomerId CustomerId, ImmutableArray<ProfileMerge> Merges, ImmutableArray<IdentityConflict> Conflicts)
{
    // The profile as read during resolution, so that the caller need not read it again.
    internal CustomerProfile? Profile { get; init; }
}

/// <summary>Where an event belongs, as the engine needs it: the resolution itself only when identifiers were stitched or withheld.</summary>
/// <param name="CustomerId">The profile it belongs to.</param>
/// <param name="Profile">That profile as read during resolution (<see langword="null"/> for a new customer).</param>
/// <param name="Resolution">The full resolution, or <see langword="null"/> when nothing was merged or withheld.</param>
internal readonly record struct Routing(CustomerId CustomerId, CustomerProfile? Profile, IdentityResolution? Resolution)
{
    /// <summary>The resolution, made for the usual case in which none was needed.</summary>
    public IdentityResolution ToResolution() => Resolution ?? new IdentityResolution(CustomerId, [], []) { Profile = Profile };
}

/// <summary>The outcome of undoing a merge.</summary>
/// <param name="Survivor">The surviving profile as restored.</param>
/// <param name="Restored">The merged profile, restored to a profile of its own.</param>
/// <param name="Merge">The merge that was undone.</param>
public sealed record UnmergeResult(CustomerProfile Survivor, CustomerProfile Restored, ProfileMerge Merge);

/// <summary>
/// Identity resolution over the stores: follows merged profiles to their survivor, stitches profiles that share an
/// identifier by the <see cref="IdentityOptions"/> rules, merges on request, and undoes the last merge. Merges never widen
/// consent: each restriction the merged profile had (withdrawn, denied, objected) is appended to the survivor's ledger
/// unless the survivor is already as restrictive. Every write is guarded by the profiles' versions, so concurrent writers
/// (other processes included) never lose an update: a conflicting step is re-read and retried.
/// </summary>
/// <remarks>
/// A merge is written in two steps: first the merged profile becomes a redirect that keeps its own state, then the survivor
/// absorbs it and records the merge. If a process stops between the two, the next read of the redirect completes the merge.
/// </remarks>
public sealed class IdentityResolver
{
    private const int MaxAttempts = 8;
    private const int MaxRedirects = 32;
    private readonly IProfileStore _profiles;
    private readonly IEventStore _events;
    private readonly ConsentLedger _ledger;
    private readonly TimeProvider _time;
    private readonly IdentityOptions _rules;
    private readonly bool _caseOverrides;
    private readonly IDispatchStore? _dispatches;
    private readonly Households.IHouseholdStore? _households;
    private readonly IStoreTransactions _transactions;

    /// <summary>Creates the resolver.</summary>
    /// <param name="profiles">The profile store.</param>
    /// <param name="events">The event store (read to replay events when a merge is undone).</param>
    /// <param name="ledger">The consent ledger.</param>
    /// <param name="time">The clock.</param>
    /// <param name="options">The options (<see cref="EngagementOptions.Identity"/>).</param>
    /// <param name="dispatches">The dispatch log: an unmerge cancels the messages held for the survivor since the merge (decided on a picture of two people); none when <see langword="null"/>.</param>
    /// <param name="transactions">The storage's units of work: an unmerge writes both profiles, the consent it moves and the held messages it cancels in one (none when <see langword="null"/>).</param>
    /// <param name="households">The households: an identifier a household shares never merges its holders (none when <see langword="null"/>).</param>
    public IdentityResolver(IProfileStore profiles, IEventStore events, ConsentLedger ledger, TimeProvider time, IOptions<EngagementOptions> options, IDispatchStore? dispatches = null, IStoreTransactions? transactions = null, Households.IHouseholdStore? households = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _households = households;
        _dispatches = dispatches;
        _transactions = transactions ?? NoTransactions.Instance;
        _profiles = profiles ?? throw new ArgumentNullException(nameof(profiles));
        _events = events ?? throw new ArgumentNullException(nameof(events));
        _ledger = ledger ?? throw new ArgumentNullException(nameof(ledger));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _rules = options.Value.Identity;
        _caseOverrides = _rules.HasCaseOverrides;
    }

    /// <summary>The rules in force.</summary>
    public IdentityOptions Rules => _rules;

    /// <summary>What must follow merges the host asks for and unmerges (the engine's segments), or <see langword="null"/>.</summary>
    internal IMergeFollower? Follower { get; set; }

    /// <summary>
    /// The event with its identifiers (and its consent record's) compared by the configured rules: the same instance when
    /// no rule departs from its kind's default, as with the default options.
    /// </summary>
    internal EngagementEvent Normalise(EngagementEvent engagementEvent)
    {
        if (!_caseOverrides)
        {
            return engagementEvent;
        }

        var identifiers = _rules.Normalise(engagementEvent.Identifiers);
        if (!identifiers.Equals(engagementEvent.Identifiers))
        {
            engagementEvent = engagementEvent with { Identifiers = identifiers };
        }

        return engagementEvent is ConsentChanged { Record.Identifier: { } address } change && !ReferenceEquals(_rules.Normalise(address), address)
            ? change with { Record = change.Record with { Identifier = _rules.Normalise(address) } }
            : engagementEvent;
    }

    /// <summary>Loads the profile a customer id stands for, following merges to the survivor.</summary>
    /// <param name="customerId">Any id the customer was ever known by.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The live profile, or <see langword="null"/> when none exists.</returns>
    public async ValueTask<CustomerProfile?> GetAsync(CustomerId customerId, CancellationToken cancellationToken = default)
        => (await FollowAsync(customerId, cancellationToken).ConfigureAwait(false)).Profile;

    /// <summary>Finds the live profile that holds an identifier.</summary>
    /// <param name="identifier">The identifier (normalised on construction).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The profile, or <see langword="null"/>.</returns>
    public async ValueTask<CustomerProfile?> FindAsync(Identifier identifier, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        var owner = await _profiles.FindByIdentifierAsync(_rules.Normalise(identifier), cancellationToken).ConfigureAwait(false);
        return owner is { IsMerged: true } ? await GetAsync(owner.Id, cancellationToken).ConfigureAwait(false) : owner;
    }

    /// <summary>
    /// Resolves where an event or call belongs: follows <paramref name="customerId"/> to its survivor, then stitches each of
    /// <paramref name="identifiers"/> that another profile holds, when the identifier's kind merges on match and no exclusive
    /// identifier stands in the way. An anonymous profile merges into a known one; otherwise the named customer survives.
    /// </summary>
    /// <param name="customerId">The customer the event names.</param>
    /// <param name="identifiers">The identifiers it carries.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The profile the event belongs to, the merges performed, and the identifiers that were not stitched.</returns>
    public ValueTask<IdentityResolution> ResolveAsync(CustomerId customerId, ImmutableArray<Identifier> identifiers, CancellationToken cancellationToken = default)
    {
        ValueTask<Routing> route;
        try
        {
            route = RouteAsync(customerId, identifiers, cancellationToken);
        }
        catch (Exception ex)
        {
            // A store that fails at once fails the returned task, as from any asynchronous step.
            return ValueTask.FromException<IdentityResolution>(ex);
        }

        return route.IsCompletedSuccessfully ? new ValueTask<IdentityResolution>(route.Result.ToResolution()) : ResolveAfterAsync(route);

        static async ValueTask<IdentityResolution> ResolveAfterAsync(ValueTask<Routing> route) => (await route.ConfigureAwait(false)).ToResolution();
    }

    /// <summary>
    /// As <see cref="ResolveAsync"/>, for the engine: the usual case, where the store answers at once and the event brings no
    /// identifier that could stitch (none, or only ones the profile holds already), needs neither an asynchronous state
    /// machine nor a resolution object.
    /// </summary>
    internal ValueTask<Routing> RouteAsync(CustomerId customerId, ImmutableArray<Identifier> identifiers, CancellationToken cancellationToken)
    {
        var follow = FollowAsync(customerId, cancellationToken);
        if (!follow.IsCompletedSuccessfully)
        {
            return RouteAfterAsync(follow, identifiers, cancellationToken);
        }

        var (target, profile) = follow.Result;
        return NothingToStitch(profile, identifiers)
            ? new ValueTask<Routing>(new Routing(target, profile, null))
            : StitchAsync(target, profile, identifiers, cancellationToken);
    }

    private async ValueTask<Routing> RouteAfterAsync(ValueTask<(CustomerId Id, CustomerProfile? Profile)> follow, ImmutableArray<Identifier> identifiers, CancellationToken cancellationToken)
    {
        var (target, profile) = await follow.ConfigureAwait(false);
        return NothingToStitch(profile, identifiers)
            ? new Routing(target, profile, null)
            : await StitchAsync(target, profile, identifiers, cancellationToken).ConfigureAwait(false);
    }

    // Whether no identifier can stitch: each is held by the profile already or is of a kind that does not merge on match.
    private bool NothingToStitch(CustomerProfile? profile, ImmutableArray<Identifier> identifiers)
    {
        if (identifiers.IsDefaultOrEmpty)
        {
            return true;
        }

        foreach (var identifier in identifiers)
        {
            if (_rules.RuleFor(identifier.Kind).MergeOnMatch && (profile is null || !profile.Identifiers.Contains(identifier)))
            {
                return false;
            }
        }

        return true;
    }

    private async ValueTask<Routing> StitchAsync(CustomerId target, CustomerProfile? profile, ImmutableArray<Identifier> identifiers, CancellationToken cancellationToken)
    {
        ImmutableArray<ProfileMerge>.Builder? merges = null; // made only when needed: most events merge nothing
        ImmutableArray<IdentityConflict>.Builder? conflicts = null;
        foreach (var identifier in identifiers)
        {
            if (!_rules.RuleFor(identifier.Kind).MergeOnMatch || (profile is not null && profile.Identifiers.Contains(identifier)))
            {
                continue;
            }

            var owner = await FindAsync(identifier, cancellationToken).ConfigureAwait(false);
            if (owner is null || owner.Id == target)
            {
                continue;
            }

            if (_households is not null && await _households.FindByIdentifierAsync(identifier, cancellationToken).ConfigureAwait(false) is not null)
            {
                // A household shares it (a family's address): it identifies the household, not one person.
                continue;
            }

            var current = (profile ?? CustomerProfile.New(target)) with { Identifiers = Union(profile?.Identifiers ?? [], identifiers, identifier) };
            var blocking = _rules.ExclusiveConflicts(current, owner);
            if (!blocking.IsEmpty)
            {
                (conflicts ??= ImmutableArray.CreateBuilder<IdentityConflict>()).Add(new IdentityConflict(identifier, owner.Id, $"'{owner.Id}' holds {blocking[0].Right} and this customer presents {blocking[0].Left}: {blocking[0].Left.Kind} is exclusive, so they are two people"));
                continue;
            }

            // A known person survives an anonymous one; between equals, the customer the event names survives unless it is new.
            var ownerKnown = _rules.IsKnown(owner);
            var currentKnown = _rules.IsKnown(current);
            var ownerSurvives = ownerKnown != currentKnown ? ownerKnown : profile is null;
            var (survivorId, mergedId) = ownerSurvives ? (owner.Id, target) : (target, owner.Id);
            var merge = await MergeCoreAsync(survivorId, mergedId, MergeReason.SharedIdentifier, identifier, cancellationToken).ConfigureAwait(false);
            (merges ??= ImmutableArray.CreateBuilder<ProfileMerge>()).Add(merge.Merge);
            target = survivorId;
            profile = merge.Survivor;
        }

        return new Routing(target, profile, new IdentityResolution(target, merges?.ToImmutable() ?? [], conflicts?.ToImmutable() ?? []) { Profile = profile });
    }

    /// <summary>Merges <paramref name="mergedId"/> into <paramref name="survivorId"/> because the host knows they are one person.</summary>
    /// <param name="survivorId">The profile that survives.</param>
    /// <param name="mergedId">The profile merged into it (it becomes a redirect).</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The survivor after the merge.</returns>
    /// <exception cref="EngagementValidationException">The ids are equal, a profile is missing or already merged, or exclusive identifiers differ.</exception>
    public async ValueTask<CustomerProfile> MergeAsync(CustomerId survivorId, CustomerId mergedId, CancellationToken cancellationToken = default)
    {
        if (await _profiles.GetAsync(survivorId, cancellationToken).ConfigureAwait(false) is not { IsMerged: false })
        {
            throw new EngagementValidationException("survivorId", survivorId.Value, "must name an existing profile that was not merged into another");
        }

        if (await _profiles.GetAsync(mergedId, cancellationToken).ConfigureAwait(false) is not { IsMerged: false })
        {
            throw new EngagementValidationException("mergedId", mergedId.Value, "must name an existing profile that was not merged into another");
        }

        var survivor = (await MergeCoreAsync(survivorId, mergedId, MergeReason.Requested, null, cancellationToken).ConfigureAwait(false)).Survivor;
        if (Follower is { } follower)
        {
            var unit = _transactions.Begin();
            await using (unit.ConfigureAwait(false))
            {
                await unit.StartAsync(cancellationToken).ConfigureAwait(false);
                await unit.LockCustomerAsync(survivorId, cancellationToken).ConfigureAwait(false);
                await follower.OnMergedAsync(survivor, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
                await unit.CompleteAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        return survivor;
    }

    /// <summary>
    /// Undoes the survivor's most recent merge, as if it had never happened: the survivor returns to what it would be without
    /// it and the merged profile to a profile of its own, each with the identifiers, traits, aggregates and journey stages
    /// of the events addressed to its side (late ones and ones retention has purged since included: the states are kept up
    /// to date as events arrive, see <see cref="ProfileMerge.MergedState"/>). Consent stays where it was recorded, so each
    /// side's ledger decides for it again; a withdrawal or objection recorded during the merge for an address that goes back
    /// to the other side is copied to that side's ledger too (an opt-out is never lost). Messages held for the survivor since
    /// the merge are cancelled (they were decided for two people as one). Everything is written in one unit of work.
    /// </summary>
    /// <param name="survivorId">The surviving profile.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>Both profiles as restored, and the merge undone.</returns>
    /// <exception cref="EngagementValidationException">The profile does not exist, was merged into another, or has no merge to undo; nothing is written.</exception>
    public ValueTask<UnmergeResult> UnmergeAsync(CustomerId survivorId, CancellationToken cancellationToken = default)
        => UnmergeCoreAsync(survivorId, null, cancellationToken);

    /// <summary>As <see cref="UnmergeAsync(CustomerId, CancellationToken)"/>, for a named merge, which must be the survivor's latest.</summary>
    /// <param name="survivorId">The surviving profile.</param>
    /// <param name="mergeId">The merge to undo (<see cref="ProfileMerge.MergeId"/>).</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>Both profiles as restored, and the merge undone.</returns>
    /// <exception cref="EngagementValidationException">
    /// The merge never happened or was undone already, or later merges must be undone first (field <c>mergeId</c>); or the
    /// survivor is unknown or merged (field <c>survivorId</c>). Nothing is written.
    /// </exception>
    public ValueTask<UnmergeResult> UnmergeAsync(CustomerId survivorId, string mergeId, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(mergeId))
        {
            return ValueTask.FromException<UnmergeResult>(new EngagementValidationException("mergeId", mergeId, "must name a merge of the survivor"));
        }

        return UnmergeCoreAsync(survivorId, mergeId, cancellationToken);
    }

    private async ValueTask<UnmergeResult> UnmergeCoreAsync(CustomerId survivorId, string? mergeId, CancellationToken cancellationToken)
    {
        var unit = _transactions.Begin();
        await using (unit.ConfigureAwait(false))
        {
            await unit.StartAsync(cancellationToken).ConfigureAwait(false);
            await unit.LockCustomerAsync(survivorId, cancellationToken).ConfigureAwait(false);
            for (var attempt = 1; ; attempt++)
            {
                var (survivor, merge, stub, redirect) = await FindMergeToUndoAsync(survivorId, mergeId, cancellationToken).ConfigureAwait(false);
                await unit.LockCustomerAsync(merge.MergedId, cancellationToken).ConfigureAwait(false);
                var remaining = survivor.Merges.RemoveAt(survivor.Merges.Length - 1);
                CustomerProfile restoredSurvivor;
                CustomerProfile restored;
                if (merge.MergedState is { } mergedState)
                {
                    // Both sides were kept up to date as events arrived: restore them as they are.
                    restoredSurvivor = merge.SurvivorBefore with { Version = survivor.Version, Merges = remaining };
                    restored = mergedState with { Id = merge.MergedId, Version = stub.Version, MergedInto = null };
                }
                else
                {
                    (restoredSurvivor, restored) = await ReplayLegacyAsync(survivor, merge, remaining, stub, redirect, cancellationToken).ConfigureAwait(false);
                }

                CustomerProfile savedSurvivor;
                try
                {
                    // The survivor first: it releases the identifiers the merged profile then takes back.
                    savedSurvivor = await _profiles.SaveAsync(restoredSurvivor, cancellationToken).ConfigureAwait(false);
                }
                catch (ConcurrencyConflictException) when (attempt < MaxAttempts)
                {
                    continue; // nothing written yet: re-read and try again
                }

                var savedRestored = await _profiles.SaveAsync(restored, cancellationToken).ConfigureAwait(false);
                await KeepRestrictionsAsync(survivorId, savedSurvivor, merge.MergedId, savedRestored, merge, cancellationToken).ConfigureAwait(false);
                await CancelHeldSinceAsync(survivorId, merge, cancellationToken).ConfigureAwait(false);
                if (Follower is { } follower)
                {
                    await follower.OnUnmergedAsync(savedSurvivor, savedRestored, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
                }

                await unit.CompleteAsync(cancellationToken).ConfigureAwait(false);
                return new UnmergeResult(savedSurvivor, savedRestored, merge);
            }
        }
    }

    // The merge to undo and the redirect it left, or the typed error that says why there is none; nothing is written.
    private async ValueTask<(CustomerProfile Survivor, ProfileMerge Merge, CustomerProfile Stub, ProfileRedirect Redirect)> FindMergeToUndoAsync(CustomerId survivorId, string? mergeId, CancellationToken cancellationToken)
    {
        var survivor = await _profiles.GetAsync(survivorId, cancellationToken).ConfigureAwait(false);
        if (survivor is null || survivor.IsMerged)
        {
            throw new EngagementValidationException("survivorId", survivorId.Value, "must name an existing profile that was not merged into another");
        }

        if (survivor.Merges.IsEmpty)
        {
            throw mergeId is null
                ? new EngagementValidationException("survivorId", survivorId.Value, "the profile has no merge to undo")
                : new EngagementValidationException("mergeId", mergeId, $"'{survivorId}' has no such merge: it never happened, or it was undone already");
        }

        var merge = survivor.Merges[^1];
        if (mergeId is not null && merge.MergeId != mergeId)
        {
            var at = survivor.Merges.IndexOf(survivor.Merges.FirstOrDefault(m => m.MergeId == mergeId)!);
            throw at < 0
                ? new EngagementValidationException("mergeId", mergeId, $"'{survivorId}' has no such merge: it never happened, or it was undone already")
                : new EngagementValidationException("mergeId", mergeId, $"merges are undone newest first: undo {string.Join(", ", survivor.Merges.Skip(at + 1).Reverse().Select(m => "'" + m.MergeId + "'"))} before it");
        }

        var stub = await _profiles.GetAsync(merge.MergedId, cancellationToken).ConfigureAwait(false);
        if (stub?.MergedInto is not { } redirect || redirect.MergeId != merge.MergeId)
        {
            throw new EngagementValidationException("mergedId", merge.MergedId.Value, $"the merged profile no longer redirects to '{survivorId}' by merge '{merge.MergeId}'");
        }

        return (survivor, merge, stub, redirect);
    }

    // A merge recorded before the states were kept: each side at the merge, and the events addressed to it since replayed.
    private async ValueTask<(CustomerProfile Survivor, CustomerProfile Restored)> ReplayLegacyAsync(CustomerProfile survivor, ProfileMerge merge, ImmutableArray<ProfileMerge> remaining, CustomerProfile stub, ProfileRedirect redirect, CancellationToken cancellationToken)
    {
        var restoredSurvivor = merge.SurvivorBefore with { Version = survivor.Version, Merges = remaining };
        var restored = redirect.Before with { Version = stub.Version, MergedInto = null };

        // Each side gets back the events addressed to it since the merge, but not the other side's identifiers.
        var theirs = redirect.Before.Identifiers.Except(merge.SurvivorBefore.Identifiers).ToHashSet();
        var ours = merge.SurvivorBefore.Identifiers.Except(redirect.Before.Identifiers).ToHashSet();
        restoredSurvivor = await ReplayAsync(restoredSurvivor, [survivor.Id, .. remaining.Select(m => m.MergedId)], merge.At, theirs, cancellationToken).ConfigureAwait(false);
        restored = await ReplayAsync(restored, [merge.MergedId, .. redirect.Before.Merges.Select(m => m.MergedId)], merge.At, ours, cancellationToken).ConfigureAwait(false);
        return (restoredSurvivor, restored);
    }

    // Consent stays in the ledger it was recorded in. A withdrawal, denial or objection recorded during the merge for an
    // address that now belongs to the other side is copied to that side's ledger, so that no opt-out of an address is lost.
    private async ValueTask KeepRestrictionsAsync(CustomerId survivorId, CustomerProfile survivor, CustomerId mergedId, CustomerProfile restored, ProfileMerge merge, CancellationToken cancellationToken)
    {
        await CopyAsync(survivorId, restored, cancellationToken).ConfigureAwait(false);
        await CopyAsync(mergedId, survivor, cancellationToken).ConfigureAwait(false);

        async ValueTask CopyAsync(CustomerId from, CustomerProfile to, CancellationToken ct)
        {
            foreach (var record in await _ledger.ReadRecordsAsync(from, ct).ConfigureAwait(false))
            {
                if (!record.IsRestrictive || record.Identifier is not { } address || !to.Identifiers.Contains(address)
                    || (record.RecordedAt ?? record.EffectiveAt) < merge.At || record.Status == Consent.ConsentStatus.PendingConfirmation)
                {
                    continue;
                }

                var recordId = "unmerge-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(merge.MergeId + "\u0001" + record.RecordId)).AsSpan(0, 12));
                await _ledger.RecordAsync(record with { RecordId = recordId, CustomerId = to.Id, Source = "unmerge:" + merge.MergeId, ExpiresAt = null, RecordedAt = null }, ct).ConfigureAwait(false);
            }
        }
    }

    // Messages held for the survivor since the merge were decided for two people as one: they are cancelled, not released.
    private async ValueTask CancelHeldSinceAsync(CustomerId survivorId, ProfileMerge merge, CancellationToken cancellationToken)
    {
        if (_dispatches is null)
        {
            return;
        }

        var now = _time.GetUtcNow();
        foreach (var held in await _dispatches.ListAsync(survivorId, merge.At, cancellationToken).ConfigureAwait(false))
        {
            if (held.Status == DispatchStatus.Held)
            {
                await _dispatches.TryUpdateAsync(held with { Status = DispatchStatus.Cancelled, Error = UnmergedReason + ": decided while merged with '" + merge.MergedId.Value + "' by merge '" + merge.MergeId + "', which was undone", CompletedAt = now }, DispatchStatus.Held, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The reason a held message is cancelled with when the merge it was decided under is undone.</summary>
    public const string UnmergedReason = "unmerged";

    /// <summary>
    /// Reads every event of a customer across the ids merged into it, oldest first: the events are stored under the id each
    /// was sent with.
    /// </summary>
    /// <param name="customerId">The customer (any id it was known by).</param>
    /// <param name="from">The inclusive start, or <see langword="null"/>.</param>
    /// <param name="to">The exclusive end, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The events in time order (ties by event id).</returns>
    public async IAsyncEnumerable<EngagementEvent> ReadEventsAsync(CustomerId customerId, DateTimeOffset? from = null, DateTimeOffset? to = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (target, profile) = await FollowAsync(customerId, cancellationToken).ConfigureAwait(false);
        var ids = new List<CustomerId> { target };
        if (profile is not null)
        {
            await CollectMergedIdsAsync(profile, ids, cancellationToken).ConfigureAwait(false);
        }

        var events = new List<EngagementEvent>();
        foreach (var id in ids)
        {
            await foreach (var e in _events.ReadAsync(id, from, to, cancellationToken).ConfigureAwait(false))
            {
                events.Add(e);
            }
        }

        events.Sort(static (a, b) => a.Timestamp != b.Timestamp ? a.Timestamp.CompareTo(b.Timestamp) : string.CompareOrdinal(a.EventId, b.EventId));
        foreach (var e in events)
        {
            yield return e;
        }
    }

    /// <summary>
    /// Counts a person's events that match <paramref name="predicate"/> in the window ending at <paramref name="now"/>, across
    /// every id merged into them: "viewed this product three times in seven days", whichever ids the views were sent with.
    /// </summary>
    /// <param name="customerId">The customer (any id it was known by).</param>
    /// <param name="predicate">Which events count.</param>
    /// <param name="window">How far back to look.</param>
    /// <param name="now">The end of the window (exclusive).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The count.</returns>
    public async ValueTask<int> CountEventsAsync(CustomerId customerId, Func<EngagementEvent, bool> predicate, TimeSpan window, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        var count = 0;
        await foreach (var e in ReadEventsAsync(customerId, now - window, now, cancellationToken).ConfigureAwait(false))
        {
            if (predicate(e))
            {
                count++;
            }
        }

        return count;
    }

    private async ValueTask CollectMergedIdsAsync(CustomerProfile profile, List<CustomerId> ids, CancellationToken cancellationToken)
    {
        foreach (var merge in profile.Merges)
        {
            if (ids.Contains(merge.MergedId))
            {
                continue;
            }

            ids.Add(merge.MergedId);
            if (await _profiles.GetAsync(merge.MergedId, cancellationToken).ConfigureAwait(false) is { MergedInto: { } redirect })
            {
                await CollectMergedIdsAsync(redirect.Before, ids, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    // The usual case, a profile that is no redirect read at once, needs no asynchronous state machine.
    private ValueTask<(CustomerId Id, CustomerProfile? Profile)> FollowAsync(CustomerId customerId, CancellationToken cancellationToken)
    {
        var read = _profiles.GetAsync(customerId, cancellationToken);
        if (!read.IsCompletedSuccessfully)
        {
            return FollowFromAsync(customerId, read, cancellationToken);
        }

        var profile = read.Result;
        return profile?.MergedInto is null
            ? new ValueTask<(CustomerId, CustomerProfile?)>((customerId, profile))
            : FollowFromAsync(customerId, new ValueTask<CustomerProfile?>(profile), cancellationToken);
    }

    // Follows redirects from the read of the first id (under way or done).
    private async ValueTask<(CustomerId Id, CustomerProfile? Profile)> FollowFromAsync(CustomerId customerId, ValueTask<CustomerProfile?> first, CancellationToken cancellationToken)
    {
        var id = customerId;
        for (var hop = 0; hop < MaxRedirects; hop++)
        {
            var profile = await (hop == 0 ? first : _profiles.GetAsync(id, cancellationToken)).ConfigureAwait(false);
            if (profile?.MergedInto is not { } redirect)
            {
                return (id, profile);
            }

            await CompleteAsync(profile, redirect, null, MergeReason.Requested, [], cancellationToken).ConfigureAwait(false);
            id = redirect.SurvivorId;
        }

        throw new EngagementValidationException("customerId", customerId.Value, $"more than {MaxRedirects} merges chain from this id; the merge history is inconsistent");
    }

    private async ValueTask<(CustomerProfile Survivor, ProfileMerge Merge)> MergeCoreAsync(CustomerId survivorId, CustomerId mergedId, MergeReason reason, Identifier? matchedOn, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var merged = await _profiles.GetAsync(mergedId, cancellationToken).ConfigureAwait(false) ?? CustomerProfile.New(mergedId);
            if (merged.MergedInto is { } existing)
            {
                if (existing.SurvivorId != survivorId)
                {
                    throw new EngagementValidationException("mergedId", mergedId.Value, $"the profile was already merged into '{existing.SurvivorId}'");
                }

                return await CompleteAsync(merged, existing, matchedOn, reason, [], cancellationToken).ConfigureAwait(false);
            }

            var survivor = await _profiles.GetAsync(survivorId, cancellationToken).ConfigureAwait(false) ?? CustomerProfile.New(survivorId);
            ProfileMerger.Combine(survivor, merged, _rules); // validates before anything is written
            var at = _time.GetUtcNow();
            var mergeId = ProfileMerger.MergeIdFor(survivorId, merged);
            var redirect = new ProfileRedirect(survivorId, mergeId, at, merged with { Version = 0 });
            CustomerProfile stub;
            try
            {
                stub = await _profiles.SaveAsync(new CustomerProfile { Id = mergedId, Version = merged.Version, MergedInto = redirect }, cancellationToken).ConfigureAwait(false);
            }
            catch (ConcurrencyConflictException) when (attempt < MaxAttempts)
            {
                continue;
            }

            return await CompleteAsync(stub, redirect, matchedOn, reason, [], cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask<(CustomerProfile Survivor, ProfileMerge Merge)> CompleteAsync(CustomerProfile stub, ProfileRedirect redirect, Identifier? matchedOn, MergeReason reason, ImmutableArray<string> carried, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var survivor = await _profiles.GetAsync(redirect.SurvivorId, cancellationToken).ConfigureAwait(false) ?? CustomerProfile.New(redirect.SurvivorId);
            foreach (var done in survivor.MergedInto?.Before.Merges ?? survivor.Merges)
            {
                // Completed (and, when the survivor was merged on into a third profile since, carried there with it).
                if (done.MergeId == redirect.MergeId)
                {
                    return (survivor, done);
                }
            }

            CustomerProfile combined;
            try
            {
                combined = ProfileMerger.Combine(survivor, redirect.Before, _rules);
            }
            catch (EngagementValidationException)
            {
                // The survivor changed so that the merge is no longer allowed: give the merged profile its state back.
                await _profiles.SaveAsync(redirect.Before with { Version = stub.Version }, cancellationToken).ConfigureAwait(false);
                throw;
            }

            var merge = new ProfileMerge
            {
                MergeId = redirect.MergeId,
                SurvivorId = redirect.SurvivorId,
                MergedId = stub.Id,
                At = redirect.At,
                Reason = reason,
                MatchedOn = matchedOn,
                SurvivorBefore = survivor with { Version = 0, Merges = [] },
                MergedState = redirect.Before,
                CarriedConsentRecordIds = carried,
            };
            // Whether the person objects to profiling is what their ledgers, read as one person's, say (as after any consent change).
            var merged = await _ledger.WithProfilingAsync(combined with { Merges = survivor.Merges.Add(merge) }, cancellationToken).ConfigureAwait(false);
            try
            {
                var saved = await _profiles.SaveAsync(merged, cancellationToken).ConfigureAwait(false);
                return (saved, merged.Merges[^1]);
            }
            catch (ConcurrencyConflictException) when (attempt < MaxAttempts)
            {
                // Another writer updated the survivor: merge into its new state.
            }
        }
    }

    private async ValueTask<CustomerProfile> ReplayAsync(CustomerProfile profile, IReadOnlyList<CustomerId> ids, DateTimeOffset since, HashSet<Identifier> withheld, CancellationToken cancellationToken)
    {
        var events = new List<EngagementEvent>();
        foreach (var id in ids)
        {
            await foreach (var e in _events.ReadAsync(id, since, null, cancellationToken).ConfigureAwait(false))
            {
                events.Add(e);
            }
        }

        events.Sort(static (a, b) => a.Timestamp != b.Timestamp ? a.Timestamp.CompareTo(b.Timestamp) : string.CompareOrdinal(a.EventId, b.EventId));
        foreach (var e in events)
        {
            try
            {
                profile = ProfileUpdater.ApplyTo(profile, e, withheld);
            }
            catch (EngagementValidationException)
            {
                // An event that no longer applies on its own (a refund of an order the other profile holds) is skipped.
            }
        }

        return profile;
    }

    private static ImmutableArray<Identifier> Union(ImmutableArray<Identifier> held, ImmutableArray<Identifier> presented, Identifier upTo)
    {
        var builder = held.ToBuilder();
        foreach (var identifier in presented)
        {
            if (identifier == upTo)
            {
                break;
            }

            if (!builder.Contains(identifier))
            {
                builder.Add(identifier);
            }
        }

        return builder.ToImmutable();
    }
}
