using System.Collections.Immutable;
using Engagement.Sdk.Conditions;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Journeys;

/// <summary>
/// Validates a journey definition as a whole, naming the JSON path of the first problem: ids, durations (not negative, not
/// over 10 years), conditions (known traits, events, stages), steps (unique ids, known targets, a default for every branch,
/// no step unreachable, no cycle of steps that takes no time), stages (unique, reachable), control group, re-entry and
/// migrations.
/// </summary>
internal static class JourneyValidator
{
    public const int MaxStages = 64;
    public const int MaxSteps = 64;

    /// <summary>Validates <paramref name="parts"/> and returns the schema its conditions are compiled with.</summary>
    public static ConditionSchema Validate(JourneyParts parts, ConditionSchema schema)
    {
        Names.Require("$.id", parts.Id);
        if (parts.Version is < 1 or > short.MaxValue)
        {
            throw new EngagementValidationException("$.version", parts.Version, $"must be from 1 to {short.MaxValue}");
        }

        if (parts.Name is not null)
        {
            Text.RequireToken("$.name", parts.Name, 256);
        }

        foreach (var (trait, kind) in parts.Traits)
        {
            Text.RequireToken(JsonObjectReader.At("$.traits", trait ?? string.Empty), trait, 64);
            if (!Enum.IsDefined(kind))
            {
                throw new EngagementValidationException(JsonObjectReader.At("$.traits", trait!), kind, "is not a trait type");
            }
        }

        var customEvents = parts.CustomEvents.IsDefault ? [] : parts.CustomEvents;
        for (var i = 0; i < customEvents.Length; i++)
        {
            Names.Require($"$.customEvents[{i}]", customEvents[i]);
            if (ConditionSchema.BuiltInEvents.Contains(customEvents[i]))
            {
                throw new EngagementValidationException($"$.customEvents[{i}]", customEvents[i], "is a built-in event type; custom events need names of their own");
            }
        }

        var stages = parts.Stages.IsDefault ? [] : parts.Stages;
        if (stages.IsEmpty)
        {
            throw new EngagementValidationException("$.stages", parts.Id, "a journey needs at least one stage");
        }

        if (stages.Length > MaxStages)
        {
            throw new EngagementValidationException("$.stages", stages.Length, $"a journey may have at most {MaxStages} stages");
        }

        var stageIds = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < stages.Length; i++)
        {
            var stage = stages[i] ?? throw new EngagementValidationException($"$.stages[{i}]", null, "must not be null");
            Names.Require($"$.stages[{i}].id", stage.Id);
            if (!stageIds.TryAdd(stage.Id, i))
            {
                throw new EngagementValidationException($"$.stages[{i}].id", stage.Id, "a duplicate id: stage ids must be unique within a journey");
            }
        }

        var validated = schema
            .WithTraits(parts.Traits, "$.traits")
            .WithCustomEvents(customEvents)
            .WithJourney(parts.Id, stages.Select(s => s.Id))
            .ForJourney(parts.Id) with { DeferOtherJourneys = true };

        if (parts.Entry is not null)
        {
            ConditionValidator.Validate(parts.Entry, validated, "$.entry");
        }

        if (parts.Goal is { } goal)
        {
            ConditionValidator.Validate(goal.When, validated, "$.goal.when");
        }

        if (parts.ControlGroup is { } control)
        {
            if (!(control.Percent > 0 && control.Percent <= 50))
            {
                throw new EngagementValidationException("$.controlGroup.percent", control.Percent, "must be more than 0 and at most 50");
            }

            if (control.Salt is not null)
            {
                Text.RequireToken("$.controlGroup.salt", control.Salt, 64);
            }
        }

        IsoDuration.Require("$.reEntry.after", parts.ReEntry?.After ?? TimeSpan.Zero, allowZero: true);

