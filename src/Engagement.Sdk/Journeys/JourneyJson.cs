using System.Buffers;
using System.Collections.Immutable;
using System.Text;
using System.Text.Json;
using Engagement.Sdk.Conditions;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Journeys;

/// <summary>Reads and writes the JSON form of journey definitions (the schema is in docs/journeys.md).</summary>
internal static class JourneyJson
{
    private static readonly string[] StepTypes = ["send", "wait", "waitForEvent", "branch", "exit", "goal", "moveTo"];

    public static JourneyParts Read(JsonElement root)
    {
        var o = JsonObjectReader.Open(root, "$");
        var id = o.RequireString("id");
        var version = o.OptionalInt("version") ?? 1;
        var name = o.OptionalString("name");
        var traits = ImmutableDictionary.CreateBuilder<string, TraitKind>(StringComparer.Ordinal);
        if (o.Optional("traits") is { } traitsElement)
        {
            var t = JsonObjectReader.Open(traitsElement, o.PathOf("traits"));
            foreach (var property in traitsElement.EnumerateObject())
            {
                var kindText = t.RequireString(property.Name);
                traits[property.Name] = ParseTraitKind(kindText, t.PathOf(property.Name));
            }

            t.Done();
        }

        var customEvents = o.OptionalStrings("customEvents") ?? [];
        var entry = o.Optional("entry") is { } entryElement ? ConditionJson.Read(entryElement, o.PathOf("entry")) : null;
        JourneyGoal? goal = null;
        if (o.Optional("goal") is { } goalElement)
        {
            var g = JsonObjectReader.Open(goalElement, o.PathOf("goal"));
            goal = new JourneyGoal(ConditionJson.Read(g.Require("when"), g.PathOf("when")), g.OptionalBool("exit") ?? false);
            g.Done();
        }

        ControlGroup? control = null;
        if (o.Optional("controlGroup") is { } controlElement)
        {
            var c = JsonObjectReader.Open(controlElement, o.PathOf("controlGroup"));
            var percent = c.OptionalDecimal("percent") ?? throw new EngagementValidationException(c.PathOf("percent"), null, "is required");
            control = new ControlGroup((double)percent, c.OptionalString("salt"));
            c.Done();
        }

        var reEntry = ReEntryPolicy.Never;
        if (o.Optional("reEntry") is { } reEntryElement)
        {
            var r = JsonObjectReader.Open(reEntryElement, o.PathOf("reEntry"));
            reEntry = new ReEntryPolicy(r.OptionalBool("allowed") ?? false, r.OptionalDuration("after") ?? TimeSpan.Zero);
            r.Done();
        }

        var migrations = ImmutableArray.CreateBuilder<JourneyMigration>();
        if (o.Optional("migrations") is { } migrationsElement)
        {
            var i = 0;
            foreach (var item in JsonObjectReader.RequireArray(migrationsElement, o.PathOf("migrations")).EnumerateArray())
            {
                var m = JsonObjectReader.Open(item, $"{o.PathOf("migrations")}[{i++}]");
                var from = m.OptionalInt("from") ?? throw new EngagementValidationException(m.PathOf("from"), null, "is required");
                var map = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
                if (m.Optional("stages") is { } stagesElement)
                {
                    var s = JsonObjectReader.Open(stagesElement, m.PathOf("stages"));
                    foreach (var property in stagesElement.EnumerateObject())
                    {
                        map[property.Name] = s.RequireString(property.Name);
                    }

                    s.Done();
                }

                migrations.Add(new JourneyMigration(from, map.ToImmutable()));
                m.Done();
            }
        }

        var stages = ImmutableArray.CreateBuilder<StageDefinition>();
        var stagesPath = o.PathOf("stages");
        var index = 0;
        foreach (var item in JsonObjectReader.RequireArray(o.Require("stages"), stagesPath).EnumerateArray())
        {
            stages.Add(ReadStage(item, $"{stagesPath}[{index++}]"));
        }

        o.Done();
        return new JourneyParts
        {
            Id = id,
            Version = version,
            Name = name,
            Traits = traits.ToImmutable(),
            CustomEvents = [.. customEvents],
            Entry = entry,
            Goal = goal,
            ControlGroup = control,
            ReEntry = reEntry,
            Migrations = migrations.ToImmutable(),
            Stages = stages.ToImmutable(),
        };
    }

