using System.Collections.Immutable;
using System.Text.Json.Serialization;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Decisioning;

/// <summary>What happened to one candidate in a decision.</summary>
public enum CandidateStatus
{
    /// <summary>The candidate was chosen.</summary>
    Chosen,

    /// <summary>A filter or a constraint removed it; see the reason.</summary>
    Rejected,

    /// <summary>It passed every filter but was not chosen.</summary>
    Outranked,
}

/// <summary>The steps of the decision pipeline, in order: the step at which a candidate left it, or where it was chosen.</summary>
public enum DecisionStage
{
    /// <summary>Candidate generation (action × channel × treatment, and do-nothing).</summary>
    Candidate,

    /// <summary>The action's validity dates.</summary>
    Validity,

    /// <summary>Who may get the action: stages, eligibility rules.</summary>
    Eligibility,

    /// <summary>Whether the action makes sense now: owned, in cart, out of stock, cooldown, replenishment.</summary>
    Applicability,

    /// <summary>Whether the action is in the customer's interest: the host's suitability rules.</summary>
    Suitability,

    /// <summary>Whether the channel can reach the customer: a sender, an address, and the permission gate (consent, caps, quiet hours).</summary>
    Channel,

    /// <summary>The action's own contact policy: sends per window, gaps after a send or a dismissal.</summary>
    ContactPolicy,

    /// <summary>Scored: context × levers × (propensity × value − cost).</summary>
    Score,

    /// <summary>Chosen (or not) by the exploration policy among the survivors.</summary>
    Exploration,

    /// <summary>Post-rank constraints: slots, diversity by group, volume budgets.</summary>
    PostRank,

    /// <summary>Experiments: control groups and champion/challenger.</summary>
    Experiment,

    /// <summary>The fallback when nothing else was chosen.</summary>
    Fallback,
}

/// <summary>The stable reason codes of candidate evaluations.</summary>
public static class DecisionReasons
{
    /// <summary>Validity: the action's <see cref="ActionDefinition.ValidFrom"/> is still to come.</summary>
    public const string NotYetValid = "not_yet_valid";

    /// <summary>Validity: the action's <see cref="ActionDefinition.ValidUntil"/> has passed.</summary>
    public const string Expired = "expired";

    /// <summary>Eligibility: the action is not eligible in the customer's stage of the decision journey.</summary>
    public const string NotInStage = "not_in_stage";

    /// <summary>Eligibility: the action's <see cref="ActionDefinition.Eligibility"/> condition does not hold for the customer.</summary>
    public const string NotEligible = "not_eligible";

    /// <summary>Applicability: the customer already bought the product (and it is not due for replenishment).</summary>
    public const string AlreadyBought = "already_bought";

    /// <summary>Applicability: the product is in the customer's cart.</summary>
    public const string InCart = "in_cart";

    /// <summary>Applicability: the action needs its product in the cart, and it is not there.</summary>
    public const string NotInCart = "not_in_cart";

    /// <summary>Applicability: the product is out of stock.</summary>
    public const string OutOfStock = "out_of_stock";

    /// <summary>Applicability: the customer bought something too recently (<see cref="ActionDefinition.PurchaseCooldown"/>).</summary>
    public const string PurchaseCooldown = "purchase_cooldown";

    /// <summary>Applicability: the customer bought the product and its replenishment window has not opened yet.</summary>
    public const string BeforeReplenishment = "before_replenishment";

    /// <summary>Suitability: one of the action's <see cref="ActionDefinition.Suitability"/> rules does not hold.</summary>
    public const string NotSuitable = "not_suitable";

    /// <summary>Channel: no sender is registered for the channel.</summary>
    public const string NoSender = "no_sender";

    /// <summary>Channel: the customer has no address on the channel.</summary>
    public const string NoAddress = PermissionReasons.NoAddress;

    /// <summary>Channel: the permission gate denies or defers contact on the channel (its code is in <see cref="CandidateEvaluation.PermissionCode"/>).</summary>
    public const string NotPermitted = "not_permitted";

    /// <summary>Contact policy: the action was sent <see cref="ActionContactPolicy.MaxSends"/> times within its window.</summary>
    public const string ActionSendLimit = "action_send_limit";

    /// <summary>Contact policy: the action was sent too recently (<see cref="ActionContactPolicy.MinGapAfterSend"/>).</summary>
    public const string ActionSendGap = "action_send_gap";

    /// <summary>Contact policy: the customer dismissed the action too recently (<see cref="ActionContactPolicy.MinGapAfterDismissal"/>).</summary>
    public const string ActionDismissalGap = "action_dismissal_gap";

    /// <summary>Contact policy: the contact history could not be read, so the action is not sent (fails closed).</summary>
    public const string ContactHistoryUnavailable = "contact_history_unavailable";

    /// <summary>Exploration: chosen as the highest expected score.</summary>
    public const string HighestScore = "highest_score";

    /// <summary>Exploration: chosen by exploration (the floor or a posterior draw), not as the highest expected score.</summary>
    public const string Explored = "explored";

    /// <summary>Exploration: survived every filter but was not chosen.</summary>
    public const string Outranked = "outranked";

    /// <summary>Post-rank: the decision's slots already hold the most actions of this group (<see cref="DecisioningOptions.MaxPerGroup"/>).</summary>
    public const string GroupLimit = "group_limit";

    /// <summary>Post-rank: the action's volume budget for the period is used up.</summary>
    public const string BudgetExhausted = "budget_exhausted";

    /// <summary>Post-rank: the budget store could not be read or written, so the action is denied (fails closed).</summary>
    public const string BudgetUnavailable = "budget_unavailable";

    /// <summary>Experiment: chosen, and withheld because the customer is in the action's control group (a would-be send).</summary>
    public const string ControlGroup = "control_group";

