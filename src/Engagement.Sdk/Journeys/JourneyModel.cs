using System.Collections.Immutable;
using Engagement.Sdk.Conditions;

namespace Engagement.Sdk.Journeys;

/// <summary>One stage of a journey: when a customer enters it, when they must leave it, and the steps run while they are in it.</summary>
/// <remarks>
/// A customer not in the journey enters the stage of highest priority whose <see cref="Entry"/> holds. A customer in a stage
/// moves to another stage whose entry holds when its priority is higher (so later stages pull customers forward, and lapse
/// stages of high priority pull them back), or when the current stage's <see cref="Exit"/> holds (then to
/// <see cref="StageExit.To"/>, or to the best stage whose entry holds, or out of the journey when none does).
/// </remarks>
public sealed record StageDefinition
{
    /// <summary>The stage's id (lower-case letters, digits, '_' or '-'; unique in the journey).</summary>
    public required string Id { get; init; }

    /// <summary>A display name.</summary>
    public string? Name { get; init; }

    /// <summary>When a customer may enter the stage; <see langword="null"/> for a stage entered only by an exit's or a step's move.</summary>
    public Condition? Entry { get; init; }

    /// <summary>When a customer must leave the stage, and where to; <see langword="null"/> to stay until a stage of higher priority pulls them on.</summary>
    public StageExit? Exit { get; init; }

    /// <summary>The stage's priority when several stages' entries hold (higher wins); <see langword="null"/> for its position in the list.</summary>
    public int? Priority { get; init; }

    /// <summary>Whether the journey ends here: no rule moves a customer out of a terminal stage (only a re-entry starts them over).</summary>
    public bool Terminal { get; init; }

    /// <summary>The steps run, in order, from entering the stage.</summary>
    public ImmutableArray<StepDefinition> Steps { get; init; } = [];
}

/// <summary>When a customer must leave a stage, and where to.</summary>
/// <param name="When">The condition.</param>
/// <param name="To">The stage to go to; <see langword="null"/> for the stage of highest priority whose entry holds (or out of the journey when none does).</param>
public sealed record StageExit(Condition When, string? To = null);

/// <summary>What counts as the journey's goal (a conversion), measured against the control group.</summary>
/// <param name="When">The condition that marks the goal as reached.</param>
/// <param name="ExitOnGoal">Whether a customer who reaches the goal leaves the journey.</param>
public sealed record JourneyGoal(Condition When, bool ExitOnGoal = false);

/// <summary>A stable share of the journey's entrants who are never sent anything by it (their would-be sends are recorded), to measure what it earns.</summary>
/// <param name="Percent">The share, in percent (more than 0, at most 50).</param>
/// <param name="Salt">Changes the split (a new experiment); the same salt always puts a customer in the same group.</param>
public sealed record ControlGroup(double Percent, string? Salt = null);

/// <summary>Whether a customer who left the journey (or reached a terminal stage) may enter it again.</summary>
/// <param name="Allowed">Whether re-entry is allowed.</param>
/// <param name="After">How long after leaving (or entering the terminal stage) at the earliest.</param>
public sealed record ReEntryPolicy(bool Allowed, TimeSpan After)
{
    /// <summary>No re-entry (the default).</summary>
    public static ReEntryPolicy Never { get; } = new(false, TimeSpan.Zero);
}

/// <summary>How customers in flight on an older version of the journey move to this version.</summary>
/// <param name="From">The older version.</param>
/// <param name="Stages">Old stage id → stage of this version; a stage not listed keeps its id if this version has it, else the customer leaves the journey.</param>
public sealed record JourneyMigration(int From, ImmutableDictionary<string, string> Stages);

/// <summary>One step inside a stage.</summary>
/// <param name="Id">The step's id (unique in the stage).</param>
public abstract record StepDefinition(string Id)
{
    /// <summary>
    /// The step to go to after this one: a step id of the stage, or <c>end</c> for the end of the steps; <see langword="null"/>
    /// for the next in the list (or the end, after the last). Every step target (<c>onEvent</c>, <c>goto</c>, <c>default</c>)
    /// may be <c>end</c> too.
    /// </summary>
    public string? Next { get; init; }
}

/// <summary>
/// Sends one of the actions through next-best-action and the permission gate (never a bypass): the best permitted of them is
/// queued in the outbox; a control-group customer's would-be send is recorded instead.
/// </summary>
/// <param name="Id">The step's id.</param>
/// <param name="Actions">The candidate actions (ids in the action catalogue).</param>
public sealed record SendStep(string Id, ImmutableArray<string> Actions) : StepDefinition(Id);

/// <summary>Waits for a duration.</summary>
/// <param name="Id">The step's id.</param>
/// <param name="Duration">How long.</param>
public sealed record WaitStep(string Id, TimeSpan Duration) : StepDefinition(Id);

/// <summary>Waits until one of the events happens, or the time-out passes.</summary>
/// <param name="Id">The step's id.</param>
/// <param name="Events">The event types that end the wait.</param>
/// <param name="Timeout">How long to wait at most.</param>
/// <param name="OnEvent">Where to go when an event came; <see langword="null"/> for <see cref="StepDefinition.Next"/>.</param>
/// <param name="OnTimeout">Where to go when none came; <see langword="null"/> for <see cref="StepDefinition.Next"/>.</param>
public sealed record WaitForEventStep(string Id, ImmutableArray<string> Events, TimeSpan Timeout, string? OnEvent = null, string? OnTimeout = null) : StepDefinition(Id);

/// <summary>Goes to the step of the first case whose condition holds, else to the default.</summary>
/// <param name="Id">The step's id.</param>
/// <param name="Cases">The cases, in order.</param>
/// <param name="Default">Where to go when no case holds (required).</param>
public sealed record BranchStep(string Id, ImmutableArray<BranchCase> Cases, string Default) : StepDefinition(Id);

/// <summary>One case of a branch.</summary>
/// <param name="When">The condition.</param>
/// <param name="Goto">The step to go to.</param>
public sealed record BranchCase(Condition When, string Goto);

/// <summary>Takes the customer out of the journey.</summary>
/// <param name="Id">The step's id.</param>
public sealed record ExitStep(string Id) : StepDefinition(Id);

/// <summary>Marks the journey's goal as reached for the customer.</summary>
/// <param name="Id">The step's id.</param>
public sealed record GoalStep(string Id) : StepDefinition(Id);

/// <summary>Moves the customer to another stage (whose steps then start).</summary>
/// <param name="Id">The step's id.</param>
/// <param name="Stage">The stage.</param>
public sealed record MoveToStageStep(string Id, string Stage) : StepDefinition(Id);
