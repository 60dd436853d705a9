using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using Engagement.Sdk.Conditions;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Segments;

/// <summary>
/// The segments' step of the engine: after an event has updated the profile and the journeys (or when a customer's segment
/// timer falls due), loads the customer's segment record, folds in profiles merged into theirs, counts the event, evaluates every
/// segment from that state alone (the event store is never read), stores the new membership with the entries and exits, and
/// runs the segment events (<c>&lt;name&gt;-entered</c>, <c>&lt;name&gt;-exited</c>) through the journeys. Segment events never
/// make the segments evaluate again (a segment may not count them), so nothing loops. Runs under the customer's lock, in the
/// unit of work of the event or of the sweep.
/// </summary>
public sealed class SegmentOrchestrator : IMergeFollower
{
    private readonly JourneyOrchestrator? _journeys;
    private readonly IJourneyStore? _journeyStore;
    private readonly ConsentLedger? _ledger;

    /// <summary>Creates the orchestrator.</summary>
    /// <param name="catalog">The segments.</param>
    /// <param name="store">Where the segments' state, members and history are kept.</param>
    /// <param name="journeys">The journeys the segment events are run through (none: they are only recorded).</param>
    /// <param name="ledger">The consent ledger, for consent conditions.</param>
    public SegmentOrchestrator(SegmentCatalog catalog, ISegmentStore store, JourneyOrchestrator? journeys = null, ConsentLedger? ledger = null)
    {
        Catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        Store = store ?? throw new ArgumentNullException(nameof(store));
        _journeys = journeys;
        _journeyStore = journeys?.Store;
        _ledger = ledger;
    }

    /// <summary>The segments.</summary>
    public SegmentCatalog Catalog { get; }

    /// <summary>The store.</summary>
    public ISegmentStore Store { get; }

