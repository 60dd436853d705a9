using System.Collections.Immutable;
using Engagement.Sdk.Conditions;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Journeys;

/// <summary>What one evaluation did, in order; turned into history entries (and sends) by the orchestrator.</summary>
internal enum EffectKind
{
    Entered,
    Moved,
    Exited,
    Migrated,
    Reset,
    StepStarted,
    Send,
    Goal,
    Revenue,
}

/// <summary>One thing an evaluation did (indices relative to <see cref="Version"/> of journey <see cref="Journey"/>).</summary>
internal readonly record struct JourneyEffect(EffectKind Kind, int Journey, int Version, int Stage, int FromStage, int Step, long At, string? Reason, int Visit, bool Control, decimal Amount = 0m);

/// <summary>
/// One customer's journey state while it is evaluated: a track per catalogue journey, the stage key of each (for stage
/// conditions), the counters, the consent facts, and the effects recorded. Made from a <see cref="JourneyRecord"/> and turned
/// back into one; not thread-safe (used under the customer's lock).
/// </summary>
internal sealed class JourneyWorkspace
{
    private readonly JourneyCatalog _catalog;
    private List<JourneyTrack>? _foreign;

    public JourneyWorkspace(JourneyCatalog catalog, CustomerProfile profile, JourneyRecord? record = null)
    {
        _catalog = catalog;
        Tracks = new JourneyTrack[catalog.Compiled.Length];
        StageKeys = new short[catalog.Compiled.Length];
        Reset(profile, record);
    }

    /// <summary>
    /// Makes the workspace as new for another customer's (or the same customer's next) evaluation, reusing its arrays and
    /// effect list; the state of the evaluation before is forgotten.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(Profile), nameof(Windows))]
    public JourneyWorkspace Reset(CustomerProfile profile, JourneyRecord? record)
    {
        Profile = profile;
        for (var j = 0; j < Tracks.Length; j++)
        {
            Tracks[j] = new JourneyTrack { JourneyId = _catalog.Compiled[j].Id };
            StageKeys[j] = -1;
        }

        _foreign = null;
        _windowsShared = false;
        Consent = 0;
        Changed = false;
        Version = 0;
        MergesFolded = 0;
        Shadows = [];
        Effects.Clear();
        if (record is null)
        {
            Windows = _catalog.NewWindows();
        }
        else
        {
            Windows = null!;
            Load(record);
        }

        return this;
    }

    /// <summary>Lets go of what the last evaluation referred to (the profile, counters, effects), before the workspace waits to be reused.</summary>
    public void Clear()
    {
        Profile = null!;
        Windows = null!;
        _foreign = null;
        Shadows = [];
        Effects.Clear();
    }

    public CustomerProfile Profile { get; set; }

    public JourneyTrack[] Tracks { get; }

    public short[] StageKeys { get; }

    /// <summary>The counters: the stored record's own until the first change (<see cref="RecordEvent"/>, <see cref="Fold"/>), then a private copy.</summary>
    public EventWindows Windows { get; private set; }

    private bool _windowsShared;

    public ulong Consent { get; set; }

    public bool Changed { get; set; }

    public long Version { get; private set; }

    public int MergesFolded { get; set; }

    /// <summary>The states an unmerge restores (<see cref="JourneyRecord.Shadows"/>).</summary>
    public ImmutableArray<JourneyMergeShadow> Shadows { get; set; } = [];

    public List<JourneyEffect> Effects { get; } = [];

    /// <summary>Loads a stored record (its counters copied, so the stored one is never changed).</summary>
    private void Load(JourneyRecord record)
    {
        Version = record.Version;
        MergesFolded = record.MergesFolded;
        Shadows = record.Shadows.IsDefault ? [] : record.Shadows;

        // The stored counters are read as they are and copied only if an event changes them (a sweep changes none).
        _windowsShared = record.Windows.Layout == _catalog.Layout;
        Windows = _windowsShared ? record.Windows : record.Windows.Rebind(_catalog.Layout);
        var next = 0;
        foreach (var track in record.Tracks)
        {
            // Records this workspace wrote keep their tracks in catalogue order with the catalogue's id strings: the next
            // journey is tried by reference before the id is looked up.
            var j = next < Tracks.Length && ReferenceEquals(_catalog.Compiled[next].Id, track.JourneyId) ? next : _catalog.IndexOf(track.JourneyId);
            if (j < 0)
            {
                (_foreign ??= []).Add(track);
                continue;
            }

            Tracks[j] = track;
            StageKeys[j] = KeyOf(j, track);
            next = j + 1;
        }
    }

