using System.Collections.Immutable;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Conditions;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Engagement.Sdk.Journeys;

/// <summary>
/// The journeys' step of the engine: after an event has updated the profile (or when a customer's timer falls due), loads the
/// customer's journey state, folds in profiles merged into theirs, evaluates every journey (catching up with time first),
/// stores the new state, runs the send steps through next-best-action, the permission gate and the outbox (a control-group
/// customer's would-be sends are recorded instead), and records the history. Runs under the customer's lock, in the unit of
/// work of the event or of the sweep, so a step and its send are stored together or not at all.
/// </summary>
public sealed class JourneyOrchestrator : IMergeFollower
{
    private readonly JourneyEvaluator _evaluator;
    private readonly JourneyFacts _facts;
    private readonly NextBestActionDecider _decider;
    private readonly DispatchOutbox _outbox;
    private readonly ILogger _logger;
    private readonly Diagnostics.LogIds _logIds;

    // A workspace kept from the last evaluation for the next one (an evaluation makes one at most): its arrays and effect list
    // are reused instead of made for every event. Taken and given back with one atomic exchange, so concurrent evaluations of
    // different customers each have their own.
    private JourneyWorkspace? _spare;

    // Evaluations that changed nothing (JourneySettled), each in the slot of the record instance it was of, when the store
    // hands out the instances it keeps (so that the next event reads the same instance): a fixed number of slots, so that what
    // is kept does not grow with the customers (at most about 5 MB: a note is 72 bytes). A note pushed out of its slot by
    // another customer's costs one evaluation: with this many slots, two of 2,000 customers active in turn share a slot about
    // once in 33. Null when the store or the catalogue allows no notes.
    private const int SettledSlots = 65_536;
    private readonly JourneySettled?[]? _settled;

    /// <summary>Creates the orchestrator.</summary>
    /// <param name="catalog">The journeys.</param>
    /// <param name="store">Where the journeys' state and history are kept.</param>
    /// <param name="decider">Next-best-action, which every send step goes through (build it with the same catalogue and store).</param>
    /// <param name="outbox">The outbox sends are queued in.</param>
    /// <param name="ledger">The consent ledger, for consent conditions.</param>
    /// <param name="logger">The logger (customer ids in its messages are hashed).</param>
    public JourneyOrchestrator(JourneyCatalog catalog, IJourneyStore store, NextBestActionDecider decider, DispatchOutbox outbox, ConsentLedger? ledger = null, ILogger? logger = null)
        : this(catalog, store, decider, outbox, ledger, logger, Diagnostics.LogIds.Hashed)
    {
    }

    /// <summary>Creates the orchestrator, with customer ids in logs as the engine's options ask.</summary>
    internal JourneyOrchestrator(JourneyCatalog catalog, IJourneyStore store, NextBestActionDecider decider, DispatchOutbox outbox, ConsentLedger? ledger, ILogger? logger, Diagnostics.LogIds logIds)
    {
        Catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        Store = store ?? throw new ArgumentNullException(nameof(store));
        _decider = decider ?? throw new ArgumentNullException(nameof(decider));
        _outbox = outbox ?? throw new ArgumentNullException(nameof(outbox));
        _logger = logger ?? NullLogger.Instance;
        _logIds = logIds;
        _evaluator = new JourneyEvaluator(catalog);
        _facts = new JourneyFacts(catalog, store, ledger);
        _settled = store is InMemoryJourneyStore && catalog.SettleConditions is not null && catalog.Compiled.Length > 0 ? new JourneySettled?[SettledSlots] : null;
    }

    /// <summary>The journeys.</summary>
    public JourneyCatalog Catalog { get; }

    /// <summary>The store.</summary>
    public IJourneyStore Store { get; }

