using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Text;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Conditions;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Journeys;

/// <summary>
/// Every registered journey (each id with all its versions) and the eligibility conditions of the action catalogue,
/// validated together (a stage condition may name another journey's stage; a send step must name catalogue actions) and
/// compiled for evaluation: one layout of windowed event counters for all of them, one set of consent facts, a stage key per
/// stage id of each journey. Immutable and thread-safe.
/// </summary>
public sealed class JourneyCatalog
{
    private readonly FrozenDictionary<string, int> _index;
    private readonly FrozenDictionary<string, CompiledCondition> _eligibility;

    private JourneyCatalog(CompiledJourney[] journeys, EventWindowLayout layout, IReadOnlyList<(Channel, Purpose)> consent, FrozenDictionary<string, CompiledCondition> eligibility, bool crossJourney)
    {
        Compiled = journeys;
        Layout = layout;
        ConsentFacts = consent;
        _eligibility = eligibility;
        CrossJourney = crossJourney;
        JourneyIds = [.. journeys.Select(j => j.Id)];
        _index = journeys.Select((j, i) => KeyValuePair.Create(j.Id, i)).ToFrozenDictionary(StringComparer.Ordinal);
        SettleConditions = SettleConditionsOf(journeys, layout, consent);
    }

    /// <summary>The journeys, in evaluation order (the order they were registered).</summary>
    public ImmutableArray<string> JourneyIds { get; }

    /// <summary>Every definition, all versions.</summary>
    public IEnumerable<JourneyDefinition> Definitions => Compiled.SelectMany(j => j.Versions.Values.Select(v => v.Definition)).OrderBy(d => d.Id, StringComparer.Ordinal).ThenBy(d => d.Version);

    internal CompiledJourney[] Compiled { get; }

    internal EventWindowLayout Layout { get; }

    internal IReadOnlyList<(Channel Channel, Purpose Purpose)> ConsentFacts { get; }

    /// <summary>Whether some condition tests a stage of another journey (then evaluation runs a second pass when a stage moved).</summary>
    internal bool CrossJourney { get; }

    /// <summary>
    /// Every condition an evaluation of these journeys can test (entries, exits, goals, branch cases of all versions), when what
    /// they test is the profile and the stages alone: no windowed counts (nothing is counted, so no condition changes with time
    /// or with an event's arrival), no consent facts, no step that waits for an event, at most 64 conditions and eight journeys.
    /// <see langword="null"/> otherwise. With them, an evaluation that changed nothing is known to change nothing again for a
    /// profile on which each of them holds as before (<see cref="JourneySettled"/>).
    /// </summary>
    internal CompiledCondition[]? SettleConditions { get; }