    /// <summary>Folds in the record of a profile merged into this one: counters added, tracks of journeys this customer is not in taken over.</summary>
    public void Fold(JourneyRecord merged)
    {
        Own();
        Windows.MergeFrom(merged.Windows.Layout == _catalog.Layout ? merged.Windows : merged.Windows.Rebind(_catalog.Layout));
        foreach (var track in merged.Tracks)
        {
            var j = _catalog.IndexOf(track.JourneyId);
            if (j >= 0 && !Tracks[j].IsInJourney && Tracks[j].Visits == 0 && track.IsInJourney)
            {
                Tracks[j] = track;
                StageKeys[j] = KeyOf(j, track);
            }
        }

        Changed = true;
    }

    /// <summary>Counts an event into the counters (copying the stored ones first); returns whether it was counted.</summary>
    public bool RecordEvent(EngagementEvent engagementEvent, long now)
    {
        if (Windows.Layout.SlotOf(ConditionSchema.EventKey(engagementEvent)) < 0)
        {
            return false;
        }

        Own();
        return Windows.Record(engagementEvent, now);
    }

    private void Own()
    {
        if (_windowsShared)
        {
            Windows = Windows.Clone();
            _windowsShared = false;
        }
    }

    /// <summary>The record to store.</summary>
    public JourneyRecord ToRecord(CustomerId customerId)
    {
        var count = _foreign?.Count ?? 0;
        foreach (var track in Tracks)
        {
            count += Kept(track) ? 1 : 0;
        }

        var tracks = new JourneyTrack[count];
        var i = 0;
        foreach (var track in Tracks)
        {
            if (Kept(track))
            {
                tracks[i++] = track;
            }
        }

        _foreign?.CopyTo(tracks, i);
        return new JourneyRecord { CustomerId = customerId, Version = Version, Tracks = System.Runtime.InteropServices.ImmutableCollectionsMarshal.AsImmutableArray(tracks), Windows = Windows, MergesFolded = MergesFolded, Shadows = Shadows };

        static bool Kept(in JourneyTrack track) => track.IsInJourney || track.Visits > 0 || track.DueTicks != 0;
    }

    /// <summary>
    /// The record as it stands now, for keeping beside the live one (a merge's <see cref="JourneyMergeShadow.SurvivorBefore"/>):
    /// its counters copied, so what the workspace does next does not change it.
    /// </summary>
    public JourneyRecord Snapshot(CustomerId customerId)
    {
        var record = ToRecord(customerId);
        return record with { Version = 0, Windows = _windowsShared ? record.Windows : record.Windows.Clone() };
    }

    /// <summary>The earliest due time of any track (UTC ticks), or 0.</summary>
    public long MinDue()
    {
        var due = long.MaxValue;
        foreach (var track in Tracks)
        {
            if (track.DueTicks != 0 && track.DueTicks < due)
            {
                due = track.DueTicks;
            }
        }

        return due == long.MaxValue ? 0 : due;
    }

    /// <summary>The stage id the customer is in in a journey (by catalogue index), or <see langword="null"/>.</summary>
    public string? StageId(int journey)
    {
        var track = Tracks[journey];
        return track.IsInJourney && _catalog.Compiled[journey].Versions.TryGetValue(track.Version, out var version) && track.StageIndex < version.Stages.Length
            ? version.Stages[track.StageIndex].Id
            : null;
    }

    private short KeyOf(int journey, JourneyTrack track)
        => track.IsInJourney && _catalog.Compiled[journey].Versions.TryGetValue(track.Version, out var version) && track.StageIndex < version.Stages.Length
            ? version.Stages[track.StageIndex].Key
            : (short)-1;
}

