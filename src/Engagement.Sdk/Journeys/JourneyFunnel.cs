using System.Collections.Immutable;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Journeys;

/// <summary>One row of a journey funnel.</summary>
/// <param name="StageId">The stage.</param>
/// <param name="Current">Customers in this stage now.</param>
/// <param name="Reached">Customers who reached this stage or a later one.</param>
/// <param name="ConversionFromPrevious">Reached ÷ the previous stage's reached; <see langword="null"/> for the first stage or when the previous stage has none.</param>
public sealed record FunnelStage(string StageId, int Current, int Reached, double? ConversionFromPrevious);

/// <summary>Counts customers per stage and the stage-to-stage conversion of a journey.</summary>
public static class JourneyFunnel
{
    /// <summary>Computes the funnel of <paramref name="journey"/> over <paramref name="profiles"/>.</summary>
    /// <param name="journey">The journey.</param>
    /// <param name="profiles">The profiles.</param>
    /// <returns>One row per stage, in order.</returns>
    public static ImmutableArray<FunnelStage> Compute(JourneyDefinition journey, IEnumerable<CustomerProfile> profiles)
    {
        ArgumentNullException.ThrowIfNull(journey);
        ArgumentNullException.ThrowIfNull(profiles);
        var current = new int[journey.Stages.Length];
        var reached = new int[journey.Stages.Length];
        foreach (var profile in profiles)
        {
            if (!profile.Journeys.TryGetValue(journey.Id, out var position))
            {
                continue;
            }

            var index = journey.IndexOf(position.StageId);
            if (index < 0)
            {
                continue;
            }

            current[index]++;
            for (var i = 0; i <= index; i++)
            {
                reached[i]++;
            }
        }

        var rows = ImmutableArray.CreateBuilder<FunnelStage>(journey.Stages.Length);
        for (var i = 0; i < journey.Stages.Length; i++)
        {
            double? conversion = i == 0 || reached[i - 1] == 0 ? null : (double)reached[i] / reached[i - 1];
            rows.Add(new FunnelStage(journey.Stages[i].Id, current[i], reached[i], conversion));
        }

        return rows.MoveToImmutable();
    }
}