    /// <summary>
    /// Validates and compiles journeys (several versions of one id allowed) and the eligibility conditions of
    /// <paramref name="actions"/>.
    /// </summary>
    /// <param name="journeys">The definitions.</param>
    /// <param name="actions">The action catalogue (send steps must name its actions; their eligibility is compiled here).</param>
    /// <param name="schema">What conditions may name besides what the journeys declare (traits, custom events, channels, purposes).</param>
    /// <returns>The catalogue.</returns>
    /// <exception cref="EngagementValidationException">A definition or eligibility condition breaks a rule; the field names the journey and the JSON path.</exception>
    public static JourneyCatalog Create(IEnumerable<JourneyDefinition> journeys, ActionCatalog? actions = null, ConditionSchema? schema = null)
    {
        ArgumentNullException.ThrowIfNull(journeys);
        var list = journeys.ToList();
        var full = schema ?? ConditionSchema.Empty;
        var seen = new HashSet<(string, int)>();
        var order = new List<string>();
        for (var i = 0; i < list.Count; i++)
        {
            var journey = list[i] ?? throw new EngagementValidationException($"journeys[{i}]", null, "must not be null");
            if (!seen.Add((journey.Id, journey.Version)))
            {
                throw new EngagementValidationException($"journeys[{i}]", journey.ToString(), "this journey's version is registered twice");
            }

            if (!order.Contains(journey.Id))
            {
                order.Add(journey.Id);
            }

            full = full.WithTraits(journey.Traits, $"{journey}: $.traits").WithCustomEvents(journey.CustomEvents);
        }

        if (order.Count > 64)
        {
            throw new EngagementValidationException("journeys", order.Count, "at most 64 journeys may be registered");
        }

        foreach (var id in order)
        {
            var versions = list.Where(j => j.Id == id).OrderBy(j => j.Version).ToList();
            full = full.WithJourney(id, versions.SelectMany(v => v.Stages.Select(s => s.Id)));
            if (full.Journeys[id].Length > 64)
            {
                throw new EngagementValidationException($"{id}: $.stages", full.Journeys[id].Length, "a journey may have at most 64 stage ids over all its versions");
            }
        }

        // Every condition again, against the whole set: a stage condition naming another journey is checked now.
        var compiler = new ConditionCompiler(full, [.. order]);
        var crossJourney = false;
        foreach (var journey in list)
        {
            foreach (var (condition, path) in Conditions(journey))
            {
                ConditionValidator.Validate(condition, full.ForJourney(journey.Id), $"{journey}: {path}");
                compiler.Require(condition);
                crossJourney |= NamesOtherJourney(condition, journey.Id);
            }

            if (actions is not null)
            {
                for (var s = 0; s < journey.Stages.Length; s++)
                {
                    for (var t = 0; t < journey.Stages[s].Steps.Length; t++)
                    {
                        if (journey.Stages[s].Steps[t] is SendStep send)
                        {
                            for (var a = 0; a < send.Actions.Length; a++)
                            {
                                if (!actions.TryGet(send.Actions[a], out _))
                                {
                                    throw new EngagementValidationException($"{journey}: $.stages[{s}].steps[{t}].actions[{a}]", send.Actions[a], "is not an action of the catalogue (UseActions)");
                                }
                            }
                        }
                    }
                }
            }
        }

        var eligibilityConditions = new List<(string Action, Condition Condition)>();
        if (actions is not null)
        {
            for (var a = 0; a < actions.Actions.Length; a++)
            {
                if (actions.Actions[a].Eligibility is { } eligibility)
                {
                    ConditionValidator.Validate(eligibility, full.ForJourney(null), $"actions[{a}].eligibility");
                    compiler.Require(eligibility);
                    eligibilityConditions.Add((actions.Actions[a].Id, eligibility));
                }
            }
        }

        var compiled = new CompiledJourney[order.Count];
        for (var j = 0; j < order.Count; j++)
        {
            var id = order[j];
            var keys = full.Journeys[id];
            var versions = list.Where(d => d.Id == id).OrderBy(d => d.Version).Select(d => CompileVersion(d, keys, compiler)).ToList();
            compiled[j] = new CompiledJourney(id, j, keys, versions.ToFrozenDictionary(v => v.Definition.Version), versions[^1]);
        }

        return new JourneyCatalog(
            compiled,
            compiler.Layout,
            compiler.ConsentFacts,
            eligibilityConditions.ToFrozenDictionary(e => e.Action, e => compiler.Compile(e.Condition, null), StringComparer.Ordinal),
            crossJourney);
    }

    /// <summary>The catalogue of the options' journeys and the action catalogue, with the options' traits, custom events, channels and purposes.</summary>
    /// <param name="options">The options.</param>
    /// <param name="actions">The actions.</param>
    /// <returns>The catalogue.</returns>
    /// <exception cref="EngagementValidationException">A journey or an eligibility condition breaks a rule.</exception>
    public static JourneyCatalog FromOptions(EngagementOptions options, ActionCatalog actions)
    {
        ArgumentNullException.ThrowIfNull(options);
        // The segments' entry and exit events are custom events the journeys may count.
        var customEvents = options.Segments.Count == 0 ? options.CustomEvents : options.CustomEvents.Concat(Segments.SegmentCatalog.EventNamesOf(options.Segments));
        return Create(options.Journeys, actions, new ConditionSchema(options.Traits, customEvents, options.CustomChannels, options.CustomPurposes));
    }