/// <summary>
/// An evaluation of a record's tracks that changed nothing, by a catalogue whose conditions test the profile and the stages
/// alone (<see cref="JourneyCatalog.SettleConditions"/>). Evaluating the same tracks again changes nothing either, so it need not
/// be done, when: it is for an event other than a purchase or a refund (which record revenue); it is at an instant from
/// <paramref name="at"/> up to (not including) <paramref name="due"/> (what depends on time — waits, re-entry, cool-downs — stays as it
/// was until the tracks fall due); there are no merges to fold and no states kept for an unmerge; and each condition the
/// evaluation can test from where the tracks stand (<paramref name="tested"/>) holds on the profile as it held then. The evaluation
/// then makes the same tests with the same answers, and changes nothing again.
/// </summary>
/// <param name="catalog">The catalogue that evaluated.</param>
/// <param name="instance">The record evaluated (this instance: another, even with equal contents, is another question).</param>
/// <param name="stageKeys">The stage key of each catalogue journey in those tracks, one byte each (the key + 1; at most eight journeys).</param>
/// <param name="at">The instant of the evaluation (UTC ticks).</param>
/// <param name="due">When the tracks fall due (UTC ticks), or 0.</param>
/// <param name="tested">One bit per condition of <see cref="JourneyCatalog.SettleConditions"/> that an evaluation of the tracks can test.</param>
/// <param name="holds">Of those, the ones that held.</param>
internal sealed class JourneySettled(JourneyCatalog catalog, JourneyRecord instance, ulong stageKeys, long at, long due, ulong tested, ulong holds)
{
    /// <summary>The record evaluated.</summary>
    public JourneyRecord Record => instance;

    /// <summary>The note for a workspace whose evaluation of <paramref name="record"/> at <paramref name="now"/> changed nothing, or <see langword="null"/> when none can be made.</summary>
    public static JourneySettled? Of(JourneyCatalog catalog, JourneyRecord record, JourneyWorkspace ws, long now)
    {
        if (catalog.SettleConditions is not { } conditions || record.Tracks.IsDefault || record.MergesFolded != 0 || !record.Shadows.IsDefaultOrEmpty || !ws.Profile.Merges.IsDefaultOrEmpty)
        {
            return null;
        }

        ulong keys = 0;
        for (var j = 0; j < ws.StageKeys.Length; j++)
        {
            keys |= (ulong)(byte)(ws.StageKeys[j] + 1) << (8 * j);
        }

        var tested = TestedBy(catalog, conditions, ws.Tracks);
        return new JourneySettled(catalog, record, keys, now, ws.MinDue(), tested, Evaluate(conditions, tested, ws.Profile, record.Windows, ws.StageKeys, now));
    }

    /// <summary>Whether evaluating <paramref name="record"/> (the instance this note was kept with) for <paramref name="profile"/> at <paramref name="now"/> would change nothing.</summary>
    public bool Covers(JourneyCatalog evaluator, JourneyRecord record, CustomerProfile profile, long now)
        => ReferenceEquals(evaluator, catalog)
            && ReferenceEquals(record, instance) // whose merges and shadows were checked when the note was made
            && profile.Merges.IsDefaultOrEmpty
            && now >= at && (due == 0 || now < due)
            && Evaluate(catalog.SettleConditions!, tested, profile, record.Windows, StageKeys(stackalloc short[8]), now) == holds;

    // The stage keys, unpacked into `keys` (one per catalogue journey).
    private ReadOnlySpan<short> StageKeys(Span<short> keys)
    {
        keys = keys[..catalog.Compiled.Length];
        for (var j = 0; j < keys.Length; j++)
        {
            keys[j] = (short)((int)((stageKeys >> (8 * j)) & 0xFF) - 1);
        }

        return keys;
    }

