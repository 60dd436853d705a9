using System.Collections.Immutable;
using Engagement.Sdk.Conditions;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Journeys;

/// <summary>
/// Builds a <see cref="JourneyDefinition"/> from C#, with the same rules as the JSON form: <see cref="Build"/> validates the
/// whole and names the JSON path of any problem (so a definition built in code and the same one in JSON fail alike).
/// </summary>
public sealed class JourneyBuilder
{
    private readonly List<StageDefinition> _stages = [];
    private readonly List<JourneyMigration> _migrations = [];
    private readonly Dictionary<string, TraitKind> _traits = new(StringComparer.Ordinal);
    private readonly List<string> _customEvents = [];
    private readonly string _id;
    private readonly int _version;
    private string? _name;
    private Condition? _entry;
    private JourneyGoal? _goal;
    private ControlGroup? _control;
    private ReEntryPolicy _reEntry = ReEntryPolicy.Never;

    internal JourneyBuilder(string id, int version)
    {
        _id = id;
        _version = version;
    }

    /// <summary>Sets the display name.</summary>
    /// <param name="name">The name.</param>
    /// <returns>The builder.</returns>
    public JourneyBuilder Named(string name)
    {
        _name = name;
        return this;
    }

    /// <summary>Declares a trait the conditions test.</summary>
    /// <param name="name">The trait.</param>
    /// <param name="kind">Its type.</param>
    /// <returns>The builder.</returns>
    public JourneyBuilder Trait(string name, TraitKind kind)
    {
        _traits[name] = kind;
        return this;
    }

    /// <summary>Declares a custom event the conditions and waits name.</summary>
    /// <param name="name">The custom event's name.</param>
    /// <returns>The builder.</returns>
    public JourneyBuilder CustomEvent(string name)
    {
        _customEvents.Add(name);
        return this;
    }

    /// <summary>Sets who may enter the journey at all.</summary>
    /// <param name="condition">The condition.</param>
    /// <returns>The builder.</returns>
    public JourneyBuilder Entry(Condition condition)
    {
        _entry = condition;
        return this;
    }

    /// <summary>Sets the journey's goal.</summary>
    /// <param name="when">The condition that marks it reached.</param>
    /// <param name="exitOnGoal">Whether reaching it ends the journey for the customer.</param>
    /// <returns>The builder.</returns>
    public JourneyBuilder Goal(Condition when, bool exitOnGoal = false)
    {
        _goal = new JourneyGoal(when, exitOnGoal);
        return this;
    }

    /// <summary>Holds out a control group.</summary>
    /// <param name="percent">The share in percent (more than 0, at most 50).</param>
    /// <param name="salt">Changes the split.</param>
    /// <returns>The builder.</returns>
    public JourneyBuilder ControlGroup(double percent, string? salt = null)
    {
        _control = new ControlGroup(percent, salt);
        return this;
    }

    /// <summary>Allows customers who left to enter again.</summary>
    /// <param name="after">How long after leaving at the earliest.</param>
    /// <returns>The builder.</returns>
    public JourneyBuilder AllowReEntry(TimeSpan after)
    {
        _reEntry = new ReEntryPolicy(true, after);
        return this;
    }

    /// <summary>Moves customers in flight on an older version to this one.</summary>
    /// <param name="from">The older version.</param>
    /// <param name="stages">Old stage id → new stage id.</param>
    /// <returns>The builder.</returns>
    public JourneyBuilder Migrate(int from, IEnumerable<KeyValuePair<string, string>> stages)
    {
        _migrations.Add(new JourneyMigration(from, stages.ToImmutableDictionary(StringComparer.Ordinal)));
        return this;
    }

    /// <summary>Adds a stage.</summary>
    /// <param name="stage">The stage.</param>
    /// <returns>The builder.</returns>
    public JourneyBuilder Stage(StageDefinition stage)
    {
        _stages.Add(stage);
        return this;
    }

    /// <summary>Adds a stage built by <paramref name="configure"/>.</summary>
    /// <param name="id">The stage's id.</param>
    /// <param name="configure">Sets the stage's rules and steps.</param>
    /// <returns>The builder.</returns>
    public JourneyBuilder Stage(string id, Action<StageBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var builder = new StageBuilder(id);
        configure(builder);
        _stages.Add(builder.Build());
        return this;
    }

    /// <summary>Validates and builds the definition.</summary>
    /// <param name="schema">What the conditions may name besides what the definition declares.</param>
    /// <returns>The definition.</returns>
    /// <exception cref="EngagementValidationException">The definition breaks a rule; the field is the JSON path.</exception>
    public JourneyDefinition Build(ConditionSchema? schema = null) => JourneyDefinition.Build(
        new JourneyParts
        {
            Id = _id,
            Version = _version,
            Name = _name,
            Traits = _traits.ToImmutableDictionary(StringComparer.Ordinal),
            CustomEvents = [.. _customEvents],
            Entry = _entry,
            Goal = _goal,
            ControlGroup = _control,
            ReEntry = _reEntry,
            Migrations = [.. _migrations],
            Stages = [.. _stages],
        },
        schema);
}

