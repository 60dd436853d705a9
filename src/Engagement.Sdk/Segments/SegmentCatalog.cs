using System.Collections.Frozen;
using System.Collections.Immutable;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Conditions;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Journeys;

namespace Engagement.Sdk.Segments;

/// <summary>
/// The registered segments, validated together against what conditions may name (the options' and the journeys' traits and
/// custom events, channels, purposes, and every journey's stages) and compiled for evaluation: one layout of windowed event
/// counters for all of them, one set of consent facts, stage keys in the journey catalogue's order. Immutable and thread-safe.
/// </summary>
public sealed class SegmentCatalog
{
    /// <summary>The most segments that may be registered.</summary>
    public const int MaxSegments = 256;

    private readonly FrozenDictionary<string, int> _index;

    private SegmentCatalog(ImmutableArray<SegmentDefinition> segments, CompiledCondition[] compiled, EventWindowLayout layout, IReadOnlyList<(Channel, Purpose)> consent, bool usesStages, JourneyCatalog journeys)
    {
        Segments = segments;
        Compiled = compiled;
        Layout = layout;
        ConsentFacts = consent;
        UsesStages = usesStages;
        Journeys = journeys;
        _index = segments.Select((s, i) => KeyValuePair.Create(s.Name, i)).ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>A catalogue with no segments (nothing is evaluated or stored).</summary>
    public static SegmentCatalog Empty { get; } = new([], [], EventWindowLayout.Empty, [], false, JourneyCatalog.Create([]));

    /// <summary>The segments, in the order they were registered (the order entries and exits of one instant are recorded in).</summary>
    public ImmutableArray<SegmentDefinition> Segments { get; }

    /// <summary>Whether there are no segments.</summary>
    public bool IsEmpty => Segments.IsEmpty;

    internal CompiledCondition[] Compiled { get; }

    internal EventWindowLayout Layout { get; }

    internal IReadOnlyList<(Channel Channel, Purpose Purpose)> ConsentFacts { get; }

    /// <summary>Whether a segment tests a journey stage (then the customer's journey record is read).</summary>
    internal bool UsesStages { get; }

    internal JourneyCatalog Journeys { get; }

    /// <summary>
    /// Validates and compiles segments. A segment may not count segment events (its own or another's), so that entering one
    /// segment can never make the segments evaluate again.
    /// </summary>
    /// <param name="segments">The segments.</param>
    /// <param name="journeys">The journeys (stage conditions name their stages; their traits and custom events may be tested).</param>
    /// <param name="schema">What conditions may name besides what the journeys declare (traits, custom events, channels, purposes).</param>
    /// <returns>The catalogue.</returns>
    /// <exception cref="EngagementValidationException">A segment breaks a rule; the field names the segment and the JSON path.</exception>
    public static SegmentCatalog Create(IEnumerable<SegmentDefinition> segments, JourneyCatalog? journeys = null, ConditionSchema? schema = null)
    {
        ArgumentNullException.ThrowIfNull(segments);
        journeys ??= JourneyCatalog.Create([]);
        var list = segments.ToImmutableArray();
        if (list.Length > MaxSegments)
        {
            throw new EngagementValidationException("segments", list.Length, $"at most {MaxSegments} segments may be registered");
        }

        var full = schema ?? ConditionSchema.Empty;
        foreach (var definition in journeys.Definitions)
        {
            full = full.WithTraits(definition.Traits, $"{definition}: $.traits").WithCustomEvents(definition.CustomEvents);
        }

        foreach (var journey in journeys.Compiled)
        {
            full = full.WithJourney(journey.Id, journey.StageKeys);
        }

        full = full.ForJourney(null);
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        var segmentEvents = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < list.Length; i++)
        {
            var segment = list[i] ?? throw new EngagementValidationException($"segments[{i}]", null, "must not be null");
            if (names.TryGetValue(segment.Name, out var first))
            {
                throw new EngagementValidationException($"segments[{i}].name", segment.Name, $"segment names must be unique: segments[{first}] has this name");
            }

            names[segment.Name] = i;
            segmentEvents.Add(segment.EnteredEvent);
            segmentEvents.Add(segment.ExitedEvent);
        }

        var compiler = new ConditionCompiler(full, journeys.JourneyIds);
        var usesStages = false;
        for (var i = 0; i < list.Length; i++)
        {
            var path = $"segments[{i}].condition";
            ConditionValidator.Validate(list[i].Condition, full, path);
            RejectSegmentEvents(list[i].Condition, segmentEvents, path);
            compiler.Require(list[i].Condition);
            usesStages |= NamesStage(list[i].Condition);
        }

        var compiled = list.Select(s => compiler.Compile(s.Condition, null)).ToArray();
        return new SegmentCatalog(list, compiled, compiler.Layout, compiler.ConsentFacts, usesStages, journeys);
    }

    /// <summary>The catalogue of the options' segments, with the options' traits, custom events, channels and purposes and the journeys.</summary>
    /// <param name="options">The options.</param>
    /// <param name="journeys">The journeys.</param>
    /// <returns>The catalogue.</returns>
    /// <exception cref="EngagementValidationException">A segment breaks a rule.</exception>
    public static SegmentCatalog FromOptions(EngagementOptions options, JourneyCatalog journeys)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Segments.Count == 0
            ? Empty
            : Create(options.Segments, journeys, new ConditionSchema(options.Traits, options.CustomEvents, options.CustomChannels, options.CustomPurposes));
    }

    /// <summary>The index of a segment, or -1.</summary>
    /// <param name="name">The segment's name.</param>
    /// <returns>The index.</returns>
    public int IndexOf(string name) => name is not null && _index.TryGetValue(name, out var index) ? index : -1;

    /// <summary>The custom event names the options' segments emit (for the journeys' schema): <c>&lt;name&gt;-entered</c> and <c>&lt;name&gt;-exited</c>.</summary>
    /// <param name="segments">The segments.</param>
    /// <returns>The names.</returns>
    internal static IEnumerable<string> EventNamesOf(IEnumerable<SegmentDefinition?> segments)
        => segments.OfType<SegmentDefinition>().SelectMany(s => new[] { s.EnteredEvent, s.ExitedEvent });

    private static void RejectSegmentEvents(Condition condition, HashSet<string> segmentEvents, string path)
    {
        switch (condition)
        {
            case AllCondition all:
                for (var i = 0; i < all.Conditions.Length; i++)
                {
                    RejectSegmentEvents(all.Conditions[i], segmentEvents, $"{path}.all[{i}]");
                }

                break;
            case AnyCondition any:
                for (var i = 0; i < any.Conditions.Length; i++)
                {
                    RejectSegmentEvents(any.Conditions[i], segmentEvents, $"{path}.any[{i}]");
                }

                break;
            case NotCondition not:
                RejectSegmentEvents(not.Inner, segmentEvents, path + ".not");
                break;
            case EventCondition windowed when segmentEvents.Contains(windowed.EventType):
                throw new EngagementValidationException(path + ".event", windowed.EventType, "a segment may not count segment events (entering one segment must not re-evaluate the segments); name the segment's own condition instead");
        }
    }

    private static bool NamesStage(Condition condition) => condition switch
    {
        StageCondition => true,
        AllCondition all => all.Conditions.Any(NamesStage),
        AnyCondition any => any.Conditions.Any(NamesStage),
        NotCondition not => NamesStage(not.Inner),
        _ => false,
    };
}
