using System.Collections.Immutable;

namespace Engagement.Sdk.Journeys;

/// <summary>One stage of a journey and the rule for entering it.</summary>
/// <param name="Id">The stage's id (lower-case letters, digits, '_' or '-').</param>
/// <param name="Name">A display name.</param>
/// <param name="EntryRule">The rule that moves a customer into this stage.</param>
public sealed record JourneyStage(string Id, string Name, StageRule EntryRule);

/// <summary>
/// A journey defined as data: ordered stages, each with an entry rule. A customer enters the first stage when its rule holds
/// and moves forward to the furthest later stage whose rule holds; stages may be skipped (a first visit that ends in a
/// purchase goes straight to conversion), and the path is kept in the stage history. Immutable and thread-safe; build one
/// with <see cref="Create"/>.
/// </summary>
public sealed class JourneyDefinition
{
    private JourneyDefinition(string id, ImmutableArray<JourneyStage> stages)
    {
        Id = id;
        Stages = stages;
    }

    /// <summary>The journey's id.</summary>
    public string Id { get; }

    /// <summary>The stages, in order.</summary>
    public ImmutableArray<JourneyStage> Stages { get; }

    /// <summary>
    /// The four stages of the seed journey: <c>attraction</c> (a browser looks at products), <c>relationship</c> (direct
    /// contact: a known email or phone, or a cart), <c>conversion</c> (the first order) and <c>engagement</c> (a repeat
    /// order: loyalty).
    /// </summary>
    public static JourneyDefinition Lifecycle { get; } = Create("lifecycle", [
        new JourneyStage("attraction", "Attraction", StageRule.AnyEvent),
        new JourneyStage("relationship", "Relationship", StageRule.AnyOf(StageRule.HasIdentifier(Profiles.IdentifierKind.Email, Profiles.IdentifierKind.Phone), StageRule.HasCarted)),
        new JourneyStage("conversion", "Conversion", StageRule.OrdersAtLeast(1)),
        new JourneyStage("engagement", "Engagement", StageRule.OrdersAtLeast(2)),
    ]);

    /// <summary>Creates a journey, validating its parts.</summary>
    /// <param name="id">The journey's id (lower-case letters, digits, '_' or '-').</param>
    /// <param name="stages">The stages, in order (at least one, ids unique).</param>
    /// <returns>The journey.</returns>
    /// <exception cref="EngagementValidationException">An id is invalid or repeated, or there are no stages.</exception>
    public static JourneyDefinition Create(string id, IEnumerable<JourneyStage> stages)
    {
        Names.Require("journey.id", id);
        ArgumentNullException.ThrowIfNull(stages);
        var list = stages.ToImmutableArray();
        if (list.IsEmpty)
        {
            throw new EngagementValidationException("journey.stages", id, "a journey needs at least one stage");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < list.Length; i++)
        {
            var stage = list[i] ?? throw new EngagementValidationException($"journey.stages[{i}]", null, "must not be null");
            Names.Require($"journey.stages[{i}].id", stage.Id);
            if (!seen.Add(stage.Id))
            {
                throw new EngagementValidationException($"journey.stages[{i}].id", stage.Id, "stage ids must be unique within a journey");
            }

            if (stage.EntryRule is null)
            {
                throw new EngagementValidationException($"journey.stages[{i}].entryRule", null, "every stage needs an entry rule");
            }
        }

        return new JourneyDefinition(id, list);
    }

    /// <summary>The index of a stage, or -1.</summary>
    /// <param name="stageId">The stage's id.</param>
    /// <returns>The index.</returns>
    public int IndexOf(string stageId)
    {
        for (var i = 0; i < Stages.Length; i++)
        {
            if (string.Equals(Stages[i].Id, stageId, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