    /// <summary>Experiment: the customer is in the global control group: the choice is withheld (a would-be send).</summary>
    public const string GlobalControl = "global_control";

    /// <summary>Fallback: nothing else was chosen, so the configured fallback action is.</summary>
    public const string Fallback = "fallback";

    /// <summary>Do nothing: nothing was worth sending (or nothing survived), so the decision is to do nothing.</summary>
    public const string NothingBetter = "nothing_better";

    /// <summary>The customer objects to profiling (<see cref="Profiles.CustomerProfile.ProfilingObjectedAt"/>): no action but a transactional one is chosen for them.</summary>
    public const string ProfilingObjected = "profiling_objected";
}

/// <summary>The factors of a candidate's score: <see cref="Score"/> = <see cref="Context"/> × <see cref="Lever"/> × (<see cref="Propensity"/> × <see cref="Value"/> − <see cref="Cost"/>).</summary>
/// <param name="Propensity">P: the estimated response probability (the posterior mean of the learned propensity).</param>
/// <param name="Context">C: the context weight (context boosts × the customer's channel preference and affinity).</param>
/// <param name="Lever">L: the business levers (action × treatment).</param>
/// <param name="Value">V: the value of a response (the action's value plus its share of the customer's value).</param>
/// <param name="Cost">The cost of a send (the action's and the channel's).</param>
/// <param name="Score">The score.</param>
public readonly record struct ScoreFactors(double Propensity, double Context, double Lever, double Value, double Cost, double Score);

/// <summary>The evaluation of one candidate (action × channel × treatment) in a decision: where it left the pipeline and why.</summary>
public sealed record CandidateEvaluation
{
    /// <summary>The action.</summary>
    public required string ActionId { get; init; }

    /// <summary>Chosen, rejected or outranked.</summary>
    public required CandidateStatus Status { get; init; }

    /// <summary>The step of the pipeline it reached (where it was removed, or chosen).</summary>
    public required DecisionStage Stage { get; init; }

    /// <summary>A stable code from <see cref="DecisionReasons"/>.</summary>
    public required string Reason { get; init; }

    /// <summary>A sentence for people.</summary>
    public required string Detail { get; init; }

    /// <summary>The channel of the candidate (<see langword="null"/> for do-nothing and for rejections that concern the whole action).</summary>
    public Channel? Channel { get; init; }

    /// <summary>The treatment of the candidate, when the action has treatments.</summary>
    public string? TreatmentId { get; init; }

    /// <summary>The score (0 unless it was scored).</summary>
    public double Score { get; init; }

    /// <summary>The factors of the score, when it was scored.</summary>
    public ScoreFactors? Factors { get; init; }

    /// <summary>The probability with which the exploration policy would choose it among the survivors, when it took part.</summary>
    public double? ChoiceProbability { get; init; }

    /// <summary>The permission gate's code for the channel, when it was asked.</summary>
    public string? PermissionCode { get; init; }

    /// <summary>The permission decisions for the candidate's channel (one, when the gate was asked).</summary>
    [JsonIgnore]
    public ImmutableArray<ChannelCheck> ChannelChecks { get; init; } = [];
}

/// <summary>The permission decision for one channel of a candidate.</summary>
/// <param name="Channel">The channel.</param>
/// <param name="Decision">The gate's answer.</param>
public sealed record ChannelCheck(Channel Channel, PermissionDecision Decision);

/// <summary>One action chosen by a decision (the first slot is the decision's action).</summary>
/// <param name="Action">The action.</param>
/// <param name="Channel">The channel.</param>
/// <param name="Treatment">The treatment, when the action has treatments.</param>
/// <param name="Address">The address on the channel, when it needs one.</param>
/// <param name="Factors">The factors of its score.</param>
/// <param name="ChoiceProbability">The probability with which it was chosen for this slot, given the slots before it: the propensity to log.</param>
/// <param name="Explored">Whether it was chosen by exploration rather than as the highest expected score.</param>
public sealed record DecisionSlot(ActionDefinition Action, Channel Channel, ActionTreatment? Treatment, Identifier? Address, ScoreFactors Factors, double ChoiceProbability, bool Explored);

/// <summary>
/// A serialisable record of one decision: each candidate with the step that removed it and why, the P, C, V, L factors and the
/// choice probability of the survivors, and the dispatch it led to.
/// </summary>
/// <param name="DecisionId">The decision's id.</param>
/// <param name="CustomerId">The customer.</param>
/// <param name="At">When it was taken.</param>
/// <param name="Policy">The policy (champion or challenger) that took it.</param>
/// <param name="Segment">The learning segment of the customer, if any.</param>
/// <param name="ActionId">The chosen action (<c>no_action</c> for do-nothing).</param>
/// <param name="Channel">The chosen channel.</param>
/// <param name="ChoiceProbability">The probability with which the chosen action × channel was chosen.</param>
/// <param name="Candidates">Every candidate's evaluation, the chosen first.</param>
public sealed record DecisionTrace(string DecisionId, string CustomerId, DateTimeOffset At, string Policy, string? Segment, string ActionId, Channel? Channel, double ChoiceProbability, ImmutableArray<CandidateEvaluation> Candidates)
{
    /// <summary>The dispatch the decision was queued as (or logged as, for a would-be send of a control group), if any.</summary>
    public string? DispatchId { get; init; }

    /// <summary>The action withheld from the customer because of a control group, if any.</summary>
    public string? WithheldActionId { get; init; }
}

/// <summary>The trace's JSON contract (source-generated).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(Serialization.StrictDateTimeOffsetConverter)])]
[JsonSerializable(typeof(DecisionTrace))]
public sealed partial class DecisionTraceJsonContext : JsonSerializerContext;
