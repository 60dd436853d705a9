using Engagement.Sdk.Decisioning.Evaluation;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Decisioning;

/// <summary>
/// The SDK's own decisions as a <see cref="DecisionLog"/> for off-policy evaluation: each dispatch handed to a channel with the
/// decision it was logged with becomes one round — context: the customer's learning segment (or <c>all</c>); action and
/// channel; propensity: the logged choice probability; reward: 1 when the customer responded within the attribution window.
/// Would-be sends of control groups, held messages and dispatches never handed to a channel are left out (no message was
/// shown, so there is no response to learn from).
/// </summary>
public static class LoggedDispatches
{
    /// <summary>The context of rounds whose customer had no segment.</summary>
    public const string NoSegment = "all";

    /// <summary>The round a dispatch is, or <see langword="null"/> when it is not one (see the class remarks).</summary>
    /// <param name="dispatch">The dispatch.</param>
    /// <param name="attributionWindow">How long after the send a response counts.</param>
    /// <returns>The round.</returns>
    public static LoggedDecision? ToLoggedDecision(DispatchRecord dispatch, TimeSpan attributionWindow)
    {
        ArgumentNullException.ThrowIfNull(dispatch);
        if (dispatch.Decision is not { ControlGroup: null } decision || dispatch.Status is not (DispatchStatus.Sent or DispatchStatus.Unknown))
        {
            return null;
        }

        var sentAt = dispatch.CompletedAt ?? dispatch.CreatedAt;
        var responded = dispatch.RespondedAt is { } at && at - sentAt <= attributionWindow;
        return new LoggedDecision(decision.Segment is { Length: > 0 } segment ? segment : NoSegment, dispatch.ActionId, dispatch.Channel, decision.ChoiceProbability, responded ? 1 : 0);
    }

    /// <summary>The log of <paramref name="dispatches"/> (those that are rounds, in the order given).</summary>
    /// <param name="dispatches">The dispatches, for example <see cref="IDispatchStore.ListByStatusAsync"/> of the sent ones.</param>
    /// <param name="attributionWindow">How long after the send a response counts (<see cref="DecisioningOptions.AttributionWindow"/>).</param>
    /// <returns>The log.</returns>
    public static DecisionLog ToDecisionLog(IEnumerable<DispatchRecord> dispatches, TimeSpan attributionWindow)
    {
        ArgumentNullException.ThrowIfNull(dispatches);
        var builder = new DecisionLog.Builder();
        foreach (var dispatch in dispatches)
        {
            if (ToLoggedDecision(dispatch, attributionWindow) is { } round)
            {
                builder.Add(round);
            }
        }

        return builder.Build();
    }
}