    // The conditions an evaluation that moves nothing tests (a superset): for a track in a stage, the stage's exit, the entries
    // of the stages above it and the goal not yet reached (steps that change nothing test nothing: only a wait can be under
    // way); for a track not in the journey, the latest version's audience and stage entries. Everything for a track whose
    // version is not registered.
    private static ulong TestedBy(JourneyCatalog catalog, CompiledCondition[] conditions, JourneyTrack[] tracks)
    {
        ulong tested = 0;
        void Add(CompiledCondition? condition)
        {
            if (condition is not null)
            {
                tested |= 1UL << Array.IndexOf(conditions, condition);
            }
        }

        for (var j = 0; j < tracks.Length; j++)
        {
            var track = tracks[j];
            var journey = catalog.Compiled[j];
            if (!track.IsInJourney)
            {
                Add(journey.Latest.Entry);
                foreach (var stage in journey.Latest.Stages)
                {
                    Add(stage.Entry);
                }

                continue;
            }

            if (!journey.Versions.TryGetValue(track.Version, out var version) || track.StageIndex >= version.Stages.Length)
            {
                return conditions.Length == 64 ? ulong.MaxValue : (1UL << conditions.Length) - 1;
            }

            var current = version.Stages[track.StageIndex];
            if (!current.Terminal)
            {
                Add(current.Exit);
                foreach (var stage in version.Stages)
                {
                    if (stage.Priority > current.Priority)
                    {
                        Add(stage.Entry);
                    }
                }
            }

            if ((track.Flags & JourneyTrackFlags.GoalReached) == 0)
            {
                Add(version.Goal);
            }
        }

        return tested;
    }

    private static ulong Evaluate(CompiledCondition[] conditions, ulong tested, CustomerProfile profile, EventWindows windows, ReadOnlySpan<short> stageKeys, long now)
    {
        var context = new ConditionContext(profile, windows, stageKeys, 0, now);
        ulong holds = 0;
        for (var left = tested; left != 0; left &= left - 1)
        {
            var i = System.Numerics.BitOperations.TrailingZeroCount(left);
            if (conditions[i].Evaluate(context))
            {
                holds |= 1UL << i;
            }
        }

        return holds;
    }
}

/// <summary>
/// The journey state machine: moves a customer's tracks through stages (entry and exit rules, priorities, regression,
/// terminal stages, re-entry, migration between versions) and steps (send, wait, wait for an event, branch, exit, goal, move),
/// catching up with time first (every due instant up to now is evaluated in order, so the path is the same whether the sweep
/// ran or the next event came), then computing when each track next falls due. Pure over the workspace: no I/O, and no
/// allocation unless something moves.
/// </summary>
internal sealed class JourneyEvaluator(JourneyCatalog catalog)
{
    private const int MaxCatchUps = 64;
    private const int MaxMoves = 8;
    private const int MaxSteps = 256;

    /// <summary>Evaluates the workspace for an event at <paramref name="now"/> (UTC ticks), or for time alone when <paramref name="engagementEvent"/> is null.</summary>
    public void Process(JourneyWorkspace ws, EngagementEvent? engagementEvent, long now)
    {
        CatchUp(ws, now);
        if (engagementEvent is null)
        {
            return;
        }

        if (ws.RecordEvent(engagementEvent, now))
        {
            ws.Changed = true;
        }

        var amount = engagementEvent switch
        {
            Purchased order when !order.Lines.IsDefaultOrEmpty => order.Total.Amount,
            Refunded refund => -refund.Amount.Amount,
            _ => 0m,
        };
        ulong wasIn = 0;
        if (amount != 0)
        {
            for (var j = 0; j < ws.Tracks.Length; j++)
            {
                if (ws.Tracks[j].IsInJourney)
                {
                    wasIn |= 1UL << j;
                    Revenue(ws, j, now, amount);
                }
            }
        }

        EvaluateAll(ws, engagementEvent, now);
        if (amount != 0)
        {
            for (var j = 0; j < ws.Tracks.Length; j++)
            {
                if (ws.Tracks[j].IsInJourney && (wasIn & (1UL << j)) == 0)
                {
                    Revenue(ws, j, now, amount); // it entered with this order
                }
            }
        }
    }

    /// <summary>Evaluates every instant at which a track fell due, up to <paramref name="now"/>, in order.</summary>
    public void CatchUp(JourneyWorkspace ws, long now)
    {
        for (var i = 0; i < MaxCatchUps; i++)
        {
            var due = ws.MinDue();
            if (due == 0 || due > now)
            {
                return;
            }

            EvaluateAll(ws, null, due);
        }
    }