/// <summary>Builds one stage for <see cref="JourneyBuilder.Stage(string, Action{StageBuilder})"/>.</summary>
public sealed class StageBuilder
{
    private readonly List<StepDefinition> _steps = [];
    private readonly string _id;
    private string? _name;
    private Condition? _entry;
    private StageExit? _exit;
    private int? _priority;
    private bool _terminal;

    internal StageBuilder(string id) => _id = id;

    /// <summary>Sets the display name.</summary>
    /// <param name="name">The name.</param>
    /// <returns>The builder.</returns>
    public StageBuilder Named(string name)
    {
        _name = name;
        return this;
    }

    /// <summary>Sets when a customer may enter the stage.</summary>
    /// <param name="condition">The condition.</param>
    /// <returns>The builder.</returns>
    public StageBuilder Entry(Condition condition)
    {
        _entry = condition;
        return this;
    }

    /// <summary>Sets when a customer must leave the stage, and where to.</summary>
    /// <param name="when">The condition.</param>
    /// <param name="to">The stage to go to; <see langword="null"/> for the best stage whose entry holds.</param>
    /// <returns>The builder.</returns>
    public StageBuilder Exit(Condition when, string? to = null)
    {
        _exit = new StageExit(when, to);
        return this;
    }

    /// <summary>Makes a customer leave the stage as soon as its entry no longer holds (exit when not entry).</summary>
    /// <returns>The builder.</returns>
    public StageBuilder ExitWhenEntryFails()
    {
        _exit = new StageExit(Condition.Not(_entry ?? throw new InvalidOperationException("Set the entry before ExitWhenEntryFails.")));
        return this;
    }

    /// <summary>Sets the stage's priority (higher wins when several stages' entries hold).</summary>
    /// <param name="priority">The priority.</param>
    /// <returns>The builder.</returns>
    public StageBuilder Priority(int priority)
    {
        _priority = priority;
        return this;
    }

    /// <summary>Makes the stage terminal: the journey ends here.</summary>
    /// <returns>The builder.</returns>
    public StageBuilder Terminal()
    {
        _terminal = true;
        return this;
    }

    /// <summary>Adds a step.</summary>
    /// <param name="step">The step.</param>
    /// <returns>The builder.</returns>
    public StageBuilder Step(StepDefinition step)
    {
        _steps.Add(step);
        return this;
    }

    /// <summary>Adds a send step: the best permitted of the actions goes through next-best-action and the permission gate.</summary>
    /// <param name="id">The step's id.</param>
    /// <param name="actions">The candidate actions.</param>
    /// <returns>The builder.</returns>
    public StageBuilder Send(string id, params string[] actions) => Step(new SendStep(id, [.. actions]));

    /// <summary>Adds a wait.</summary>
    /// <param name="id">The step's id.</param>
    /// <param name="duration">How long.</param>
    /// <returns>The builder.</returns>
    public StageBuilder Wait(string id, TimeSpan duration) => Step(new WaitStep(id, duration));

    /// <summary>Adds a wait for an event with a time-out.</summary>
    /// <param name="id">The step's id.</param>
    /// <param name="events">The event types that end the wait.</param>
    /// <param name="timeout">The time-out.</param>
    /// <param name="onEvent">Where to go when an event came (default: the next step).</param>
    /// <param name="onTimeout">Where to go when none came (default: the next step).</param>
    /// <returns>The builder.</returns>
    public StageBuilder WaitFor(string id, IEnumerable<string> events, TimeSpan timeout, string? onEvent = null, string? onTimeout = null)
        => Step(new WaitForEventStep(id, [.. events], timeout, onEvent, onTimeout));

    /// <summary>Adds a branch.</summary>
    /// <param name="id">The step's id.</param>
    /// <param name="otherwise">Where to go when no case holds.</param>
    /// <param name="cases">The cases, in order.</param>
    /// <returns>The builder.</returns>
    public StageBuilder Branch(string id, string otherwise, params BranchCase[] cases) => Step(new BranchStep(id, [.. cases], otherwise));

    /// <summary>Adds a step that marks the goal as reached.</summary>
    /// <param name="id">The step's id.</param>
    /// <returns>The builder.</returns>
    public StageBuilder GoalReached(string id) => Step(new GoalStep(id));

    /// <summary>Adds a step that takes the customer out of the journey.</summary>
    /// <param name="id">The step's id.</param>
    /// <returns>The builder.</returns>
    public StageBuilder ExitJourney(string id) => Step(new ExitStep(id));

    /// <summary>Adds a step that moves the customer to another stage.</summary>
    /// <param name="id">The step's id.</param>
    /// <param name="stage">The stage.</param>
    /// <returns>The builder.</returns>
    public StageBuilder MoveTo(string id, string stage) => Step(new MoveToStageStep(id, stage));

    internal StageDefinition Build() => new()
    {
        Id = _id,
        Name = _name,
        Entry = _entry,
        Exit = _exit,
        Priority = _priority,
        Terminal = _terminal,
        Steps = [.. _steps],
    };
}
