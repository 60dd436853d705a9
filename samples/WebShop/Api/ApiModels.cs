using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;
using Engagement.Sdk;
using Engagement.Sdk.Decisioning;

namespace WebShop.Api;

/// <summary>Why a request was refused: the field, the rule it broke, and the message.</summary>
/// <param name="Field">The field.</param>
/// <param name="Rule">The rule.</param>
/// <param name="Message">A sentence.</param>
public sealed record ApiError(string Field, string Rule, string Message)
{
    /// <summary>Describes a validation failure without echoing the value (it may be personal data).</summary>
    /// <param name="exception">The failure.</param>
    /// <returns>The error.</returns>
    public static ApiError From(EngagementValidationException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return new ApiError(exception.Field, exception.Rule, $"'{exception.Field}' {exception.Rule}.");
    }
}

/// <summary>What tracking one event did.</summary>
/// <param name="EventId">The event.</param>
/// <param name="Duplicate">Whether it had been tracked before (nothing was done again).</param>
/// <param name="Stage">The customer's stage in the decision journey afterwards.</param>
/// <param name="Transitions">Stages entered (journey:stage).</param>
/// <param name="Decision">The decision it triggered, if any.</param>
/// <param name="DispatchId">The message it queued, if any.</param>
public sealed record TrackResponse(string EventId, bool Duplicate, string? Stage, ImmutableArray<string> Transitions, DecisionSummary? Decision, string? DispatchId);

/// <summary>A decision in brief.</summary>
/// <param name="Action">The action chosen.</param>
/// <param name="Channel">The channel, or <see langword="null"/> for doing nothing.</param>
/// <param name="Explanation">Why, in a sentence.</param>
public sealed record DecisionSummary(string Action, string? Channel, string Explanation);

/// <summary>What tracking a batch did.</summary>
/// <param name="Accepted">Events accepted (duplicates included).</param>
/// <param name="Duplicates">Events that had been tracked before.</param>
/// <param name="Decisions">Decisions the batch triggered.</param>
/// <param name="Rejected">Events refused, each with its position and reason; nothing of them was stored.</param>
public sealed record BatchResponse(int Accepted, int Duplicates, int Decisions, ImmutableArray<BatchRejection> Rejected);

/// <summary>One event of a batch that was refused.</summary>
/// <param name="Index">Its position in the batch.</param>
/// <param name="Error">Why.</param>
public sealed record BatchRejection(int Index, ApiError Error);

/// <summary>A decision with its full trace: every candidate, what became of it and why, and each channel's permission.</summary>
/// <param name="CustomerId">The customer.</param>
/// <param name="At">When it was decided.</param>
/// <param name="Action">The action chosen (<c>no-action</c> when nothing was worth doing).</param>
/// <param name="Channel">The channel chosen.</param>
/// <param name="Score">Its score.</param>
/// <param name="Propensity">Its propensity.</param>
/// <param name="Explanation">Why, in a sentence.</param>
/// <param name="Candidates">Every candidate.</param>
public sealed record DecisionTrace(string CustomerId, DateTimeOffset At, string Action, string? Channel, double Score, double Propensity, string Explanation, ImmutableArray<CandidateTrace> Candidates)
{
    /// <summary>Traces a decision.</summary>
    /// <param name="decision">The decision.</param>
    /// <returns>The trace.</returns>
    public static DecisionTrace From(Decision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        return new DecisionTrace(
            decision.CustomerId.Value,
            decision.At,
            decision.Action.Id,
            decision.Channel?.Name,
            decision.Score,
            decision.Propensity,
            decision.Explain(),
            [.. decision.Candidates.Select(c => new CandidateTrace(
                c.ActionId,
                c.Status.ToString().ToLowerInvariant(),
                c.Reason,
                c.Detail,
                c.Channel?.Name,
                c.Score,
                [.. c.ChannelChecks.Select(k => new ChannelCheckTrace(k.Channel.Name, k.Decision.Verdict.ToString().ToLowerInvariant(), k.Decision.Code))]))]);
    }
}

/// <summary>One candidate of a decision.</summary>
/// <param name="ActionId">The action.</param>
/// <param name="Status">chosen, outranked or rejected.</param>
/// <param name="Reason">The reason code.</param>
/// <param name="Detail">The explanation.</param>
/// <param name="Channel">The channel it would use.</param>
/// <param name="Score">Its score.</param>
/// <param name="Checks">Each channel's permission.</param>
public sealed record CandidateTrace(string ActionId, string Status, string Reason, string Detail, string? Channel, double Score, ImmutableArray<ChannelCheckTrace> Checks);

/// <summary>One channel's permission for a candidate.</summary>
/// <param name="Channel">The channel.</param>
/// <param name="Verdict">allow, deny or defer.</param>
/// <param name="Code">The reason code.</param>
public sealed record ChannelCheckTrace(string Channel, string Verdict, string Code);

/// <summary>A customer's marketing preferences: an address per channel and the message types chosen on each.</summary>
public sealed record PreferenceRequest
{
    /// <summary>The email address (asked for when any email choice is made).</summary>
    public string? Email { get; init; }