    private void EvaluateAll(JourneyWorkspace ws, EngagementEvent? engagementEvent, long at)
    {
        var context = new ConditionContext(ws.Profile, ws.Windows, ws.StageKeys, ws.Consent, at);
        for (var pass = 0; pass < 3; pass++)
        {
            var moved = false;
            for (var j = 0; j < ws.Tracks.Length; j++)
            {
                moved |= EvaluateTrack(ws, j, pass == 0 ? engagementEvent : null, at, context);
            }

            if (!moved || !catalog.CrossJourney)
            {
                break;
            }
        }

        for (var j = 0; j < ws.Tracks.Length; j++)
        {
            ComputeDue(ws, j, at, context);
        }
    }

    private bool EvaluateTrack(JourneyWorkspace ws, int j, EngagementEvent? engagementEvent, long at, in ConditionContext context)
    {
        ref var track = ref ws.Tracks[j];
        if (track.IsInJourney && Resolve(ws, j, ref track, at) is { } version)
        {
            return Continue(ws, j, ref track, version, engagementEvent, at, context);
        }

        return TryEnter(ws, j, ref track, at, context, ignoreCooldown: false);
    }

    private bool TryEnter(JourneyWorkspace ws, int j, ref JourneyTrack track, long at, in ConditionContext context, bool ignoreCooldown)
    {
        var journey = catalog.Compiled[j];
        var latest = journey.Latest;
        if ((track.Flags & JourneyTrackFlags.Exited) != 0 && !ignoreCooldown && (!latest.ReEntryAllowed || at < track.StageEnteredTicks + latest.ReEntryAfter))
        {
            return false;
        }

        if (latest.Entry is { } audience && !audience.Evaluate(context))
        {
            return false;
        }

        var target = Best(latest, context, -1, int.MinValue);
        if (target < 0)
        {
            return false;
        }

        var control = JourneyCatalog.IsControl(journey.Id, latest.ControlSalt, ws.Profile.Id, latest.ControlBasisPoints);
        track = new JourneyTrack
        {
            JourneyId = journey.Id,
            Version = latest.Version,
            Fingerprint = latest.Fingerprint,
            Visits = track.Visits,
            Flags = control ? JourneyTrackFlags.Control : JourneyTrackFlags.None,
            JourneyEnteredTicks = at,
            DueTicks = track.DueTicks,
        };
        EnterStage(ws, j, ref track, latest, target, -1, at, EffectKind.Entered, latest.Stages[target].EntryReason);
        Settle(ws, j, ref track, latest, null, at, context);
        return true;
    }

    private bool Continue(JourneyWorkspace ws, int j, ref JourneyTrack track, CompiledVersion version, EngagementEvent? engagementEvent, long at, in ConditionContext context)
    {
        var startVisit = track.Visits;
        var startStep = track.StepIndex;
        var moved = false;
        for (var moves = 0; moves < MaxMoves; moves++)
        {
            var current = version.Stages[track.StageIndex];
            if (current.Terminal)
            {
                if (version.ReEntryAllowed && at >= track.StageEnteredTicks + version.ReEntryAfter)
                {
                    // The journey ended here; a customer who may re-enter starts over as if they had left.
                    Exit(ws, j, ref track, version, at, "terminal: re-entry");
                    TryEnter(ws, j, ref track, at, context, ignoreCooldown: true);
                    return true;
                }

                break;
            }

            int target;
            string reason;
            if (current.Exit is { } exit && exit.Evaluate(context))
            {
                target = current.ExitTo >= 0 ? current.ExitTo : Best(version, context, track.StageIndex, int.MinValue);
                reason = current.ExitReason;
                if (target < 0)
                {
                    Exit(ws, j, ref track, version, at, reason);
                    return true;
                }
            }
            else
            {
                target = Best(version, context, track.StageIndex, current.Priority);
                if (target < 0)
                {
                    break;
                }

                reason = version.Stages[target].EntryReason;
            }

            EnterStage(ws, j, ref track, version, target, track.StageIndex, at, EffectKind.Moved, reason);
            moved = true;
        }

        // An event ends a wait only if the wait was under way before it came (not one the event itself led to).
        var waiting = track.Visits == startVisit && track.StepIndex == startStep ? engagementEvent : null;
        return Settle(ws, j, ref track, version, waiting, at, context) || moved;
    }