    /// <summary>The index of a journey, or -1.</summary>
    /// <param name="journeyId">The journey.</param>
    /// <returns>The index.</returns>
    public int IndexOf(string journeyId) => journeyId is not null && _index.TryGetValue(journeyId, out var index) ? index : -1;

    /// <summary>The latest version of a journey.</summary>
    /// <param name="journeyId">The journey.</param>
    /// <returns>The definition.</returns>
    /// <exception cref="KeyNotFoundException">No such journey.</exception>
    public JourneyDefinition Latest(string journeyId)
        => IndexOf(journeyId) is var i and >= 0 ? Compiled[i].Latest.Definition : throw new KeyNotFoundException($"No journey '{journeyId}' is registered.");

    /// <summary>A version of a journey.</summary>
    /// <param name="journeyId">The journey.</param>
    /// <param name="version">The version.</param>
    /// <param name="definition">The definition.</param>
    /// <returns>Whether it is registered.</returns>
    public bool TryGet(string journeyId, int version, out JourneyDefinition definition)
    {
        definition = null!;
        if (IndexOf(journeyId) is var i and >= 0 && Compiled[i].Versions.TryGetValue(version, out var compiled))
        {
            definition = compiled.Definition;
            return true;
        }

        return false;
    }

    /// <summary>The stage a track is in, by id, or <see langword="null"/>.</summary>
    /// <param name="track">The track.</param>
    /// <returns>The stage's id.</returns>
    public string? StageOf(JourneyTrack track)
        => track.IsInJourney && TryGet(track.JourneyId, track.Version, out var definition) && track.StageIndex < definition.Stages.Length ? definition.Stages[track.StageIndex].Id : null;

    internal CompiledCondition? EligibilityOf(string actionId) => _eligibility.GetValueOrDefault(actionId);

    /// <summary>A new counter set in this catalogue's layout.</summary>
    internal EventWindows NewWindows() => new(Layout);

    private static CompiledCondition[]? SettleConditionsOf(CompiledJourney[] journeys, EventWindowLayout layout, IReadOnlyList<(Channel, Purpose)> consent)
    {
        if (!layout.Keys.IsEmpty || consent.Count > 0 || journeys.Length > 8)
        {
            return null; // (a settled evaluation keeps each journey's stage key in a byte of one word: eight at most)
        }

        var conditions = new List<CompiledCondition>();
        void Add(CompiledCondition? condition)
        {
            if (condition is not null && !conditions.Contains(condition))
            {
                conditions.Add(condition);
            }
        }

        foreach (var journey in journeys)
        {
            foreach (var version in journey.Versions.Values)
            {
                Add(version.Entry);
                Add(version.Goal);
                foreach (var stage in version.Stages)
                {
                    Add(stage.Entry);
                    Add(stage.Exit);
                    foreach (var step in stage.Steps)
                    {
                        if (step.Kind == StepKind.WaitForEvent)
                        {
                            return null; // an event may end the wait, whatever the profile
                        }

                        foreach (var (when, _) in step.Cases)
                        {
                            Add(when);
                        }
                    }
                }
            }
        }

        return conditions.Count <= 64 ? [.. conditions] : null;
    }