    /// <summary>The mobile number in international form (asked for when any SMS choice is made).</summary>
    public string? Phone { get; init; }

    /// <summary>The customer's IANA time zone (SMS is sent only in the daytime there).</summary>
    public string? TimeZone { get; init; }

    /// <summary>The choices: each channel × message type the customer wants; every other one is off.</summary>
    public ImmutableArray<PreferenceChoice> Choices { get; init; } = [];
}

/// <summary>One channel × message type the customer wants.</summary>
/// <param name="Channel">email, sms or push.</param>
/// <param name="MessageType">offers, reminders or new_arrivals.</param>
public sealed record PreferenceChoice(string Channel, string MessageType);

/// <summary>What saving preferences did.</summary>
/// <param name="PendingConfirmation">Choices waiting for the customer to confirm through the link sent to the address (double opt-in).</param>
/// <param name="Granted">Choices in force now.</param>
/// <param name="Withdrawn">Choices withdrawn.</param>
/// <param name="ConfirmationSentTo">The channels a confirmation link was sent on.</param>
public sealed record PreferenceResponse(ImmutableArray<PreferenceChoice> PendingConfirmation, ImmutableArray<PreferenceChoice> Granted, ImmutableArray<PreferenceChoice> Withdrawn, ImmutableArray<string> ConfirmationSentTo);

/// <summary>One cell of the preference matrix.</summary>
/// <param name="MessageType">The message type.</param>
/// <param name="Channel">The channel.</param>
/// <param name="Status">The reason code of consent now (consent_granted, pending_confirmation, no_consent, consent_withdrawn, …).</param>
/// <param name="Allowed">Whether marketing of this type may be sent on this channel.</param>
public sealed record PreferenceCell(string MessageType, string Channel, string Status, bool Allowed);

/// <summary>What confirming a double opt-in did.</summary>
/// <param name="Confirmed">Choices confirmed now.</param>
/// <param name="Outcomes">Each token's outcome.</param>
public sealed record ConfirmationResponse(int Confirmed, ImmutableArray<string> Outcomes);

/// <summary>What an erasure removed.</summary>
/// <param name="CustomerId">The customer.</param>
/// <param name="ItemsRemoved">Items removed per store.</param>
/// <param name="IdentifiersSuppressed">Addresses suppressed (kept as hashes so that they are never contacted again).</param>
public sealed record ErasureResponse(string CustomerId, ImmutableDictionary<string, int> ItemsRemoved, int IdentifiersSuppressed);

/// <summary>The dashboard's figures in brief, for other tools.</summary>
/// <param name="ComputedAt">When they were computed.</param>
/// <param name="Customers">Customers.</param>
/// <param name="Events">Events.</param>
/// <param name="Funnel">Each stage of the journey: customers now, reached and skipped, conversion, days in stage and to reach it, revenue.</param>
/// <param name="Messages">Messages per channel.</param>
/// <param name="ClvBuyers">Buyers the lifetime-value models were fitted to (0 when they could not be).</param>
/// <param name="MeanProbabilityAlive">Mean P(alive) of the buyers.</param>
/// <param name="TotalClv">Predicted CLV of all buyers over the next 12 months, in euros.</param>
/// <param name="ClvDistribution">The CLV histogram.</param>
public sealed record DashboardSummary(
    DateTimeOffset ComputedAt,
    int Customers,
    int Events,
    ImmutableArray<Insights.StageKpi> Funnel,
    ImmutableArray<Insights.ChannelMessages> Messages,
    int ClvBuyers,
    double? MeanProbabilityAlive,
    double TotalClv,
    ImmutableArray<Insights.HistogramBin> ClvDistribution)
{
    /// <summary>Summarises a snapshot.</summary>
    /// <param name="snapshot">The snapshot.</param>
    /// <returns>The summary.</returns>
    public static DashboardSummary From(Insights.DashboardSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var fitted = snapshot.Clv.Error is null;
        return new DashboardSummary(
            snapshot.ComputedAt,
            snapshot.Customers,
            snapshot.Events,
            snapshot.Stages,
            snapshot.Messages,
            fitted ? snapshot.Clv.Customers : 0,
            fitted ? snapshot.Clv.MeanProbabilityAlive : null,
            snapshot.Clv.TotalClv,
            snapshot.Clv.Distribution);
    }
}

/// <summary>Source-generated JSON for the shop's API.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(TrackResponse))]
[JsonSerializable(typeof(BatchResponse))]
[JsonSerializable(typeof(DecisionTrace))]
[JsonSerializable(typeof(PreferenceRequest))]
[JsonSerializable(typeof(PreferenceResponse))]
[JsonSerializable(typeof(ImmutableArray<PreferenceCell>))]
[JsonSerializable(typeof(ConfirmationResponse))]
[JsonSerializable(typeof(ErasureResponse))]
[JsonSerializable(typeof(DashboardSummary))]
internal sealed partial class ApiJson : JsonSerializerContext;