    // After the moves: the goal, then the steps.
    private bool Settle(JourneyWorkspace ws, int j, ref JourneyTrack track, CompiledVersion version, EngagementEvent? engagementEvent, long at, in ConditionContext context)
    {
        if (version.Goal is { } goal && (track.Flags & JourneyTrackFlags.GoalReached) == 0 && goal.Evaluate(context))
        {
            MarkGoal(ws, j, ref track, version, at, version.GoalReason);
            if (version.ExitOnGoal)
            {
                Exit(ws, j, ref track, version, at, version.GoalReason);
                return true;
            }
        }

        return RunSteps(ws, j, ref track, version, engagementEvent, at, context);
    }

    private bool RunSteps(JourneyWorkspace ws, int j, ref JourneyTrack track, CompiledVersion version, EngagementEvent? engagementEvent, long at, in ConditionContext context)
    {
        var movedStage = false;
        for (var guard = 0; guard < MaxSteps && track.IsInJourney && track.StepIndex >= 0; guard++)
        {
            var stage = version.Stages[track.StageIndex];
            var step = stage.Steps[track.StepIndex];
            switch (step.Kind)
            {
                case StepKind.Send:
                    ws.Effects.Add(new JourneyEffect(EffectKind.Send, j, version.Version, track.StageIndex, -1, track.StepIndex, at, null, track.Visits, track.IsControl));
                    Advance(ws, j, ref track, version, step.Next, at);
                    break;
                case StepKind.Wait:
                    var end = track.StepStartedTicks + step.Duration;
                    if (at < end)
                    {
                        return movedStage;
                    }

                    Advance(ws, j, ref track, version, step.Next, end);
                    break;
                case StepKind.WaitForEvent:
                    if (engagementEvent is not null && Matches(step, engagementEvent))
                    {
                        engagementEvent = null;
                        Advance(ws, j, ref track, version, step.OnEvent, at);
                        break;
                    }

                    var timeout = track.StepStartedTicks + step.Duration;
                    if (at < timeout)
                    {
                        return movedStage;
                    }

                    Advance(ws, j, ref track, version, step.OnTimeout, timeout);
                    break;
                case StepKind.Branch:
                    var next = step.Next;
                    foreach (var (when, target) in step.Cases)
                    {
                        if (when.Evaluate(context))
                        {
                            next = target;
                            break;
                        }
                    }

                    Advance(ws, j, ref track, version, next, at);
                    break;
                case StepKind.Exit:
                    Exit(ws, j, ref track, version, at, step.Reason);
                    return true;
                case StepKind.Goal:
                    MarkGoal(ws, j, ref track, version, at, step.Reason);
                    Advance(ws, j, ref track, version, step.Next, at);
                    break;
                default:
                    EnterStage(ws, j, ref track, version, step.Stage, track.StageIndex, at, EffectKind.Moved, step.Reason);
                    engagementEvent = null;
                    movedStage = true;
                    break;
            }
        }

        return movedStage;
    }