        var reachable = new bool[stages.Length];
        for (var i = 0; i < stages.Length; i++)
        {
            var stage = stages[i];
            var path = $"$.stages[{i}]";
            if (stage.Name is not null)
            {
                Text.RequireToken(path + ".name", stage.Name, 256);
            }

            if (stage.Priority is { } priority && (priority < -1000 || priority > 1000))
            {
                throw new EngagementValidationException(path + ".priority", priority, "must be from -1000 to 1000");
            }

            if (stage.Entry is not null)
            {
                ConditionValidator.Validate(stage.Entry, validated, path + ".entry");
                reachable[i] |= stage.Entry is not ConstantCondition { Value: false };
            }

            if (stage.Exit is { } exit)
            {
                ConditionValidator.Validate(exit.When, validated, path + ".exit.when");
                if (exit.To is not null)
                {
                    reachable[Target(stageIds, exit.To, path + ".exit.to")] = true;
                }
            }

            ValidateSteps(stage, path, validated, stageIds, reachable);
        }

        var migrations = parts.Migrations.IsDefault ? [] : parts.Migrations;
        var froms = new HashSet<int>();
        for (var m = 0; m < migrations.Length; m++)
        {
            var migration = migrations[m];
            var path = $"$.migrations[{m}]";
            if (migration.From < 1 || migration.From >= parts.Version)
            {
                throw new EngagementValidationException(path + ".from", migration.From, $"must be an earlier version, from 1 to {parts.Version - 1}");
            }

            if (!froms.Add(migration.From))
            {
                throw new EngagementValidationException(path + ".from", migration.From, "a duplicate: one migration per earlier version");
            }

            foreach (var (from, to) in migration.Stages ?? ImmutableDictionary<string, string>.Empty)
            {
                Names.Require(JsonObjectReader.At(path + ".stages", from ?? string.Empty), from);
                reachable[Target(stageIds, to, JsonObjectReader.At(path + ".stages", from!))] = true;
            }
        }

        for (var i = 0; i < stages.Length; i++)
        {
            if (!reachable[i])
            {
                throw new EngagementValidationException($"$.stages[{i}]", stages[i].Id, "is unreachable: it has no entry rule and no exit, step or migration moves a customer into it");
            }
        }