    private static IEnumerable<(Condition Condition, string Path)> Conditions(JourneyDefinition journey)
    {
        if (journey.Entry is not null)
        {
            yield return (journey.Entry, "$.entry");
        }

        if (journey.Goal is not null)
        {
            yield return (journey.Goal.When, "$.goal.when");
        }

        for (var s = 0; s < journey.Stages.Length; s++)
        {
            var stage = journey.Stages[s];
            if (stage.Entry is not null)
            {
                yield return (stage.Entry, $"$.stages[{s}].entry");
            }

            if (stage.Exit is not null)
            {
                yield return (stage.Exit.When, $"$.stages[{s}].exit.when");
            }

            for (var t = 0; t < stage.Steps.Length; t++)
            {
                if (stage.Steps[t] is BranchStep branch)
                {
                    for (var c = 0; c < branch.Cases.Length; c++)
                    {
                        yield return (branch.Cases[c].When, $"$.stages[{s}].steps[{t}].cases[{c}].when");
                    }
                }
            }
        }
    }

    private static bool NamesOtherJourney(Condition condition, string journeyId) => condition switch
    {
        StageCondition stage => stage.JourneyId is not null && stage.JourneyId != journeyId,
        AllCondition all => all.Conditions.Any(c => NamesOtherJourney(c, journeyId)),
        AnyCondition any => any.Conditions.Any(c => NamesOtherJourney(c, journeyId)),
        NotCondition not => NamesOtherJourney(not.Inner, journeyId),
        _ => false,
    };

    private static CompiledVersion CompileVersion(JourneyDefinition definition, ImmutableArray<string> keys, ConditionCompiler compiler)
    {
        var stages = new CompiledStage[definition.Stages.Length];
        for (var s = 0; s < stages.Length; s++)
        {
            var stage = definition.Stages[s];
            var stepIds = stage.Steps.Select((step, i) => KeyValuePair.Create(step.Id, i)).ToDictionary(StringComparer.Ordinal);
            int Id(string step) => JourneyValidator.StepIndex(stepIds, step);
            int Next(StepDefinition step, int i) => step.Next is { } next ? Id(next) : i + 1 < stage.Steps.Length ? i + 1 : -1;
            var steps = stage.Steps.Select((step, i) => step switch
            {
                SendStep send => new CompiledStep(step.Id, StepKind.Send, Next(step, i)) { Actions = [.. send.Actions] },
                WaitStep wait => new CompiledStep(step.Id, StepKind.Wait, Next(step, i)) { Duration = wait.Duration.Ticks },
                WaitForEventStep waitFor => new CompiledStep(step.Id, StepKind.WaitForEvent, Next(step, i))
                {
                    Duration = waitFor.Timeout.Ticks,
                    Events = [.. waitFor.Events],
                    OnEvent = waitFor.OnEvent is { } e ? Id(e) : Next(step, i),
                    OnTimeout = waitFor.OnTimeout is { } t ? Id(t) : Next(step, i),
                },
                BranchStep branch => new CompiledStep(step.Id, StepKind.Branch, Id(branch.Default))
                {
                    Cases = [.. branch.Cases.Select(c => (compiler.Compile(c.When, definition.Id), Id(c.Goto)))],
                },
                ExitStep => new CompiledStep(step.Id, StepKind.Exit, -1),
                GoalStep => new CompiledStep(step.Id, StepKind.Goal, Next(step, i)),
                MoveToStageStep move => new CompiledStep(step.Id, StepKind.MoveTo, -1) { Stage = definition.IndexOf(move.Stage) },
                _ => throw new InvalidOperationException("Unknown step type."),
            }).ToArray();
            stages[s] = new CompiledStage
            {
                Index = s,
                Id = stage.Id,
                Key = (short)keys.IndexOf(stage.Id, 0, StringComparer.Ordinal),
                Priority = definition.PriorityOf(s),
                Entry = stage.Entry is null ? null : compiler.Compile(stage.Entry, definition.Id),
                Exit = stage.Exit is null ? null : compiler.Compile(stage.Exit.When, definition.Id),
                ExitTo = stage.Exit?.To is { } to ? definition.IndexOf(to) : -1,
                Terminal = stage.Terminal,
                Steps = steps,
                EntryReason = stage.Entry is null ? "entry" : "entry " + stage.Entry,
                ExitReason = stage.Exit is null ? "exit" : "exit " + stage.Exit.When,
            };
        }

        // Stages in descending priority (ties: the earlier first), so the best stage whose entry holds is the first found.
        var byPriority = stages.Where(s => s.Entry is not null).OrderByDescending(s => s.Priority).ThenBy(s => s.Index).Select(s => s.Index).ToArray();
        return new CompiledVersion
        {
            Definition = definition,
            Entry = definition.Entry is null ? null : compiler.Compile(definition.Entry, definition.Id),
            Goal = definition.Goal is null ? null : compiler.Compile(definition.Goal.When, definition.Id),
            GoalReason = definition.Goal is null ? string.Empty : "goal " + definition.Goal.When,
            ExitOnGoal = definition.Goal?.ExitOnGoal ?? false,
            ControlBasisPoints = definition.ControlGroup is { } control ? (int)Math.Round(control.Percent * 100) : 0,
            ControlSalt = definition.ControlGroup?.Salt ?? string.Empty,
            ReEntryAllowed = definition.ReEntry.Allowed,
            ReEntryAfter = definition.ReEntry.After.Ticks,
            Stages = stages,
            ByPriority = byPriority,
            Migrations = definition.Migrations.ToFrozenDictionary(m => m.From),
        };
    }

