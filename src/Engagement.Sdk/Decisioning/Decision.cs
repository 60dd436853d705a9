using System.Collections.Immutable;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Decisioning;

/// <summary>What happened to one candidate in a decision.</summary>
public enum CandidateStatus
{
    /// <summary>The candidate was chosen.</summary>
    Chosen,

    /// <summary>A filter removed it; see the reason.</summary>
    Rejected,

    /// <summary>It passed every filter but another scored higher.</summary>
    Outranked,
}

/// <summary>The stable reason codes of candidate evaluations.</summary>
public static class DecisionReasons
{
    /// <summary>The action is not eligible in the customer's journey stage.</summary>
    public const string NotInStage = "not_in_stage";

    /// <summary>The action's eligibility condition does not hold for the customer.</summary>
    public const string NotEligible = "not_eligible";

    /// <summary>The customer already bought the product.</summary>
    public const string AlreadyBought = "already_bought";

    /// <summary>The product is out of stock.</summary>
    public const string OutOfStock = "out_of_stock";

    /// <summary>No channel of the action is both available and permitted.</summary>
    public const string NoPermittedChannel = "no_permitted_channel";

    /// <summary>The candidate scored highest.</summary>
    public const string HighestScore = "highest_score";

    /// <summary>Another candidate scored higher.</summary>
    public const string Outranked = "outranked";

    /// <summary>Nothing was worth sending, so the decision is to do nothing.</summary>
    public const string NothingBetter = "nothing_better";

    /// <summary>The customer objects to profiling (<see cref="Profiles.CustomerProfile.ProfilingObjectedAt"/>): no action but a transactional one is chosen for them.</summary>
    public const string ProfilingObjected = "profiling_objected";
}

/// <summary>The evaluation of one candidate action.</summary>
/// <param name="ActionId">The action.</param>
/// <param name="Status">Chosen, rejected or outranked.</param>
/// <param name="Reason">A stable code from <see cref="DecisionReasons"/>.</param>
/// <param name="Detail">A sentence for people.</param>
/// <param name="Channel">The channel it would go out on, when one was permitted.</param>
/// <param name="Score">Value × propensity × lever, when scored.</param>
/// <param name="ChannelChecks">The permission decisions for each channel tried, in order.</param>
public sealed record CandidateEvaluation(string ActionId, CandidateStatus Status, string Reason, string Detail, Channel? Channel, double Score, ImmutableArray<ChannelCheck> ChannelChecks);

/// <summary>The permission decision for one channel of a candidate.</summary>
/// <param name="Channel">The channel.</param>
/// <param name="Decision">The gate's answer.</param>
public sealed record ChannelCheck(Channel Channel, PermissionDecision Decision);

/// <summary>A next-best-action decision: the chosen action, on which channel, why, and why not each other candidate.</summary>
/// <param name="CustomerId">The customer.</param>
/// <param name="At">When it was taken.</param>
/// <param name="Action">The chosen action (the do-nothing action when nothing was worth sending).</param>
/// <param name="Channel">The channel, or <see langword="null"/> for do-nothing.</param>
/// <param name="Address">The address on the channel, when it needs one.</param>
/// <param name="Score">The chosen action's score.</param>
/// <param name="Propensity">The chosen action's estimated response probability.</param>
/// <param name="Candidates">Every candidate's evaluation, chosen first, then by score.</param>
public sealed record Decision(CustomerId CustomerId, DateTimeOffset At, ActionDefinition Action, Channel? Channel, Identifier? Address, double Score, double Propensity, ImmutableArray<CandidateEvaluation> Candidates)
{
    /// <summary>Whether the decision is to do nothing.</summary>
    public bool IsNoAction => Action.Kind == ActionKind.NoAction;

    /// <summary>A one-line explanation of the choice.</summary>
    /// <returns>The explanation.</returns>
    public string Explain() => Candidates.Length == 0 ? Action.Id : Candidates[0].Detail;
}