    private static StageDefinition ReadStage(JsonElement element, string path)
    {
        var o = JsonObjectReader.Open(element, path);
        var id = o.RequireString("id");
        var name = o.OptionalString("name");
        var entry = o.Optional("entry") is { } entryElement ? ConditionJson.Read(entryElement, o.PathOf("entry")) : null;
        StageExit? exit = null;
        if (o.Optional("exit") is { } exitElement)
        {
            var e = JsonObjectReader.Open(exitElement, o.PathOf("exit"));
            exit = new StageExit(ConditionJson.Read(e.Require("when"), e.PathOf("when")), e.OptionalString("to"));
            e.Done();
        }

        var priority = o.OptionalInt("priority");
        var terminal = o.OptionalBool("terminal") ?? false;
        var steps = ImmutableArray.CreateBuilder<StepDefinition>();
        if (o.Optional("steps") is { } stepsElement)
        {
            var i = 0;
            foreach (var item in JsonObjectReader.RequireArray(stepsElement, o.PathOf("steps")).EnumerateArray())
            {
                steps.Add(ReadStep(item, $"{o.PathOf("steps")}[{i++}]"));
            }
        }

        o.Done();
        return new StageDefinition { Id = id, Name = name, Entry = entry, Exit = exit, Priority = priority, Terminal = terminal, Steps = steps.ToImmutable() };
    }

    private static StepDefinition ReadStep(JsonElement element, string path)
    {
        var o = JsonObjectReader.Open(element, path);
        var id = o.RequireString("id");
        var type = o.RequireString("type");
        StepDefinition step = type switch
        {
            "send" => new SendStep(id, [.. o.OptionalStrings("actions") ?? throw new EngagementValidationException(o.PathOf("actions"), null, "is required: the candidate actions")]),
            "wait" => new WaitStep(id, o.OptionalDuration("duration") ?? throw new EngagementValidationException(o.PathOf("duration"), null, "is required")),
            "waitForEvent" => new WaitForEventStep(
                id,
                [.. o.OptionalStrings("events") ?? throw new EngagementValidationException(o.PathOf("events"), null, "is required: the events that end the wait")],
                o.OptionalDuration("timeout") ?? throw new EngagementValidationException(o.PathOf("timeout"), null, "is required: a wait for an event needs a time-out"),
                o.OptionalString("onEvent"),
                o.OptionalString("onTimeout")),
            "branch" => ReadBranch(o, id),
            "exit" => new ExitStep(id),
            "goal" => new GoalStep(id),
            "moveTo" => new MoveToStageStep(id, o.RequireString("stage")),
            _ => throw new EngagementValidationException(o.PathOf("type"), type, "is not a step type; use one of " + string.Join(", ", StepTypes)),
        };

        step = step with { Next = o.OptionalString("next") };
        o.Done();
        return step;
    }

    private static BranchStep ReadBranch(JsonObjectReader o, string id)
    {
        var cases = ImmutableArray.CreateBuilder<BranchCase>();
        var casesPath = o.PathOf("cases");
        var i = 0;
        foreach (var item in JsonObjectReader.RequireArray(o.Require("cases"), casesPath).EnumerateArray())
        {
            var c = JsonObjectReader.Open(item, $"{casesPath}[{i++}]");
            cases.Add(new BranchCase(ConditionJson.Read(c.Require("when"), c.PathOf("when")), c.RequireString("goto")));
            c.Done();
        }

        // A missing default is a validation error (with the path), not a reading one, so that C# and JSON fail alike.
        return new BranchStep(id, cases.ToImmutable(), o.OptionalString("default")!);
    }

    private static TraitKind ParseTraitKind(string text, string path) => text switch
    {
        "string" => TraitKind.String,
        "number" => TraitKind.Number,
        "boolean" => TraitKind.Boolean,
        "date" => TraitKind.Date,
        "list" => TraitKind.List,
        _ => throw new EngagementValidationException(path, text, "is not a trait type; use string, number, boolean, date or list"),
    };