    /// <summary>Evaluates the customer's segments after <paramref name="engagementEvent"/> was applied to the profile and the journeys.</summary>
    /// <param name="profile">The customer's profile, saved with the event (the survivor, after a merge).</param>
    /// <param name="engagementEvent">The event.</param>
    /// <param name="now">The clock's instant.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The entries and exits, and what the journeys did with their events.</returns>
    public ValueTask<SegmentOutcome> OnEventAsync(CustomerProfile profile, EngagementEvent engagementEvent, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engagementEvent);
        return Catalog.IsEmpty ? new ValueTask<SegmentOutcome>(SegmentOutcome.None) : RunAsync(profile, engagementEvent, now, cancellationToken);
    }

    /// <summary>Evaluates a customer whose segment timer fell due (a counted event left its window).</summary>
    /// <param name="profile">The customer's profile.</param>
    /// <param name="now">The clock's instant.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The entries and exits, and what the journeys did with their events.</returns>
    public ValueTask<SegmentOutcome> OnTimeAsync(CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default)
        => Catalog.IsEmpty ? new ValueTask<SegmentOutcome>(SegmentOutcome.None) : RunAsync(profile, null, now, cancellationToken);

    /// <summary>Evaluates a customer whose journey stage moved with time, when a segment tests stages.</summary>
    /// <param name="profile">The customer's profile.</param>
    /// <param name="now">The clock's instant.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The entries and exits, and what the journeys did with their events.</returns>
    internal ValueTask<SegmentOutcome> OnStagesMovedAsync(CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default)
        => Catalog.UsesStages ? RunAsync(profile, null, now, cancellationToken) : new ValueTask<SegmentOutcome>(SegmentOutcome.None);

    /// <summary>Lists customers whose segment timers are due.</summary>
    /// <param name="now">The instant.</param>
    /// <param name="max">The most to list.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The customers, earliest due first.</returns>
    public ValueTask<IReadOnlyList<CustomerId>> ListDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken = default)
        => Catalog.IsEmpty ? new ValueTask<IReadOnlyList<CustomerId>>(Array.Empty<CustomerId>()) : Store.ListDueAsync(now, max, cancellationToken);

    /// <summary>
    /// After a merge the host asked for: the survivor's segments fold in the merged side's counters and are evaluated with both
    /// sides' (the merged profile leaves its segments), as at the survivor's next event.
    /// </summary>
    ValueTask IMergeFollower.OnMergedAsync(CustomerProfile survivor, DateTimeOffset now, CancellationToken cancellationToken)
        => Catalog.IsEmpty ? ValueTask.CompletedTask : IgnoreAsync(RunAsync(survivor, null, now, cancellationToken, "merge"));

    /// <summary>
    /// After an unmerge, in its unit of work: the counters of the ids that go back to the restored profile leave the survivor's
    /// record for the restored profile's, each side exactly as it would be had the merge never happened, and both sides'
    /// segments are evaluated again (entries and exits recorded with the reason <c>unmerge</c> and run through the journeys).
    /// </summary>
    async ValueTask IMergeFollower.OnUnmergedAsync(CustomerProfile survivor, CustomerProfile restored, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (Catalog.IsEmpty)
        {
            return;
        }

        var record = await Store.GetAsync(survivor.Id, cancellationToken).ConfigureAwait(false);
        var shares = record is null || record.Shares.IsDefault ? [] : record.Shares;
        if (record is not null && record.MergesFolded > survivor.Merges.Length && (!shares.IsEmpty || record.Windows.IsEmpty))
        {
            var theirs = new HashSet<CustomerId>();
            MergeShadows.CollectIds(restored, theirs);
            var kept = ImmutableArray.CreateBuilder<SegmentCounters>();
            var moved = ImmutableArray.CreateBuilder<SegmentCounters>();
            foreach (var share in shares)
            {
                (theirs.Contains(share.CustomerId) ? moved : kept).Add(share);
            }

            var ours = kept.ToImmutable();
            await Store.SaveAsync(record with { Shares = survivor.Merges.IsDefaultOrEmpty ? [] : ours, Windows = Sum(ours), MergesFolded = survivor.Merges.Length }, [], cancellationToken).ConfigureAwait(false);
            var back = moved.ToImmutable();
            var mergedRecord = await Store.GetAsync(restored.Id, cancellationToken).ConfigureAwait(false) ?? new SegmentRecord { CustomerId = restored.Id };
            await Store.SaveAsync(mergedRecord with { Shares = restored.Merges.IsDefaultOrEmpty ? [] : back, Windows = Sum(back), MergesFolded = restored.Merges.Length, DueAt = null }, [], cancellationToken).ConfigureAwait(false);
        }

        await RunAsync(survivor, null, now, cancellationToken, "unmerge").ConfigureAwait(false);
        await RunAsync(restored, null, now, cancellationToken, "unmerge").ConfigureAwait(false);
    }

    private static async ValueTask IgnoreAsync(ValueTask<SegmentOutcome> outcome) => await outcome.ConfigureAwait(false);

    private async ValueTask<SegmentOutcome> RunAsync(CustomerProfile profile, EngagementEvent? engagementEvent, DateTimeOffset now, CancellationToken cancellationToken, string? cause = null)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var record = await Store.GetAsync(profile.Id, cancellationToken).ConfigureAwait(false);
        var merges = profile.Merges;
        if (record is null && engagementEvent is null && (cause is null || merges.IsDefaultOrEmpty))
        {
            return SegmentOutcome.None;
        }

        var at = engagementEvent is null ? now : Min(engagementEvent.Timestamp, now);
        var reason = engagementEvent is null ? cause ?? "time" : ConditionSchema.EventKey(engagementEvent);
        var changed = record is null;
        var windows = record is null ? new EventWindows(Catalog.Layout)
            : record.Windows.Layout == Catalog.Layout ? record.Windows : record.Windows.Rebind(Catalog.Layout);
        var shared = record is not null && ReferenceEquals(windows, record.Windows);
        var mergesFolded = record?.MergesFolded ?? 0;
        var members = record?.Members ?? [];
        var shares = record is null || record.Shares.IsDefault ? [] : record.Shares;

        if (merges.Length < mergesFolded)
        {
            // A merge was undone with no split of the counters (OnUnmergedAsync does it): the ids no longer held lose theirs here.
            mergesFolded = merges.Length;
            shares = Held(profile, shares);
            changed = true;
        }

        // While profiles are merged into this one, the counters are kept per id (Shares) and Windows is their sum; a customer with
        // no merge keeps its own in Windows. A record from before the shares were kept counts everything as the survivor's.
        var byId = !merges.IsDefaultOrEmpty;
        if (byId && shares.IsEmpty && !windows.IsEmpty)
        {
            shares = [new SegmentCounters(profile.Id, windows)];
        }

        // Profiles merged into this one since the last evaluation: their counters are added (by id) and their memberships end
        // (the person is the survivor now).
        if (mergesFolded < merges.Length)
        {
            var collected = new List<SegmentCounters>(shares.Length + 2);
            collected.AddRange(shares);
            for (var i = mergesFolded; i < merges.Length; i++)
            {
                if (merges[i].MergedId != profile.Id)
                {
                    await CollectAsync(merges[i].MergedState ?? CustomerProfile.New(merges[i].MergedId), merges[i].At, profile.Id, collected, cancellationToken).ConfigureAwait(false);
                }
            }

            shares = [.. collected];
            mergesFolded = merges.Length;
            changed = true;
        }

        if (engagementEvent is not null && Catalog.Layout.SlotOf(ConditionSchema.EventKey(engagementEvent)) >= 0)
        {
            if (byId)
            {
                // Counted under the id it was addressed to (the survivor's own when it names no merged id), unless that side objects.
                var owner = MergeShadows.Holds(profile, engagementEvent.CustomerId) ? engagementEvent.CustomerId : profile.Id;
                if (!SideObjects(profile, owner))
                {
                    var index = IndexOf(shares, owner);
                    var own = index < 0 ? new EventWindows(Catalog.Layout) : Bind(shares[index].Windows).Clone();
                    changed |= own.Record(engagementEvent, now.UtcTicks);
                    shares = index < 0 ? shares.Add(new SegmentCounters(owner, own)) : shares.SetItem(index, new SegmentCounters(owner, own));
                }
            }
            else if (profile.ProfilingObjectedAt is null)
            {
                if (shared)
                {
                    windows = windows.Clone();
                    shared = false;
                }

                changed |= windows.Record(engagementEvent, now.UtcTicks);
            }
        }

        if (profile.ProfilingObjectedAt is not null)
        {
            // Segments are profiling: a customer who objects leaves every segment and no counter is kept for them (while merged,
            // the counters of a side that does not object on its own are kept, unused, for an unmerge).
            var kept = shares.IsEmpty ? shares : shares.RemoveAll(s => SideObjects(profile, s.CustomerId));
            changed |= kept.Length != shares.Length;
            if (record is null ? kept.IsEmpty : !changed && members.IsEmpty && record.Windows.IsEmpty && record.DueAt is null)
            {
                return SegmentOutcome.None;
            }

            return await SaveAsync(profile, record ?? new SegmentRecord { CustomerId = profile.Id }, [], EventWindows.None, null, mergesFolded, byId ? kept : [], Exits(profile.Id, members, at, "objection to profiling"), now, cancellationToken).ConfigureAwait(false);
        }

        if (byId || !shares.IsEmpty)
        {
            // The sum of the ids' counters; when the last merge was undone, the one id left keeps them as its own.
            windows = Sum(shares);
            if (!byId)
            {
                shares = [];
                changed = true;
            }
        }

        var stageKeys = Catalog.UsesStages ? await StageKeysAsync(profile.Id, cancellationToken).ConfigureAwait(false) : [];
        var consent = await ConsentAsync(profile, now, cancellationToken).ConfigureAwait(false);
        var context = new ConditionContext(profile, windows, stageKeys, consent, now.UtcTicks);
        List<SegmentChange>? changes = null;
        ImmutableArray<SegmentMembership>.Builder? next = null;
        var due = long.MaxValue;
        foreach (var member in members)
        {
            if (Catalog.IndexOf(member.Segment) < 0)
            {
                // A segment no longer registered: its members leave it (the segments still registered are kept below).
                next ??= ImmutableArray.CreateBuilder<SegmentMembership>(members.Length);
                (changes ??= []).Add(new SegmentChange { CustomerId = profile.Id, Segment = member.Segment, Kind = SegmentChangeKind.Exited, At = at, Reason = "the segment is no longer registered" });
            }
        }

        for (var s = 0; s < Catalog.Compiled.Length; s++)
        {
            var condition = Catalog.Compiled[s];
            var name = Catalog.Segments[s].Name;
            var holds = condition.Evaluate(context);
            var was = IndexOf(members, name);
            due = Math.Min(due, condition.NextChange(context));
            if (holds == was >= 0)
            {
                if (holds)
                {
                    next?.Add(members[was]);
                }

                continue;
            }

            if (next is null)
            {
                next = ImmutableArray.CreateBuilder<SegmentMembership>(members.Length + 1);
                for (var p = 0; p < s; p++)
                {
                    if (IndexOf(members, Catalog.Segments[p].Name) is var kept and >= 0)
                    {
                        next.Add(members[kept]);
                    }
                }
            }

            if (holds)
            {
                next.Add(new SegmentMembership(name, at));
            }

            (changes ??= []).Add(new SegmentChange { CustomerId = profile.Id, Segment = name, Kind = holds ? SegmentChangeKind.Entered : SegmentChangeKind.Exited, At = at, Reason = reason });
        }

        DateTimeOffset? dueAt = due == long.MaxValue ? null : new DateTimeOffset(due, TimeSpan.Zero);
        if (!changed && changes is null && dueAt == record!.DueAt && mergesFolded == record.MergesFolded)
        {
            return SegmentOutcome.None;
        }

        return await SaveAsync(profile, record ?? new SegmentRecord { CustomerId = profile.Id }, next is null ? members : next.ToImmutable(), windows, dueAt, mergesFolded, shares, changes ?? [], now, cancellationToken).ConfigureAwait(false);
    }

    // The counters of a side merged in, by id: its record's (its shares, or its counters as its own id's) and those of the
    // profiles merged into it that its record had not folded yet. Its memberships end: the person is the survivor now.
    private async ValueTask CollectAsync(CustomerProfile side, DateTimeOffset at, CustomerId survivorId, List<SegmentCounters> into, CancellationToken cancellationToken)
    {
        var record = await Store.GetAsync(side.Id, cancellationToken).ConfigureAwait(false);
        var folded = 0;
        if (record is not null)
        {
            if (!record.Shares.IsDefaultOrEmpty)
            {
                into.AddRange(record.Shares);
            }
            else if (!record.Windows.IsEmpty)
            {
                into.Add(new SegmentCounters(side.Id, record.Windows));
            }

            folded = Math.Min(record.MergesFolded, side.Merges.Length);
            if (!record.Members.IsEmpty || record.DueAt is not null)
            {
                await Store.SaveAsync(record with { Members = [], DueAt = null }, Exits(side.Id, record.Members, at, "merged into " + survivorId.Value), cancellationToken).ConfigureAwait(false);
            }
        }

        for (var j = folded; j < side.Merges.Length; j++)
        {
            var merge = side.Merges[j];
            await CollectAsync(merge.MergedState ?? CustomerProfile.New(merge.MergedId), at, survivorId, into, cancellationToken).ConfigureAwait(false);
        }
    }

    // Whether the side an id belongs to objects to profiling on its own (as it would, unmerged): found down the merges the way
    // the states an unmerge restores are kept (MergeShadows).
    private static bool SideObjects(CustomerProfile profile, CustomerId id)
    {
        while (true)
        {
            if (profile.ProfilingObjectedAt is null)
            {
                return false;
            }

            var merges = profile.Merges;
            if (merges.IsDefaultOrEmpty || merges[^1].MergedState is not { } merged)
            {
                return true;
            }

            profile = MergeShadows.Holds(merged, id) ? merged : merges[^1].SurvivorBefore with { Merges = merges.RemoveAt(merges.Length - 1) };
        }
    }

    // The shares of the ids the profile still holds.
    private static ImmutableArray<SegmentCounters> Held(CustomerProfile profile, ImmutableArray<SegmentCounters> shares)
    {
        if (shares.IsEmpty)
        {
            return shares;
        }

        var ids = new HashSet<CustomerId>();
        MergeShadows.CollectIds(profile, ids);
        return shares.RemoveAll(s => !ids.Contains(s.CustomerId));
    }

    private EventWindows Bind(EventWindows windows) => windows.Layout == Catalog.Layout ? windows : windows.Rebind(Catalog.Layout);

    // The sum of the ids' counters.
    private EventWindows Sum(ImmutableArray<SegmentCounters> shares)
    {
        var sum = new EventWindows(Catalog.Layout);
        foreach (var share in shares)
        {
            sum.MergeFrom(Bind(share.Windows));
        }

        return sum;
    }

    private static int IndexOf(ImmutableArray<SegmentCounters> shares, CustomerId id)
    {
        for (var i = 0; i < shares.Length; i++)
        {
            if (shares[i].CustomerId == id)
            {
                return i;
            }
        }

        return -1;
    }

    private async ValueTask<SegmentOutcome> SaveAsync(CustomerProfile profile, SegmentRecord record, ImmutableArray<SegmentMembership> members, EventWindows windows, DateTimeOffset? dueAt, int mergesFolded, ImmutableArray<SegmentCounters> shares, List<SegmentChange> changes, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await Store.SaveAsync(record with { Members = members, Windows = windows, DueAt = dueAt, MergesFolded = mergesFolded, Shares = shares }, changes, cancellationToken).ConfigureAwait(false);
        if (changes.Count == 0)
        {
            return SegmentOutcome.None;
        }

        var changed = ImmutableArray.CreateRange(changes);
        if (_journeys is null || profile.ProfilingObjectedAt is not null)
        {
            return new SegmentOutcome(changed, JourneyOutcome.None);
        }

        // Each entry and exit is an event the journeys react to, in order; the segments do not see it (no loop).
        var transitions = ImmutableArray.CreateBuilder<StageTransition>();
        var history = ImmutableArray.CreateBuilder<JourneyHistoryEntry>();
        for (var i = 0; i < changes.Count; i++)
        {
            var journeys = await _journeys.OnEventAsync(profile, EventOf(changes[i]), now, null, cancellationToken).ConfigureAwait(false);
            transitions.AddRange(journeys.Transitions);
            history.AddRange(journeys.History);
        }

        return new SegmentOutcome(changed, transitions.Count == 0 && history.Count == 0 ? JourneyOutcome.None : new JourneyOutcome(transitions.ToImmutable(), history.ToImmutable()));
    }

    /// <summary>
    /// The custom event an entry or exit is emitted as: named <c>&lt;segment&gt;-entered</c> or <c>&lt;segment&gt;-exited</c>,
    /// with the property <c>segment</c>, at the change's instant, with an id derived from the change (the same change, run
    /// again, has the same id).
    /// </summary>
    /// <param name="change">The change.</param>
    /// <returns>The event.</returns>
    public static CustomEvent EventOf(SegmentChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        var kind = change.Kind == SegmentChangeKind.Entered ? "entered" : "exited";
        var key = string.Join('\n', change.CustomerId.Value, change.Segment, kind, change.At.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return new CustomEvent
        {
            EventId = "segment-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)).AsSpan(0, 16)),
            CustomerId = change.CustomerId,
            Timestamp = change.At,
            Name = change.Segment + "-" + kind,
            Properties = ImmutableDictionary<string, TraitValue>.Empty.Add("segment", TraitValue.Of(change.Segment)),
        };
    }

    private static List<SegmentChange> Exits(CustomerId customerId, ImmutableArray<SegmentMembership> members, DateTimeOffset at, string reason)
    {
        var exits = new List<SegmentChange>(members.Length);
        foreach (var member in members)
        {
            exits.Add(new SegmentChange { CustomerId = customerId, Segment = member.Segment, Kind = SegmentChangeKind.Exited, At = at, Reason = reason });
        }

        return exits;
    }

    private async ValueTask<short[]> StageKeysAsync(CustomerId customerId, CancellationToken cancellationToken)
    {
        var journeys = Catalog.Journeys;
        var keys = new short[journeys.Compiled.Length];
        Array.Fill(keys, (short)-1);
        if (_journeyStore is null || await _journeyStore.GetAsync(customerId, cancellationToken).ConfigureAwait(false) is not { } record)
        {
            return keys;
        }

        foreach (var track in record.Tracks)
        {
            var j = journeys.IndexOf(track.JourneyId);
            if (j >= 0 && track.IsInJourney && journeys.Compiled[j].Versions.TryGetValue(track.Version, out var version) && track.StageIndex < version.Stages.Length)
            {
                keys[j] = version.Stages[track.StageIndex].Key;
            }
        }

        return keys;
    }

    private async ValueTask<ulong> ConsentAsync(CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (Catalog.ConsentFacts.Count == 0 || _ledger is null)
        {
            return 0;
        }

        var state = await _ledger.GetStateAsync(profile.Id, cancellationToken).ConfigureAwait(false);
        ulong facts = 0;
        for (var i = 0; i < Catalog.ConsentFacts.Count; i++)
        {
            if (ConditionSet.ConsentFact(profile, state, Catalog.ConsentFacts[i].Channel, Catalog.ConsentFacts[i].Purpose, now))
            {
                facts |= 1UL << i;
            }
        }

        return facts;
    }

    private static int IndexOf(ImmutableArray<SegmentMembership> members, string segment)
    {
        for (var i = 0; i < members.Length; i++)
        {
            if (string.Equals(members[i].Segment, segment, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a <= b ? a : b;
}