    /// <summary>
    /// Evaluates the customer's journeys after <paramref name="engagementEvent"/> was applied to the profile: first every
    /// instant at which a timer fell due before now (with the profile as it was before the event), then the event.
    /// </summary>
    /// <param name="profile">The customer's profile, saved with the event (the survivor, after a merge).</param>
    /// <param name="engagementEvent">The event.</param>
    /// <param name="now">The clock's instant.</param>
    /// <param name="before">The profile as it was before the event (what timers that fell due earlier are evaluated with); <paramref name="profile"/> when omitted.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>What the journeys did.</returns>
    public ValueTask<JourneyOutcome> OnEventAsync(CustomerProfile profile, EngagementEvent engagementEvent, DateTimeOffset now, CustomerProfile? before = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engagementEvent);
        if (_settled is { } notes && profile is { ProfilingObjectedAt: null } && IsQuiet(engagementEvent))
        {
            // The usual event moves nothing: when the record's last evaluation changed nothing and this one would test the
            // same answers, the record is read and nothing else is done, without an asynchronous state machine.
            var read = Store.GetAsync(profile.Id, cancellationToken);
            if (read.IsCompletedSuccessfully)
            {
                var record = read.Result;
                return record is not null && Volatile.Read(ref notes[SlotOf(record)]) is { } settled && settled.Covers(Catalog, record, profile, now.UtcTicks)
                    ? new ValueTask<JourneyOutcome>(JourneyOutcome.None)
                    : RunAsync(profile, engagementEvent, now, before, new ValueTask<JourneyRecord?>(record), cancellationToken);
            }

            return RunAsync(profile, engagementEvent, now, before, read, cancellationToken);
        }