    /// <summary>Whether a customer is in a journey's control group: a stable hash of the journey, the salt and the customer, below the share.</summary>
    internal static bool IsControl(string journeyId, string salt, CustomerId customerId, int basisPoints)
    {
        if (basisPoints <= 0)
        {
            return false;
        }

        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(journeyId + "\u0000" + salt + "\u0000" + customerId.Value))
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return (int)(hash % 10_000) < basisPoints;
    }
}

internal sealed record CompiledJourney(string Id, int Index, ImmutableArray<string> StageKeys, FrozenDictionary<int, CompiledVersion> Versions, CompiledVersion Latest);

internal sealed class CompiledVersion
{
    public required JourneyDefinition Definition { get; init; }

    public CompiledCondition? Entry { get; init; }

    public CompiledCondition? Goal { get; init; }

    public required string GoalReason { get; init; }

    public bool ExitOnGoal { get; init; }

    public int ControlBasisPoints { get; init; }

    public required string ControlSalt { get; init; }

    public bool ReEntryAllowed { get; init; }

    public long ReEntryAfter { get; init; }

    public required CompiledStage[] Stages { get; init; }

    public required int[] ByPriority { get; init; }

    public required FrozenDictionary<int, JourneyMigration> Migrations { get; init; }

    public int Version => Definition.Version;

    public int Fingerprint => Definition.Fingerprint;
}

internal sealed class CompiledStage
{
    public int Index { get; init; }

    public required string Id { get; init; }

    public short Key { get; init; }

    public int Priority { get; init; }

    public CompiledCondition? Entry { get; init; }

    public CompiledCondition? Exit { get; init; }

    public int ExitTo { get; init; }

    public bool Terminal { get; init; }

    public required CompiledStep[] Steps { get; init; }

    public required string EntryReason { get; init; }

    public required string ExitReason { get; init; }
}

internal enum StepKind
{
    Send,
    Wait,
    WaitForEvent,
    Branch,
    Exit,
    Goal,
    MoveTo,
}

internal sealed class CompiledStep(string id, StepKind kind, int next)
{
    public string Id { get; } = id;

    public StepKind Kind { get; } = kind;

    /// <summary>The next step (-1: the end); for a branch, the default.</summary>
    public int Next { get; } = next;

    public long Duration { get; init; }

    /// <summary>The reason recorded when this step moves a customer (made once, not per customer).</summary>
    public string Reason { get; } = "step " + id;

    public string[] Events { get; init; } = [];

    public int OnEvent { get; init; } = -1;

    public int OnTimeout { get; init; } = -1;

    public (CompiledCondition When, int Goto)[] Cases { get; init; } = [];

    public int Stage { get; init; } = -1;

    public string[] Actions { get; init; } = [];
}
