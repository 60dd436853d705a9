using System.Collections.Immutable;

namespace Engagement.Sdk.Journeys;

/// <summary>One visit to a stage.</summary>
/// <param name="StageId">The stage.</param>
/// <param name="EnteredAt">When the customer entered it.</param>
/// <param name="Reason">Why (the rule that held).</param>
public readonly record struct StageVisit(string StageId, DateTimeOffset EnteredAt, string Reason);

/// <summary>Where a customer is in one journey, and how they got there.</summary>
/// <param name="JourneyId">The journey.</param>
/// <param name="History">The stages visited, oldest first; the last one is the current stage.</param>
public readonly record struct JourneyPosition(string JourneyId, ImmutableArray<StageVisit> History)
{
    /// <summary>The current stage's id.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string StageId => History[^1].StageId;

    /// <summary>When the customer entered the current stage.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public DateTimeOffset EnteredAt => History[^1].EnteredAt;

    /// <summary>How long the customer has been in the current stage at <paramref name="now"/>.</summary>
    /// <param name="now">The instant to measure at.</param>
    /// <returns>The time in stage.</returns>
    public TimeSpan TimeInStage(DateTimeOffset now) => now - EnteredAt;
}

/// <summary>A move from one stage to another.</summary>
/// <param name="JourneyId">The journey.</param>
/// <param name="FromStageId">The stage left, or <see langword="null"/> on entering the journey.</param>
/// <param name="ToStageId">The stage entered.</param>
/// <param name="At">When.</param>
/// <param name="Reason">The rule that held.</param>
public sealed record StageTransition(string JourneyId, string? FromStageId, string ToStageId, DateTimeOffset At, string Reason);