        return RunAsync(profile, engagementEvent, now, before, null, cancellationToken);
    }

    /// <summary>Evaluates a customer whose timer fell due: every due instant up to <paramref name="now"/>, in order.</summary>
    /// <param name="profile">The customer's profile.</param>
    /// <param name="now">The clock's instant.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>What the journeys did.</returns>
    public ValueTask<JourneyOutcome> OnTimeAsync(CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default)
        => RunAsync(profile, null, now, null, null, cancellationToken);

    /// <summary>Lists customers whose journey timers are due.</summary>
    /// <param name="now">The instant.</param>
    /// <param name="max">The most to list.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The customers, earliest due first.</returns>
    public ValueTask<IReadOnlyList<CustomerId>> ListDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken = default)
        => Store.ListDueAsync(now, max, cancellationToken);

    /// <summary>Where a customer is in each journey: journey id → stage id (journeys the customer is not in are left out).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The stages.</returns>
    public async ValueTask<ImmutableDictionary<string, string>> GetStagesAsync(CustomerId customerId, CancellationToken cancellationToken = default)
    {
        var record = await Store.GetAsync(customerId, cancellationToken).ConfigureAwait(false);
        var stages = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var track in record?.Tracks ?? [])
        {
            if (Catalog.StageOf(track) is { } stage)
            {
                stages[track.JourneyId] = stage;
            }
        }

        return stages.ToImmutable();
    }

    /// <summary>The facts decisions read (stages of every journey, counters, consent), for the decider.</summary>
    internal JourneyFacts Facts => _facts;

    // The slot of a record instance's note (by the instance's identity: two instances with equal contents have their own).
    private static int SlotOf(JourneyRecord record) => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(record) & (SettledSlots - 1);

    /// <summary>Whether an evaluation of <paramref name="record"/> (this instance) that changed nothing is known (for tests).</summary>
    internal bool IsSettled(JourneyRecord record) => _settled is { } notes && ReferenceEquals(notes[SlotOf(record)]?.Record, record);

    // An event whose evaluation depends on the profile and the tracks alone (a purchase or refund also records revenue).
    private static bool IsQuiet(EngagementEvent? engagementEvent) => engagementEvent is not null and not Purchased and not Refunded;

    // `read` is the read of the customer's record when it was started already.
    private async ValueTask<JourneyOutcome> RunAsync(CustomerProfile profile, EngagementEvent? engagementEvent, DateTimeOffset now, CustomerProfile? before, ValueTask<JourneyRecord?>? read, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(profile);
        if (Catalog.Compiled.Length == 0)
        {
            return JourneyOutcome.None;
        }

        var objects = profile.ProfilingObjectedAt is not null && engagementEvent is not null;
        if (objects && profile.Merges.IsDefaultOrEmpty)
        {
            return JourneyOutcome.None; // journeys are profiling: they do not move for a customer who objects to it
        }

        var record = await (read ?? Store.GetAsync(profile.Id, cancellationToken)).ConfigureAwait(false);
        if (record is null && engagementEvent is null)
        {
            return JourneyOutcome.None;
        }

        if (objects)
        {
            // Journeys are profiling: they do not move for a customer who objects to it. While merged, the side of a merge
            // that does not object on its own still follows its events, for an unmerge.
            return await KeepShadowsAsync(profile, record, engagementEvent!, now, before, cancellationToken).ConfigureAwait(false);
        }

        var ws = Interlocked.Exchange(ref _spare, null)?.Reset(profile, record) ?? new JourneyWorkspace(Catalog, profile, record);
        try
        {
            ws.Consent = await _facts.ConsentAsync(profile, now, cancellationToken).ConfigureAwait(false);
            await FoldMergesAsync(ws, profile, before, now, cancellationToken).ConfigureAwait(false);
            if (before is not null && before.Id == profile.Id && !ReferenceEquals(before, profile))
            {
                // Timers that fell due before the event are evaluated with the profile as it was then.
                ws.Profile = before;
                _evaluator.CatchUp(ws, now.UtcTicks);
                ws.Profile = profile;
            }

            _evaluator.Process(ws, engagementEvent, now.UtcTicks);
            if (!ws.Shadows.IsEmpty)
            {
                var shadows = engagementEvent is not null
                    ? await AdvanceShadowsAsync(ws.Shadows, profile, before, engagementEvent, now, cancellationToken).ConfigureAwait(false)
                    : await CatchUpShadowsAsync(ws.Shadows, profile, now, cancellationToken).ConfigureAwait(false);
                ws.Changed |= shadows != ws.Shadows;
                ws.Shadows = shadows;
            }

            if (!ws.Changed)
            {
                if (_settled is { } notes && record is not null && IsQuiet(engagementEvent) && JourneySettled.Of(Catalog, record, ws, now.UtcTicks) is { } settled)
                {
                    // The store hands this instance out again: the next event may find its evaluation settled.
                    Volatile.Write(ref notes[SlotOf(record)], settled);
                }

                return JourneyOutcome.None;
            }

            await Store.SaveAsync(ws.ToRecord(profile.Id), cancellationToken).ConfigureAwait(false);
            var history = await RecordAsync(ws, profile, now, cancellationToken).ConfigureAwait(false);
            if (history.Length > 0)
            {
                await Store.AppendHistoryAsync(history, cancellationToken).ConfigureAwait(false);
            }

            List<StageTransition>? transitions = null;
            foreach (var entry in history)
            {
                if (entry.Kind is JourneyHistoryKind.Entered or JourneyHistoryKind.Moved && entry.StageId is { } stage)
                {
                    (transitions ??= new(2)).Add(new StageTransition(entry.JourneyId, entry.FromStageId, stage, entry.At, entry.Reason ?? string.Empty));
                    JourneyLog.StageChanged(_logger, _logIds.Of(profile.Id), entry.FromStageId, stage, entry.JourneyId);
                }
            }

            return new JourneyOutcome(
                transitions is null ? [] : ImmutableCollectionsMarshal.AsImmutableArray(transitions.ToArray()),
                ImmutableCollectionsMarshal.AsImmutableArray(history));
        }
        finally
        {
            // Nothing made from the workspace keeps it: the record, history and decisions copy what they need.
            ws.Clear();
            Volatile.Write(ref _spare, ws);
        }
    }

    // Profiles merged into this one since the last evaluation: their counters and tracks are folded in, their records and timers
    // deleted. For a merge that keeps the states an unmerge restores, both sides' records are kept beside the live one first.
    // Both records are caught up with time first, each with its own profile, so that what is folded does not depend on when a
    // sweep last ran (sends that fell due in the merged record meanwhile are not made: it no longer stands for a customer).
    private async ValueTask FoldMergesAsync(JourneyWorkspace ws, CustomerProfile profile, CustomerProfile? before, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var merges = profile.Merges;
        if (merges.Length <= ws.MergesFolded)
        {
            // Nothing new; a count above the profile's (a merge undone with no states kept) follows it down.
            ws.Changed |= merges.Length < ws.MergesFolded;
            ws.MergesFolded = merges.Length;
            return;
        }

        // Each side's timers that fell due before now are evaluated with that side's profile as it was before the event.
        var earlier = before is not null && before.Id == profile.Id ? before : profile;
        ws.Profile = (MergeOf(earlier, merges[ws.MergesFolded].MergeId) ?? merges[ws.MergesFolded]).SurvivorBefore;
        _evaluator.CatchUp(ws, now.UtcTicks);
        ws.Profile = profile;
        for (var i = ws.MergesFolded; i < merges.Length; i++)
        {
            var mergedId = merges[i].MergedId;
            var merged = mergedId != profile.Id ? await Store.GetAsync(mergedId, cancellationToken).ConfigureAwait(false) : null;
            if (merges[i].MergedState is { } state && (merged is not null || !state.Merges.IsDefaultOrEmpty))
            {
                // The merged side brought up to date as its own next evaluation would: the profiles merged into it folded in
                // (their records too), its timers caught up.
                var stateBefore = MergeOf(earlier, merges[i].MergeId)?.MergedState ?? state;
                var side = await _facts.WorkspaceAsync(state, merged, now, cancellationToken).ConfigureAwait(false);
                await FoldMergesAsync(side, state, stateBefore, now, cancellationToken).ConfigureAwait(false);
                side.Profile = stateBefore;
                _evaluator.CatchUp(side, now.UtcTicks);
                side.Profile = state;
                merged = merged is not null || side.Changed ? side.ToRecord(mergedId) : null;
            }
            else if (merged is not null && merged.DueAt <= now)
            {
                var caughtUp = await _facts.WorkspaceAsync(profile, merged, now, cancellationToken).ConfigureAwait(false);
                _evaluator.CatchUp(caughtUp, now.UtcTicks);
                merged = caughtUp.ToRecord(mergedId);
            }

            if (merges[i].MergedState is not null)
            {
                ws.MergesFolded = i;
                // The survivor's side without its earlier merges' states, which stay on the live record (as the profile's do).
                ws.Shadows = ws.Shadows.Add(new JourneyMergeShadow(merges[i].MergeId, ws.Snapshot(profile.Id) with { Shadows = [] }, merged is null ? null : merged with { Version = 0 }));
            }

            if (merged is not null)
            {
                ws.Fold(merged);
                await Store.DeleteAsync(mergedId, cancellationToken).ConfigureAwait(false);
            }
        }

        ws.MergesFolded = merges.Length;
        ws.Changed = true;
    }

    // A customer who objects to profiling: their journeys stay where they are; merges are folded and the sides' states kept.
    private async ValueTask<JourneyOutcome> KeepShadowsAsync(CustomerProfile profile, JourneyRecord? record, EngagementEvent engagementEvent, DateTimeOffset now, CustomerProfile? before, CancellationToken cancellationToken)
    {
        if ((record is null || record.Shadows.IsDefaultOrEmpty) && (record?.MergesFolded ?? 0) == profile.Merges.Length)
        {
            return JourneyOutcome.None; // never merged, or nothing kept for an unmerge and nothing to fold
        }

        var ws = await _facts.WorkspaceAsync(profile, record, now, cancellationToken).ConfigureAwait(false);
        await FoldMergesAsync(ws, profile, before, now, cancellationToken).ConfigureAwait(false);
        var shadows = await AdvanceShadowsAsync(ws.Shadows, profile, before, engagementEvent, now, cancellationToken).ConfigureAwait(false);
        if (!ws.Changed && shadows == ws.Shadows)
        {
            return JourneyOutcome.None;
        }

        ws.Shadows = shadows;
        await Store.SaveAsync(ws.ToRecord(profile.Id), cancellationToken).ConfigureAwait(false);
        return JourneyOutcome.None;
    }

    // The sides' states after an event addressed to engagementEvent.CustomerId, the way MergeShadows keeps the profiles': the
    // merged side of the latest merge that holds the id takes it; every survivor's side down to there takes it too.
    private async ValueTask<ImmutableArray<JourneyMergeShadow>> AdvanceShadowsAsync(ImmutableArray<JourneyMergeShadow> shadows, CustomerProfile profile, CustomerProfile? before, EngagementEvent engagementEvent, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (shadows.IsDefaultOrEmpty)
        {
            return shadows;
        }

        var advanced = shadows;
        for (var i = shadows.Length - 1; i >= 0; i--)
        {
            var shadow = shadows[i];
            if (MergeOf(profile, shadow.MergeId) is not { MergedState: { } mergedState } merge)
            {
                break; // a merge recorded before states were kept
            }

            var mergeBefore = before is null ? null : MergeOf(before, shadow.MergeId);
            if (MergeShadows.Holds(mergedState, engagementEvent.CustomerId))
            {
                var merged = await StepShadowAsync(shadow.Merged, merge.MergedId, mergedState, mergeBefore?.MergedState, engagementEvent, now, cancellationToken).ConfigureAwait(false);
                return ReferenceEquals(merged, shadow.Merged) ? advanced : advanced.SetItem(i, shadow with { Merged = merged });
            }

            var survivor = await StepShadowAsync(shadow.SurvivorBefore, profile.Id, merge.SurvivorBefore, mergeBefore?.SurvivorBefore, engagementEvent, now, cancellationToken).ConfigureAwait(false);
            advanced = ReferenceEquals(survivor, shadow.SurvivorBefore) ? advanced : advanced.SetItem(i, shadow with { SurvivorBefore = survivor });
        }

        return advanced;
    }

    // One side's journeys evaluated for the event with that side's own profile, as they would be for a customer of its own;
    // nothing is sent or recorded in the history. A side that objects to profiling on its own does not move, but the sides of
    // its own merges still follow their events.
    private async ValueTask<JourneyRecord?> StepShadowAsync(JourneyRecord? record, CustomerId sideId, CustomerProfile side, CustomerProfile? sideBefore, EngagementEvent engagementEvent, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (side.ProfilingObjectedAt is not null)
        {
            if (record is null || record.Shadows.IsDefaultOrEmpty)
            {
                return record;
            }

            var nested = await AdvanceShadowsAsync(record.Shadows, side, sideBefore, engagementEvent, now, cancellationToken).ConfigureAwait(false);
            return nested == record.Shadows ? record : record with { Shadows = nested };
        }

        var ws = await _facts.WorkspaceAsync(side, record, now, cancellationToken).ConfigureAwait(false);
        if (side.Merges.Length > ws.MergesFolded)
        {
            await FoldMergesAsync(ws, side, sideBefore, now, cancellationToken).ConfigureAwait(false);
        }
        if (sideBefore is not null && !ReferenceEquals(sideBefore, side))
        {
            ws.Profile = sideBefore;
            _evaluator.CatchUp(ws, now.UtcTicks);
            ws.Profile = side;
        }

        _evaluator.Process(ws, engagementEvent, now.UtcTicks);
        var shadows = await AdvanceShadowsAsync(ws.Shadows, side, sideBefore, engagementEvent, now, cancellationToken).ConfigureAwait(false);
        if (!ws.Changed && shadows == ws.Shadows)
        {
            return record;
        }

        ws.Shadows = shadows;
        return ws.ToRecord(sideId);
    }

    // The sides' states caught up with time, as a sweep catches up a customer of its own (the live record falls due when one of
    // them does): each with its side's profile, nothing sent.
    private async ValueTask<ImmutableArray<JourneyMergeShadow>> CatchUpShadowsAsync(ImmutableArray<JourneyMergeShadow> shadows, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var caughtUp = shadows;
        for (var i = 0; i < shadows.Length; i++)
        {
            var shadow = shadows[i];
            if (MergeOf(profile, shadow.MergeId) is not { MergedState: { } mergedState } merge)
            {
                continue;
            }

            var survivor = await CatchUpSideAsync(shadow.SurvivorBefore, profile.Id, merge.SurvivorBefore, now, cancellationToken).ConfigureAwait(false);
            var merged = await CatchUpSideAsync(shadow.Merged, merge.MergedId, mergedState, now, cancellationToken).ConfigureAwait(false);
            if (!ReferenceEquals(survivor, shadow.SurvivorBefore) || !ReferenceEquals(merged, shadow.Merged))
            {
                caughtUp = caughtUp.SetItem(i, shadow with { SurvivorBefore = survivor, Merged = merged });
            }
        }

        return caughtUp;
    }

    private async ValueTask<JourneyRecord?> CatchUpSideAsync(JourneyRecord? record, CustomerId sideId, CustomerProfile side, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (record is null || !(record.DueAt <= now))
        {
            return record;
        }

        var ws = await _facts.WorkspaceAsync(side, record, now, cancellationToken).ConfigureAwait(false);
        _evaluator.CatchUp(ws, now.UtcTicks);
        ws.Shadows = await CatchUpShadowsAsync(ws.Shadows, side, now, cancellationToken).ConfigureAwait(false);
        return ws.ToRecord(sideId);
    }

    private static ProfileMerge? MergeOf(CustomerProfile profile, string mergeId)
    {
        foreach (var merge in profile.Merges.IsDefault ? [] : profile.Merges)
        {
            if (merge.MergeId == mergeId)
            {
                return merge;
            }
        }

        return null;
    }

    /// <summary>
    /// A merge the host asks for is folded in at once, in the merge's unit of work (as one found by an event is, in the event's),
    /// so that what is folded does not depend on when the survivor is next evaluated.
    /// </summary>
    async ValueTask IMergeFollower.OnMergedAsync(CustomerProfile survivor, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (Catalog.Compiled.Length == 0)
        {
            return;
        }

        var record = await Store.GetAsync(survivor.Id, cancellationToken).ConfigureAwait(false);
        if ((record?.MergesFolded ?? 0) >= survivor.Merges.Length)
        {
            return;
        }

        var ws = await _facts.WorkspaceAsync(survivor, record, now, cancellationToken).ConfigureAwait(false);
        await FoldMergesAsync(ws, survivor, null, now, cancellationToken).ConfigureAwait(false);
        await Store.SaveAsync(ws.ToRecord(survivor.Id), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// After an unmerge, in its unit of work: both customers' journey records become the states kept for the merge (each side's
    /// record at the merge, advanced by its own events since); a sweep catches them up with time. A merge never folded in, or
    /// one recorded before states were kept, leaves the records as they are.
    /// </summary>
    async ValueTask IMergeFollower.OnUnmergedAsync(CustomerProfile survivor, CustomerProfile restored, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var record = await Store.GetAsync(survivor.Id, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            return;
        }

        var shadows = record.Shadows.IsDefault ? [] : record.Shadows;
        if (shadows.IsEmpty || MergeOf(survivor, shadows[^1].MergeId) is not null)
        {
            if (record.MergesFolded > survivor.Merges.Length)
            {
                // The undone merge was folded in with no states kept: the count follows, so that a later merge is folded.
                await Store.SaveAsync(record with { MergesFolded = survivor.Merges.Length }, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        var shadow = shadows[^1];
        var back = shadow.SurvivorBefore ?? new JourneyRecord { CustomerId = survivor.Id, MergesFolded = survivor.Merges.Length };
        await Store.SaveAsync(back with { CustomerId = survivor.Id, Version = record.Version, Shadows = shadows.RemoveAt(shadows.Length - 1), MergesFolded = survivor.Merges.Length }, cancellationToken).ConfigureAwait(false);
        if (shadow.Merged is { } merged)
        {
            var existing = await Store.GetAsync(restored.Id, cancellationToken).ConfigureAwait(false);
            await Store.SaveAsync(merged with { CustomerId = restored.Id, Version = existing?.Version ?? 0 }, cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask<JourneyHistoryEntry[]> RecordAsync(JourneyWorkspace ws, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var history = new JourneyHistoryEntry[ws.Effects.Count];
        for (var i = 0; i < history.Length; i++)
        {
            var effect = ws.Effects[i];
            var journey = Catalog.Compiled[effect.Journey];
            var version = journey.Versions.TryGetValue(effect.Version, out var v) ? v : journey.Latest;
            var stage = StageId(version, effect.Stage);
            var step = effect.Step >= 0 && effect.Stage >= 0 ? version.Stages[effect.Stage].Steps[effect.Step] : null;
            var entry = new JourneyHistoryEntry
            {
                CustomerId = profile.Id,
                JourneyId = journey.Id,
                Version = effect.Version,
                Kind = effect.Kind switch
                {
                    EffectKind.Entered => JourneyHistoryKind.Entered,
                    EffectKind.Moved => JourneyHistoryKind.Moved,
                    EffectKind.Exited => JourneyHistoryKind.Exited,
                    EffectKind.Migrated => JourneyHistoryKind.Migrated,
                    EffectKind.Reset => JourneyHistoryKind.Reset,
                    EffectKind.StepStarted => JourneyHistoryKind.StepStarted,
                    EffectKind.Goal => JourneyHistoryKind.Goal,
                    EffectKind.Revenue => JourneyHistoryKind.Revenue,
                    _ => JourneyHistoryKind.NotSent,
                },
                At = new DateTimeOffset(effect.At, TimeSpan.Zero),
                StageId = stage,
                FromStageId = StageId(version, effect.FromStage),
                StepId = step?.Id,
                Reason = effect.Reason,
                Amount = effect.Kind == EffectKind.Revenue ? effect.Amount : null,
                IsControl = effect.Control,
                Visit = effect.Visit,
            };
            if (effect.Kind == EffectKind.Send)
            {
                // A send that fell due while catching up with time is made only if the customer is still in that stage visit:
                // a win-back for a stage they have since left (they bought again) is not sent late.
                var track = ws.Tracks[effect.Journey];
                entry = track.IsInJourney && track.Visits == effect.Visit
                    ? await SendAsync(entry, step!, profile, ws, now, cancellationToken).ConfigureAwait(false)
                    : entry with { Kind = JourneyHistoryKind.NotSent, At = now, Reason = "the customer left the stage before the send was made" };
            }

            history[i] = entry;
        }

        return history;
    }

    // A send step: next-best-action among the step's actions (eligibility, already bought, stock, permission per channel), then
    // the outbox; never a bypass. A control-group customer's send is decided the same way and recorded, not queued.
    private async ValueTask<JourneyHistoryEntry> SendAsync(JourneyHistoryEntry entry, CompiledStep step, CustomerProfile profile, JourneyWorkspace ws, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // Decided on the state just evaluated (and saved): the facts need not be read again. A send that will be queued uses
        // the actions' volume budgets; a control group's would-be send only looks.
        var decision = await _decider.DecideAsync(profile, now, step.Actions, cancellationToken, reserve: !entry.IsControl, known: ws).ConfigureAwait(false);
        if (decision.IsNoAction || decision.Channel is not { } channel)
        {
            return entry with { At = now, Kind = JourneyHistoryKind.NotSent, Reason = decision.Explain() };
        }

        if (entry.IsControl)
        {
            return entry with { At = now, Kind = JourneyHistoryKind.WouldSend, ActionId = decision.Action.Id, Channel = channel, Reason = "control group: " + decision.Explain() };
        }

        var dispatchId = DispatchIdFor(profile.Id, entry, decision.Action.Id, channel);
        var result = await _outbox.EnqueueAsync(
            new DispatchRecord
            {
                DispatchId = dispatchId,
                CustomerId = profile.Id,
                Channel = channel,
                Purpose = decision.Action.Purpose,
                ActionId = decision.Action.Id,
                CreatedAt = now,
                DueAt = now,
                Priority = decision.Action.Priority,
                Decision = decision.ToLog(),
            },
            cancellationToken).ConfigureAwait(false);
        if (result.WasReplay)
        {
            await _decider.ReleaseBudgetsAsync(decision, cancellationToken).ConfigureAwait(false);
        }
        else if (_decider.Contacts is { } contacts && decision.Action.ContactPolicy is not null)
        {
            await contacts.RecordAsync(new ActionContact(profile.Id, decision.Action.Id, channel, ActionContactKind.Sent, now, dispatchId), cancellationToken).ConfigureAwait(false);
        }

        return entry with
        {
            At = now,
            Kind = JourneyHistoryKind.Sent,
            ActionId = decision.Action.Id,
            Channel = channel,
            DispatchId = dispatchId,
            Reason = result.WasReplay ? "already queued: " + decision.Explain() : decision.Explain(),
        };
    }

    private static string? StageId(CompiledVersion version, int index) => index >= 0 && index < version.Stages.Length ? version.Stages[index].Id : null;

    // Deterministic for the customer, journey, stage visit, step, action and channel: a step run again (a replay, a retried unit
    // of work) finds its dispatch and queues nothing twice.
    internal static string DispatchIdFor(CustomerId customerId, JourneyHistoryEntry entry, string actionId, Channel channel)
    {
        var key = string.Join('\n', customerId.Value, entry.JourneyId, entry.Visit.ToString(System.Globalization.CultureInfo.InvariantCulture), entry.StepId, actionId, channel.Name);
        return "j-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)).AsSpan(0, 16));
    }
}

/// <summary>
/// Loads what conditions read about a customer outside the journeys' own evaluation (for action eligibility): their tracks in
/// every journey, their counters, and the consent facts the catalogue's conditions test.
/// </summary>
internal sealed class JourneyFacts(JourneyCatalog catalog, IJourneyStore store, ConsentLedger? ledger)
{
    public JourneyCatalog Catalog => catalog;

    public IJourneyStore Store => store;

    public async ValueTask<JourneyWorkspace> LoadAsync(CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken)
        => await WorkspaceAsync(profile, await store.GetAsync(profile.Id, cancellationToken).ConfigureAwait(false), now, cancellationToken).ConfigureAwait(false);

    /// <summary>The customer's stored state and consent facts loaded into <paramref name="reuse"/> (made as new), or into a new workspace when it is <see langword="null"/>.</summary>
    public async ValueTask<JourneyWorkspace> LoadIntoAsync(JourneyWorkspace? reuse, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var record = await store.GetAsync(profile.Id, cancellationToken).ConfigureAwait(false);
        var ws = reuse?.Reset(profile, record) ?? new JourneyWorkspace(catalog, profile, record);
        ws.Consent = await ConsentAsync(profile, now, cancellationToken).ConfigureAwait(false);
        return ws;
    }

    /// <summary>A workspace of its own for <paramref name="record"/>, evaluated with <paramref name="profile"/> and its consent facts.</summary>
    public async ValueTask<JourneyWorkspace> WorkspaceAsync(CustomerProfile profile, JourneyRecord? record, DateTimeOffset now, CancellationToken cancellationToken)
        => new(catalog, profile, record) { Consent = await ConsentAsync(profile, now, cancellationToken).ConfigureAwait(false) };

    /// <summary>One bit per consent fact of the catalogue (none read when no condition tests consent).</summary>
    public async ValueTask<ulong> ConsentAsync(CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (catalog.ConsentFacts.Count == 0 || ledger is null)
        {
            return 0;
        }

        var state = await ledger.GetStateAsync(profile.Id, cancellationToken).ConfigureAwait(false);
        ulong facts = 0;
        for (var i = 0; i < catalog.ConsentFacts.Count; i++)
        {
            if (ConditionSet.ConsentFact(profile, state, catalog.ConsentFacts[i].Channel, catalog.ConsentFacts[i].Purpose, now))
            {
                facts |= 1UL << i;
            }
        }

        return facts;
    }

    /// <summary>Whether an action's eligibility condition holds for the loaded customer.</summary>
    public bool IsEligible(string actionId, JourneyWorkspace ws, DateTimeOffset now)
    {
        if (catalog.EligibilityOf(actionId) is not { } condition)
        {
            return true;
        }

        var context = new ConditionContext(ws.Profile, ws.Windows, ws.StageKeys, ws.Consent, now.UtcTicks);
        return condition.Evaluate(context);
    }
}
