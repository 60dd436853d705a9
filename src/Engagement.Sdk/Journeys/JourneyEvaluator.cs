using System.Collections.Immutable;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Journeys;

/// <summary>Moves a customer through journeys after each event. Pure and thread-safe.</summary>
public static class JourneyEvaluator
{
    // A rule's description is the reason recorded with every stage visit: one shared string per rule, not one per visit.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<StageRule, string> Descriptions = new();

    /// <summary>
    /// Re-evaluates <paramref name="journey"/> for <paramref name="profile"/>: enters the first stage if the customer is not in
    /// the journey yet, then moves forward to the furthest later stage whose entry rule holds.
    /// </summary>
    /// <param name="journey">The journey.</param>
    /// <param name="profile">The profile, already updated with <paramref name="engagementEvent"/>.</param>
    /// <param name="engagementEvent">The event, or <see langword="null"/> for a time-based evaluation.</param>
    /// <param name="now">The current instant.</param>
    /// <param name="transition">The move made, if any.</param>
    /// <returns>The profile with its journey position updated (the same instance when nothing moved).</returns>
    public static CustomerProfile Evaluate(JourneyDefinition journey, CustomerProfile profile, EngagementEvent? engagementEvent, DateTimeOffset now, out StageTransition? transition)
    {
        ArgumentNullException.ThrowIfNull(journey);
        ArgumentNullException.ThrowIfNull(profile);
        transition = null;
        var context = new StageContext(profile, engagementEvent, now);
        JourneyPosition? position = profile.Journeys.TryGetValue(journey.Id, out var found) ? found : null;
        var current = position is null ? -1 : journey.IndexOf(position.Value.StageId);
        var at = engagementEvent?.Timestamp ?? now;

        int target = -1;
        if (current < 0)
        {
            if (!journey.Stages[0].EntryRule.IsSatisfied(context))
            {
                return profile;
            }

            target = 0;
        }

        for (var i = journey.Stages.Length - 1; i > Math.Max(current, target); i--)
        {
            if (journey.Stages[i].EntryRule.IsSatisfied(context))
            {
                target = i;
                break;
            }
        }

        if (target <= current)
        {
            return profile;
        }

        var stage = journey.Stages[target];
        var visit = new StageVisit(stage.Id, at, Descriptions.GetValue(stage.EntryRule, static rule => rule.Describe()));
        var history = position?.History ?? ImmutableArray<StageVisit>.Empty;
        transition = new StageTransition(journey.Id, position?.StageId, stage.Id, at, visit.Reason);
        return profile with { Journeys = profile.Journeys.SetItem(journey.Id, new JourneyPosition(journey.Id, history.Add(visit))) };
    }
}