    public static string Write(JourneyDefinition journey, bool indented)
    {
        var buffer = new ArrayBufferWriter<byte>(2048);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented }))
        {
            w.WriteStartObject();
            w.WriteString("id", journey.Id);
            w.WriteNumber("version", journey.Version);
            if (journey.Name is not null)
            {
                w.WriteString("name", journey.Name);
            }

            if (!journey.Traits.IsEmpty)
            {
                w.WriteStartObject("traits");
                foreach (var (name, kind) in journey.Traits.OrderBy(t => t.Key, StringComparer.Ordinal))
                {
                    w.WriteString(name, kind.ToString().ToLowerInvariant());
                }

                w.WriteEndObject();
            }

            if (!journey.CustomEvents.IsDefaultOrEmpty)
            {
                WriteStrings(w, "customEvents", journey.CustomEvents);
            }

            if (journey.Entry is not null)
            {
                w.WritePropertyName("entry");
                ConditionJson.Write(w, journey.Entry);
            }

            if (journey.Goal is { } goal)
            {
                w.WriteStartObject("goal");
                w.WritePropertyName("when");
                ConditionJson.Write(w, goal.When);
                if (goal.ExitOnGoal)
                {
                    w.WriteBoolean("exit", true);
                }

                w.WriteEndObject();
            }

            if (journey.ControlGroup is { } control)
            {
                w.WriteStartObject("controlGroup");
                w.WriteNumber("percent", control.Percent);
                if (control.Salt is not null)
                {
                    w.WriteString("salt", control.Salt);
                }

                w.WriteEndObject();
            }

            if (journey.ReEntry.Allowed)
            {
                w.WriteStartObject("reEntry");
                w.WriteBoolean("allowed", true);
                w.WriteString("after", IsoDuration.Format(journey.ReEntry.After));
                w.WriteEndObject();
            }

            if (!journey.Migrations.IsDefaultOrEmpty)
            {
                w.WriteStartArray("migrations");
                foreach (var migration in journey.Migrations)
                {
                    w.WriteStartObject();
                    w.WriteNumber("from", migration.From);
                    w.WriteStartObject("stages");
                    foreach (var (from, to) in migration.Stages.OrderBy(s => s.Key, StringComparer.Ordinal))
                    {
                        w.WriteString(from, to);
                    }

                    w.WriteEndObject();
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteStartArray("stages");
            foreach (var stage in journey.Stages)
            {
                WriteStage(w, stage);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteStage(Utf8JsonWriter w, StageDefinition stage)
    {
        w.WriteStartObject();
        w.WriteString("id", stage.Id);
        if (stage.Name is not null)
        {
            w.WriteString("name", stage.Name);
        }

        if (stage.Entry is not null)
        {
            w.WritePropertyName("entry");
            ConditionJson.Write(w, stage.Entry);
        }

        if (stage.Exit is { } exit)
        {
            w.WriteStartObject("exit");
            w.WritePropertyName("when");
            ConditionJson.Write(w, exit.When);
            if (exit.To is not null)
            {
                w.WriteString("to", exit.To);
            }

            w.WriteEndObject();
        }

        if (stage.Priority is { } priority)
        {
            w.WriteNumber("priority", priority);
        }

        if (stage.Terminal)
        {
            w.WriteBoolean("terminal", true);
        }

        if (!stage.Steps.IsDefaultOrEmpty)
        {
            w.WriteStartArray("steps");
            foreach (var step in stage.Steps)
            {
                WriteStep(w, step);
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
    }

    private static void WriteStep(Utf8JsonWriter w, StepDefinition step)
    {
        w.WriteStartObject();
        w.WriteString("id", step.Id);
        switch (step)
        {
            case SendStep send:
                w.WriteString("type", "send");
                WriteStrings(w, "actions", send.Actions);
                break;
            case WaitStep wait:
                w.WriteString("type", "wait");
                w.WriteString("duration", IsoDuration.Format(wait.Duration));
                break;
            case WaitForEventStep waitFor:
                w.WriteString("type", "waitForEvent");
                WriteStrings(w, "events", waitFor.Events);
                w.WriteString("timeout", IsoDuration.Format(waitFor.Timeout));
                if (waitFor.OnEvent is not null)
                {
                    w.WriteString("onEvent", waitFor.OnEvent);
                }

                if (waitFor.OnTimeout is not null)
                {
                    w.WriteString("onTimeout", waitFor.OnTimeout);
                }

                break;
            case BranchStep branch:
                w.WriteString("type", "branch");
                w.WriteStartArray("cases");
                foreach (var c in branch.Cases)
                {
                    w.WriteStartObject();
                    w.WritePropertyName("when");
                    ConditionJson.Write(w, c.When);
                    w.WriteString("goto", c.Goto);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteString("default", branch.Default);
                break;
            case ExitStep:
                w.WriteString("type", "exit");
                break;
            case GoalStep:
                w.WriteString("type", "goal");
                break;
            case MoveToStageStep move:
                w.WriteString("type", "moveTo");
                w.WriteString("stage", move.Stage);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(step), step.GetType().Name, "not a step type");
        }

        if (step.Next is not null)
        {
            w.WriteString("next", step.Next);
        }

        w.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter w, string name, ImmutableArray<string> values)
    {
        w.WriteStartArray(name);
        foreach (var value in values.IsDefault ? [] : values)
        {
            w.WriteStringValue(value);
        }

        w.WriteEndArray();
    }
}
