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
public sealed class SegmentOrchestrator
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

    private async ValueTask<SegmentOutcome> RunAsync(CustomerProfile profile, EngagementEvent? engagementEvent, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var record = await Store.GetAsync(profile.Id, cancellationToken).ConfigureAwait(false);
        if (record is null && engagementEvent is null)
        {
            return SegmentOutcome.None;
        }

        var at = engagementEvent is null ? now : Min(engagementEvent.Timestamp, now);
        var reason = engagementEvent is null ? "time" : ConditionSchema.EventKey(engagementEvent);
        var changed = record is null;
        var windows = record is null ? new EventWindows(Catalog.Layout)
            : record.Windows.Layout == Catalog.Layout ? record.Windows : record.Windows.Rebind(Catalog.Layout);
        var shared = record is not null && ReferenceEquals(windows, record.Windows);
        var mergesFolded = record?.MergesFolded ?? 0;
        var members = record?.Members ?? [];

        if (profile.ProfilingObjectedAt is not null)
        {
            // Segments are profiling: a customer who objects leaves every segment and no counter is kept for them.
            return record is null || (members.IsEmpty && record.Windows.IsEmpty)
                ? SegmentOutcome.None
                : await SaveAsync(profile, record, [], EventWindows.None, null, profile.Merges.Length, Exits(profile.Id, members, at, "objection to profiling"), now, cancellationToken).ConfigureAwait(false);
        }

        // Profiles merged into this one since the last evaluation: their counters are added and their memberships end (the
        // person is the survivor now). Their counters stay in their own record, so that an unmerge finds them.
        var merges = profile.Merges;
        if (merges.Length < mergesFolded)
        {
            mergesFolded = merges.Length; // a merge was undone: later merges fold in from here
            changed = true;
        }

        for (var i = mergesFolded; i < merges.Length; i++)
        {
            var mergedId = merges[i].MergedId;
            if (mergedId != profile.Id && await Store.GetAsync(mergedId, cancellationToken).ConfigureAwait(false) is { } merged)
            {
                if (shared)
                {
                    windows = windows.Clone();
                    shared = false;
                }

                windows.MergeFrom(merged.Windows.Layout == Catalog.Layout ? merged.Windows : merged.Windows.Rebind(Catalog.Layout));
                if (!merged.Members.IsEmpty || merged.DueAt is not null)
                {
                    await Store.SaveAsync(merged with { Members = [], DueAt = null }, Exits(mergedId, merged.Members, merges[i].At, "merged into " + profile.Id.Value), cancellationToken).ConfigureAwait(false);
                }
            }

            changed = true;
        }

        mergesFolded = merges.Length;
        if (engagementEvent is not null && windows.Layout.SlotOf(ConditionSchema.EventKey(engagementEvent)) >= 0)
        {
            if (shared)
            {
                windows = windows.Clone();
                shared = false;
            }

            changed |= windows.Record(engagementEvent, now.UtcTicks);
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

        return await SaveAsync(profile, record ?? new SegmentRecord { CustomerId = profile.Id }, next is null ? members : next.ToImmutable(), windows, dueAt, mergesFolded, (IReadOnlyList<SegmentChange>?)changes ?? Array.Empty<SegmentChange>(), now, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<SegmentOutcome> SaveAsync(CustomerProfile profile, SegmentRecord record, ImmutableArray<SegmentMembership> members, EventWindows windows, DateTimeOffset? dueAt, int mergesFolded, IReadOnlyList<SegmentChange> changes, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await Store.SaveAsync(record with { Members = members, Windows = windows, DueAt = dueAt, MergesFolded = mergesFolded }, changes, cancellationToken).ConfigureAwait(false);
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
