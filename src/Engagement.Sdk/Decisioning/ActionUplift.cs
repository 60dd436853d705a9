using Engagement.Sdk.Journeys;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Decisioning;

/// <summary>
/// The uplift of the actions the decider sends, measured against their control groups in the dispatch log. A customer in a
/// control group is decided for as any other, then withheld, and the would-be send is logged (status
/// <see cref="DispatchStatus.Cancelled"/>, <see cref="DispatchDecision.ControlGroup"/> set). Because the split is a stable hash
/// of the customer, independent of the choice, the would-be sends of an action and its real sends are comparable: the
/// difference of an outcome's rate between them is the action's causal effect. The treatment group is every decision queued
/// to be sent, whatever came of its delivery (intent to treat); the outcome must be one a customer without the message can
/// have too (a purchase within a week of the decision, not a click on the message).
/// </summary>
public static class ActionUplift
{
    /// <summary>
    /// The difference of the outcome's rate between sent decisions and control-group would-be sends, with a Wald 95 %
    /// interval. Each decision counts once (<see cref="UpliftEstimate.TreatmentCustomers"/> and
    /// <see cref="UpliftEstimate.ControlCustomers"/> hold the numbers of decisions); a customer decided for several times
    /// counts several times, so decisions of one customer should be far enough apart for their outcomes not to overlap.
    /// </summary>
    /// <param name="dispatches">The dispatch log (for example a period's dispatches from <see cref="IDispatchStore"/>); dispatches not decided by the SDK are ignored.</param>
    /// <param name="converted">Whether the outcome followed the decision (the host's events: a purchase within a window after <see cref="DispatchRecord.CreatedAt"/>).</param>
    /// <param name="actionId">One action, or <see langword="null"/> for every action (the programme's uplift).</param>
    /// <param name="controlGroup">Only this control group (<c>global</c> or <c>action</c>), or <see langword="null"/> for both.</param>
    /// <returns>The estimate, or <see langword="null"/> when either group has fewer than 2 decisions.</returns>
    public static UpliftEstimate? Measure(IEnumerable<DispatchRecord> dispatches, Func<DispatchRecord, bool> converted, string? actionId = null, string? controlGroup = null)
    {
        ArgumentNullException.ThrowIfNull(dispatches);
        ArgumentNullException.ThrowIfNull(converted);
        int treated = 0, treatedConverted = 0, control = 0, controlConverted = 0;
        foreach (var dispatch in dispatches)
        {
            if (dispatch?.Decision is not { } decision || (actionId is not null && dispatch.ActionId != actionId))
            {
                continue;
            }

            if (decision.ControlGroup is { } group)
            {
                if (controlGroup is null || group == controlGroup)
                {
                    control++;
                    controlConverted += converted(dispatch) ? 1 : 0;
                }
            }
            else
            {
                treated++;
                treatedConverted += converted(dispatch) ? 1 : 0;
            }
        }

        return UpliftEstimate.OfProportions(treatedConverted, treated, controlConverted, control);
    }
}