        FindInstantCycle(stages, stageIds);
        return validated;
    }

    private static void ValidateSteps(StageDefinition stage, string path, ConditionSchema schema, Dictionary<string, int> stageIds, bool[] reachableStages)
    {
        var steps = stage.Steps.IsDefault ? [] : stage.Steps;
        if (steps.Length > MaxSteps)
        {
            throw new EngagementValidationException(path + ".steps", steps.Length, $"a stage may have at most {MaxSteps} steps");
        }

        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var j = 0; j < steps.Length; j++)
        {
            var step = steps[j] ?? throw new EngagementValidationException($"{path}.steps[{j}]", null, "must not be null");
            Names.Require($"{path}.steps[{j}].id", step.Id);
            if (step.Id == EndOfSteps)
            {
                throw new EngagementValidationException($"{path}.steps[{j}].id", step.Id, "'end' is reserved: it names the end of the steps");
            }

            if (!ids.TryAdd(step.Id, j))
            {
                throw new EngagementValidationException($"{path}.steps[{j}].id", step.Id, "a duplicate id: step ids must be unique within a stage");
            }
        }

        for (var j = 0; j < steps.Length; j++)
        {
            var step = steps[j];
            var at = $"{path}.steps[{j}]";
            if (step.Next is not null)
            {
                if (step is BranchStep or ExitStep or MoveToStageStep)
                {
                    throw new EngagementValidationException(at + ".next", step.Next, "this step does not go on to a next step");
                }

                StepTarget(ids, step.Next, at + ".next");
            }

            switch (step)
            {
                case SendStep send:
                    var actions = send.Actions.IsDefault ? [] : send.Actions;
                    if (actions.IsEmpty)
                    {
                        throw new EngagementValidationException(at + ".actions", null, "a send step needs at least one action");
                    }

                    for (var k = 0; k < actions.Length; k++)
                    {
                        Text.RequireToken($"{at}.actions[{k}]", actions[k]);
                    }

                    break;
                case WaitStep wait:
                    IsoDuration.Require(at + ".duration", wait.Duration, allowZero: true);
                    break;
                case WaitForEventStep waitFor:
                    var events = waitFor.Events.IsDefault ? [] : waitFor.Events;
                    if (events.IsEmpty)
                    {
                        throw new EngagementValidationException(at + ".events", null, "name at least one event that ends the wait");
                    }

                    for (var k = 0; k < events.Length; k++)
                    {
                        if (!schema.IsKnownEvent(events[k] ?? string.Empty))
                        {
                            throw new EngagementValidationException($"{at}.events[{k}]", events[k], "is not a known event type: use a built-in type or declare the custom event in 'customEvents'");
                        }
                    }

                    IsoDuration.Require(at + ".timeout", waitFor.Timeout);
                    if (waitFor.OnEvent is not null)
                    {
                        StepTarget(ids, waitFor.OnEvent, at + ".onEvent");
                    }

                    if (waitFor.OnTimeout is not null)
                    {
                        StepTarget(ids, waitFor.OnTimeout, at + ".onTimeout");
                    }

                    break;
                case BranchStep branch:
                    var cases = branch.Cases.IsDefault ? [] : branch.Cases;
                    if (cases.IsEmpty)
                    {
                        throw new EngagementValidationException(at + ".cases", null, "a branch needs at least one case");
                    }

                    for (var k = 0; k < cases.Length; k++)
                    {
                        ConditionValidator.Validate(cases[k]?.When!, schema, $"{at}.cases[{k}].when");
                        StepTarget(ids, cases[k].Goto, $"{at}.cases[{k}].goto");
                    }

                    if (branch.Default is null)
                    {
                        throw new EngagementValidationException(at + ".default", null, "a branch needs a default: the step to go to when no case holds");
                    }

                    StepTarget(ids, branch.Default, at + ".default");
                    break;
                case MoveToStageStep move:
                    reachableStages[Target(stageIds, move.Stage, at + ".stage")] = true;
                    break;
                case ExitStep or GoalStep:
                    break;
                default:
                    throw new EngagementValidationException(at + ".type", step.GetType().Name, "is not a step type");
            }
        }

        // Every step must be reachable from the first.
        var seen = new bool[steps.Length];
        var pending = new Stack<int>();
        if (steps.Length > 0)
        {
            pending.Push(0);
        }

        while (pending.Count > 0)
        {
            var j = pending.Pop();
            if (seen[j])
            {
                continue;
            }

            seen[j] = true;
            foreach (var (next, _) in Successors(steps, ids, j))
            {
                pending.Push(next);
            }
        }

        for (var j = 0; j < steps.Length; j++)
        {
            if (!seen[j])
            {
                throw new EngagementValidationException($"{path}.steps[{j}]", steps[j].Id, "is unreachable: no step leads to it");
            }
        }
    }

    /// <summary>The steps that can follow step <paramref name="j"/> of a stage, and whether getting there takes no time.</summary>
    internal static IEnumerable<(int Step, bool Instant)> Successors(ImmutableArray<StepDefinition> steps, IReadOnlyDictionary<string, int> ids, int j)
    {
        var step = steps[j];
        int Next() => step.Next is { } next ? StepIndex(ids, next) : j + 1 < steps.Length ? j + 1 : -1;
        switch (step)
        {
            case BranchStep branch:
                foreach (var c in branch.Cases)
                {
                    if (StepIndex(ids, c.Goto) is var target and >= 0)
                    {
                        yield return (target, true);
                    }
                }

                if (StepIndex(ids, branch.Default) is var otherwise and >= 0)
                {
                    yield return (otherwise, true);
                }

                break;
            case WaitForEventStep waitFor:
                var onEvent = waitFor.OnEvent is { } e ? StepIndex(ids, e) : Next();
                var onTimeout = waitFor.OnTimeout is { } t ? StepIndex(ids, t) : Next();
                if (onEvent >= 0)
                {
                    yield return (onEvent, false);
                }

                if (onTimeout >= 0)
                {
                    yield return (onTimeout, false);
                }

                break;
            case ExitStep or MoveToStageStep:
                break;
            default:
                var following = Next();
                if (following >= 0)
                {
                    yield return (following, step is not WaitStep wait || wait.Duration == TimeSpan.Zero);
                }

                break;
        }
    }

    // A cycle of steps in which no time passes (zero-duration waits, sends, branches, goals, moves to a stage whose first step
    // leads back) would run forever in one evaluation: rejected.
    private static void FindInstantCycle(ImmutableArray<StageDefinition> stages, Dictionary<string, int> stageIds)
    {
        var ids = stages.Select(s => (s.Steps.IsDefault ? [] : s.Steps).Select((step, j) => KeyValuePair.Create(step.Id, j)).ToDictionary(StringComparer.Ordinal)).ToArray();
        var state = new Dictionary<(int Stage, int Step), int>(); // 1 on the path, 2 done
        var path = new List<(int Stage, int Step)>();

        IEnumerable<(int Stage, int Step)> Instant((int Stage, int Step) node)
        {
            var steps = stages[node.Stage].Steps;
            foreach (var (next, instant) in Successors(steps, ids[node.Stage], node.Step))
            {
                if (instant)
                {
                    yield return (node.Stage, next);
                }
            }

            if (steps[node.Step] is MoveToStageStep move && stageIds.TryGetValue(move.Stage, out var target) && !stages[target].Steps.IsDefaultOrEmpty)
            {
                yield return (target, 0);
            }
        }

        void Visit((int Stage, int Step) node)
        {
            state[node] = 1;
            path.Add(node);
            foreach (var next in Instant(node))
            {
                if (state.GetValueOrDefault(next) == 1)
                {
                    var cycle = path.Skip(path.IndexOf(next)).Append(next).Select(n => stages[n.Stage].Steps[n.Step].Id);
                    throw new EngagementValidationException(
                        $"$.stages[{next.Stage}].steps[{next.Step}]",
                        string.Join(" → ", cycle),
                        "a cycle of steps that takes no time (sends, branches, goals, moves, zero-duration waits) would never end; put a wait with a duration in it");
                }

                if (state.GetValueOrDefault(next) == 0)
                {
                    Visit(next);
                }
            }

            path.RemoveAt(path.Count - 1);
            state[node] = 2;
        }

        for (var s = 0; s < stages.Length; s++)
        {
            for (var j = 0; j < (stages[s].Steps.IsDefault ? 0 : stages[s].Steps.Length); j++)
            {
                if (state.GetValueOrDefault((s, j)) == 0)
                {
                    Visit((s, j));
                }
            }
        }
    }

    private static int Target(Dictionary<string, int> stageIds, string? stage, string path)
        => stage is not null && stageIds.TryGetValue(stage, out var index)
            ? index
            : throw new EngagementValidationException(path, stage, "is not a stage of this journey");

    private static int StepTarget(Dictionary<string, int> ids, string? step, string path)
        => step == EndOfSteps ? -1 : step is not null && ids.TryGetValue(step, out var index)
            ? index
            : throw new EngagementValidationException(path, step, "is not a step of this stage (or 'end', the end of the steps)");

    /// <summary>The step id that stands for the end of a stage's steps.</summary>
    public const string EndOfSteps = "end";

    /// <summary>The index of a step id of a stage, -1 for <see cref="EndOfSteps"/>.</summary>
    internal static int StepIndex(IReadOnlyDictionary<string, int> ids, string step) => step == EndOfSteps ? -1 : ids[step];
}