    private static bool Matches(CompiledStep step, EngagementEvent engagementEvent)
    {
        var key = ConditionSchema.EventKey(engagementEvent);
        foreach (var name in step.Events)
        {
            if (string.Equals(name, key, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    // The stage of highest priority above `above` (ties: the earlier) whose entry holds, other than `exclude`; -1 if none.
    private static int Best(CompiledVersion version, in ConditionContext context, int exclude, int above)
    {
        foreach (var index in version.ByPriority)
        {
            var stage = version.Stages[index];
            if (stage.Priority <= above)
            {
                break;
            }

            if (index != exclude && stage.Entry!.Evaluate(context))
            {
                return index;
            }
        }

        return -1;
    }

    private static void EnterStage(JourneyWorkspace ws, int j, ref JourneyTrack track, CompiledVersion version, int target, int from, long at, EffectKind kind, string reason)
    {
        var stage = version.Stages[target];
        track = track with
        {
            StageIndex = target,
            StageEnteredTicks = at,
            Visits = track.Visits + 1,
            StepIndex = stage.Steps.Length > 0 ? 0 : -1,
            StepStartedTicks = at,
        };
        ws.StageKeys[j] = stage.Key;
        ws.Changed = true;
        ws.Effects.Add(new JourneyEffect(kind, j, version.Version, target, from, -1, at, reason, track.Visits, track.IsControl));
        if (stage.Steps.Length > 0)
        {
            ws.Effects.Add(new JourneyEffect(EffectKind.StepStarted, j, version.Version, target, -1, 0, at, null, track.Visits, track.IsControl));
        }
    }

    private static void Advance(JourneyWorkspace ws, int j, ref JourneyTrack track, CompiledVersion version, int next, long at)
    {
        track = track with { StepIndex = next, StepStartedTicks = at };
        ws.Changed = true;
        if (next >= 0)
        {
            ws.Effects.Add(new JourneyEffect(EffectKind.StepStarted, j, version.Version, track.StageIndex, -1, next, at, null, track.Visits, track.IsControl));
        }
    }

    private static void Exit(JourneyWorkspace ws, int j, ref JourneyTrack track, CompiledVersion version, long at, string reason)
    {
        ws.Effects.Add(new JourneyEffect(EffectKind.Exited, j, version.Version, -1, track.StageIndex, -1, at, reason, track.Visits, track.IsControl));
        track = track with { StageIndex = -1, StepIndex = -1, StageEnteredTicks = at, Flags = track.Flags | JourneyTrackFlags.Exited };
        ws.StageKeys[j] = -1;
        ws.Changed = true;
    }

    private static void MarkGoal(JourneyWorkspace ws, int j, ref JourneyTrack track, CompiledVersion version, long at, string reason)
    {
        if ((track.Flags & JourneyTrackFlags.GoalReached) != 0)
        {
            return;
        }

        track = track with { Flags = track.Flags | JourneyTrackFlags.GoalReached };
        ws.Changed = true;
        ws.Effects.Add(new JourneyEffect(EffectKind.Goal, j, version.Version, track.StageIndex, -1, -1, at, reason, track.Visits, track.IsControl));
    }

    private static void Revenue(JourneyWorkspace ws, int j, long at, decimal amount)
    {
        var track = ws.Tracks[j];
        ws.Effects.Add(new JourneyEffect(EffectKind.Revenue, j, track.Version, track.StageIndex, -1, -1, at, null, track.Visits, track.IsControl, amount));
        ws.Changed = true;
    }

    // The version the customer follows: the one they entered, or the latest when a migration rule moves them; null (and the
    // place reset) when their version is no longer registered or was changed without a new version number.
    private CompiledVersion? Resolve(JourneyWorkspace ws, int j, ref JourneyTrack track, long at)
    {
        var journey = catalog.Compiled[j];
        if (journey.Versions.TryGetValue(track.Version, out var version) && version.Fingerprint == track.Fingerprint && track.StageIndex < version.Stages.Length)
        {
            if (version == journey.Latest || !journey.Latest.Migrations.TryGetValue(track.Version, out var migration))
            {
                return version;
            }

            return Migrate(ws, j, ref track, version, journey.Latest, migration, at);
        }

        ws.Effects.Add(new JourneyEffect(EffectKind.Reset, j, track.Version, -1, -1, -1, at, $"version {track.Version} is no longer registered or changed without a new version number", track.Visits, track.IsControl));
        track = new JourneyTrack { JourneyId = journey.Id, Visits = track.Visits, DueTicks = track.DueTicks };
        ws.StageKeys[j] = -1;
        ws.Changed = true;
        return null;
    }

    private static CompiledVersion? Migrate(JourneyWorkspace ws, int j, ref JourneyTrack track, CompiledVersion from, CompiledVersion to, JourneyMigration migration, long at)
    {
        var oldStage = from.Stages[track.StageIndex];
        var newId = migration.Stages.TryGetValue(oldStage.Id, out var mapped) ? mapped : oldStage.Id;
        var newIndex = to.Definition.IndexOf(newId);
        if (newIndex < 0)
        {
            Exit(ws, j, ref track, from, at, $"migration to version {to.Version}: it has no stage '{newId}'");
            return null;
        }

        var stage = to.Stages[newIndex];
        var oldStep = track.StepIndex >= 0 ? oldStage.Steps[track.StepIndex].Id : null;
        var newStep = oldStep is null ? -1 : Array.FindIndex(stage.Steps, s => s.Id == oldStep);
        var restart = oldStep is not null && newStep < 0 && stage.Steps.Length > 0;
        track = track with
        {
            Version = to.Version,
            Fingerprint = to.Fingerprint,
            StageIndex = newIndex,
            StepIndex = restart ? 0 : newStep,
            StepStartedTicks = restart ? at : track.StepStartedTicks,
        };
        ws.StageKeys[j] = stage.Key;
        ws.Changed = true;
        ws.Effects.Add(new JourneyEffect(EffectKind.Migrated, j, to.Version, newIndex, -1, -1, at, $"migrated from version {from.Version} (stage '{oldStage.Id}')", track.Visits, track.IsControl));
        if (restart)
        {
            ws.Effects.Add(new JourneyEffect(EffectKind.StepStarted, j, to.Version, newIndex, -1, 0, at, null, track.Visits, track.IsControl));
        }

        return to;
    }

    // When the track next falls due with time: a wait's end, a time-out, a re-entry, or a windowed condition that could
    // move the customer changing its value.
    private void ComputeDue(JourneyWorkspace ws, int j, long at, in ConditionContext context)
    {
        ref var track = ref ws.Tracks[j];
        var journey = catalog.Compiled[j];
        var due = long.MaxValue;
        if (track.IsInJourney)
        {
            var version = journey.Versions.TryGetValue(track.Version, out var v) ? v : journey.Latest;
            var current = version.Stages[Math.Min(track.StageIndex, version.Stages.Length - 1)];
            if (current.Terminal)
            {
                if (version.ReEntryAllowed)
                {
                    due = track.StageEnteredTicks + version.ReEntryAfter;
                }
            }
            else
            {
                if (current.Exit is { } exit)
                {
                    due = Math.Min(due, exit.NextChange(context));
                }

                foreach (var index in version.ByPriority)
                {
                    var stage = version.Stages[index];
                    if (stage.Priority <= current.Priority && (current.Exit is null || current.ExitTo >= 0))
                    {
                        break;
                    }

                    if (index != current.Index)
                    {
                        due = Math.Min(due, stage.Entry!.NextChange(context));
                    }
                }
            }

            if (version.Goal is { } goal && (track.Flags & JourneyTrackFlags.GoalReached) == 0)
            {
                due = Math.Min(due, goal.NextChange(context));
            }

            if (track.StepIndex >= 0 && current.Steps[track.StepIndex] is { Kind: StepKind.Wait or StepKind.WaitForEvent } waiting)
            {
                due = Math.Min(due, track.StepStartedTicks + waiting.Duration);
            }
        }
        else
        {
            var latest = journey.Latest;
            var exited = (track.Flags & JourneyTrackFlags.Exited) != 0;
            if (!exited || latest.ReEntryAllowed)
            {
                var cooldown = exited ? track.StageEnteredTicks + latest.ReEntryAfter : 0;
                if (cooldown > at)
                {
                    due = cooldown;
                }
                else
                {
                    if (latest.Entry is { } audience)
                    {
                        due = Math.Min(due, audience.NextChange(context));
                    }

                    foreach (var index in latest.ByPriority)
                    {
                        due = Math.Min(due, latest.Stages[index].Entry!.NextChange(context));
                    }
                }
            }
        }

        var ticks = due == long.MaxValue || due <= at ? 0 : due;
        if (ticks != track.DueTicks)
        {
            track = track with { DueTicks = ticks };
            ws.Changed = true;
        }
    }
}
