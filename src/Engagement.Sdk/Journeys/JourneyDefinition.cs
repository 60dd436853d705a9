using System.Collections.Immutable;
using System.Text;
using Engagement.Sdk.Conditions;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Journeys;

/// <summary>
/// A journey defined as data: stages with entry and exit rules and priorities, steps inside stages (send, wait, wait for an
/// event, branch, exit, goal, move), a goal, a control group, re-entry and the migration of customers from older versions.
/// Built with <see cref="Create"/> or read with <see cref="FromJson"/>, and validated as a whole: an invalid definition is
/// never built, and the error names the JSON path, the value and the rule. Immutable and thread-safe; it round-trips
/// through <see cref="ToJson"/>.
/// </summary>
public sealed class JourneyDefinition
{
    private readonly Dictionary<string, int> _stageIndex;

    internal JourneyDefinition(JourneyParts parts, ConditionSchema schema)
    {
        Id = parts.Id;
        Version = parts.Version;
        Name = parts.Name;
        Traits = parts.Traits;
        CustomEvents = parts.CustomEvents;
        Entry = parts.Entry;
        Goal = parts.Goal;
        ControlGroup = parts.ControlGroup;
        ReEntry = parts.ReEntry;
        Migrations = parts.Migrations;
        Stages = parts.Stages;
        Schema = schema;
        _stageIndex = Stages.Select((s, i) => KeyValuePair.Create(s.Id, i)).ToDictionary(StringComparer.Ordinal);
        Fingerprint = ComputeFingerprint(JourneyJson.Write(this, indented: false));
    }

    /// <summary>The journey's id.</summary>
    public string Id { get; }

    /// <summary>The definition's version (customers in flight keep the version they entered, unless a later version migrates them).</summary>
    public int Version { get; }

    /// <summary>A display name.</summary>
    public string? Name { get; }

    /// <summary>The traits the journey's conditions test, with their types.</summary>
    public ImmutableDictionary<string, TraitKind> Traits { get; }

    /// <summary>The custom events the journey's conditions and waits name.</summary>
    public ImmutableArray<string> CustomEvents { get; }

    /// <summary>Who may enter the journey at all (an audience); <see langword="null"/> for everyone.</summary>
    public Condition? Entry { get; }

    /// <summary>The journey's goal, if it has one.</summary>
    public JourneyGoal? Goal { get; }

    /// <summary>The control group, if there is one.</summary>
    public ControlGroup? ControlGroup { get; }

    /// <summary>Whether and when a customer who left may enter again.</summary>
    public ReEntryPolicy ReEntry { get; }

    /// <summary>How customers in flight on older versions move to this one.</summary>
    public ImmutableArray<JourneyMigration> Migrations { get; }

    /// <summary>The stages, in funnel order.</summary>
    public ImmutableArray<StageDefinition> Stages { get; }

    /// <summary>A hash of the definition's content: a definition changed without a new version is recognised.</summary>
    public int Fingerprint { get; }

    /// <summary>The schema the definition's conditions were validated against (its own traits, events and stages included).</summary>
    internal ConditionSchema Schema { get; }

    /// <summary>
    /// The four stages of the seed journey: <c>attraction</c> (a browser is seen), <c>relationship</c> (direct contact: a known
    /// email or phone, or something in the cart), <c>conversion</c> (a first order) and <c>engagement</c> (a repeat order).
    /// </summary>
    public static JourneyDefinition Lifecycle { get; } = Create("lifecycle")
        .Named("Customer lifecycle")
        .Stage("attraction", s => s.Named("Attraction").Entry(Condition.Always))
        .Stage("relationship", s => s.Named("Relationship").Entry(Condition.Any(Condition.HasIdentifier(IdentifierKind.Email, IdentifierKind.Phone), Condition.Aggregate(ProfileAggregate.ItemsInCart, ComparisonOperator.Ge, 1))))
        .Stage("conversion", s => s.Named("Conversion").Entry(Condition.Aggregate(ProfileAggregate.Orders, ComparisonOperator.Ge, 1)))
        .Stage("engagement", s => s.Named("Engagement").Entry(Condition.Aggregate(ProfileAggregate.Orders, ComparisonOperator.Ge, 2)))
        .Build();

    /// <summary>Starts a definition.</summary>
    /// <param name="id">The journey's id (lower-case letters, digits, '_' or '-').</param>
    /// <param name="version">The version (from 1).</param>
    /// <returns>A builder.</returns>
    public static JourneyBuilder Create(string id, int version = 1) => new(id, version);

    /// <summary>Reads and validates a definition from its JSON form (see the docs for the schema).</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="schema">What the conditions may name besides what the definition declares (traits, custom events, other journeys).</param>
    /// <returns>The definition.</returns>
    /// <exception cref="EngagementValidationException">The definition breaks a rule; the field is the JSON path.</exception>
    public static JourneyDefinition FromJson(string json, ConditionSchema? schema = null)
    {
        using var document = JsonObjectReader.Parse(json);
        return Build(JourneyJson.Read(document.RootElement), schema);
    }

    /// <summary>The definition's JSON form.</summary>
    /// <param name="indented">Whether to indent it.</param>
    /// <returns>The JSON text, which <see cref="FromJson"/> reads back to an equal definition.</returns>
    public string ToJson(bool indented = true) => JourneyJson.Write(this, indented);

    /// <summary>The index of a stage, or -1.</summary>
    /// <param name="stageId">The stage's id.</param>
    /// <returns>The index.</returns>
    public int IndexOf(string stageId) => stageId is not null && _stageIndex.TryGetValue(stageId, out var index) ? index : -1;

    /// <summary>A stage's priority: its own, or its position in the list.</summary>
    /// <param name="stageIndex">The stage's index.</param>
    /// <returns>The priority.</returns>
    public int PriorityOf(int stageIndex) => Stages[stageIndex].Priority ?? stageIndex;

    /// <inheritdoc />
    public override string ToString() => $"{Id} v{Version}";

    internal static JourneyDefinition Build(JourneyParts parts, ConditionSchema? schema)
    {
        var validated = JourneyValidator.Validate(parts, schema ?? ConditionSchema.Empty);
        return new JourneyDefinition(parts, validated);
    }

    private static int ComputeFingerprint(string canonical)
    {
        // FNV-1a over the UTF-8 of the canonical JSON: stable across processes and runtimes.
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(canonical))
        {
            hash = (hash ^ b) * 16777619u;
        }

        return unchecked((int)hash);
    }
}

/// <summary>The parts of a definition before validation (what the builder and the JSON reader collect).</summary>
internal sealed record JourneyParts
{
    public required string Id { get; init; }

    public int Version { get; init; } = 1;

    public string? Name { get; init; }

    public ImmutableDictionary<string, TraitKind> Traits { get; init; } = ImmutableDictionary<string, TraitKind>.Empty.WithComparers(StringComparer.Ordinal);

    public ImmutableArray<string> CustomEvents { get; init; } = [];

    public Condition? Entry { get; init; }

    public JourneyGoal? Goal { get; init; }

    public ControlGroup? ControlGroup { get; init; }

    public ReEntryPolicy ReEntry { get; init; } = ReEntryPolicy.Never;

    public ImmutableArray<JourneyMigration> Migrations { get; init; } = [];

    public ImmutableArray<StageDefinition> Stages { get; init; } = [];
}
