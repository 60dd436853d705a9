using System.Collections.Immutable;
using System.Text.Json;
using Engagement.Sdk.Conditions;

namespace Engagement.Sdk.Segments;

/// <summary>
/// A named segment: the customers for whom a condition of the condition language holds (traits, aggregates, identifiers,
/// consent, journey stages, time-windowed event counts and sums). Membership is kept as events arrive and as time passes
/// (<see cref="IEngagementEngine.SweepSegmentsAsync"/>); entering and leaving are recorded and emitted as the custom events
/// <see cref="EnteredEvent"/> and <see cref="ExitedEvent"/>, which journeys and decision triggers can react to. Immutable.
/// </summary>
public sealed record SegmentDefinition
{
    /// <summary>The longest segment name: its events (<c>&lt;name&gt;-entered</c>) must be valid custom event names.</summary>
    public const int MaxNameLength = 24;

    /// <summary>Creates a segment.</summary>
    /// <param name="name">The segment's name: lower-case ASCII letters, digits, '_' or '-', at most <see cref="MaxNameLength"/> characters.</param>
    /// <param name="condition">Who is in it.</param>
    /// <exception cref="EngagementValidationException">The name breaks a rule, or the condition is missing.</exception>
    public SegmentDefinition(string name, Condition condition)
    {
        Name = RequireName("name", name);
        Condition = condition ?? throw new EngagementValidationException("condition", null, "a segment needs a condition");
    }

    /// <summary>The segment's name (unique among the segments).</summary>
    public string Name { get; }

    /// <summary>Who is in the segment.</summary>
    public Condition Condition { get; }

    /// <summary>A description for people (not evaluated).</summary>
    public string? Description { get; init; }

    /// <summary>The custom event emitted when a customer enters: <c>&lt;name&gt;-entered</c>.</summary>
    public string EnteredEvent => Name + "-entered";

    /// <summary>The custom event emitted when a customer leaves: <c>&lt;name&gt;-exited</c>.</summary>
    public string ExitedEvent => Name + "-exited";

    /// <summary>
    /// Reads a segment from JSON: <c>{"name": "lapsed", "description": "…", "condition": {"event": "purchased", "within":
    /// "P90D", "count": {"eq": 0}}}</c>. The condition is checked against the catalogue's schema when the segments are compiled.
    /// </summary>
    /// <param name="json">The JSON text.</param>
    /// <returns>The segment.</returns>
    /// <exception cref="EngagementValidationException">The JSON is not a segment; the error names the JSON path.</exception>
    public static SegmentDefinition FromJson(string json)
    {
        using var document = JsonObjectReader.Parse(json);
        return Read(document.RootElement, "$");
    }

    /// <summary>Reads a JSON array of segments (<c>[{"name": …}, …]</c>).</summary>
    /// <param name="json">The JSON text.</param>
    /// <returns>The segments.</returns>
    /// <exception cref="EngagementValidationException">The JSON is not an array of segments; the error names the JSON path.</exception>
    public static ImmutableArray<SegmentDefinition> ListFromJson(string json)
    {
        using var document = JsonObjectReader.Parse(json);
        var array = JsonObjectReader.RequireArray(document.RootElement, "$");
        var list = ImmutableArray.CreateBuilder<SegmentDefinition>();
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            list.Add(Read(item, $"$[{i++}]"));
        }

        return list.ToImmutable();
    }

    /// <summary>The segment's JSON.</summary>
    /// <returns>The JSON text.</returns>
    public string ToJson()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("name", Name);
            if (Description is not null)
            {
                w.WriteString("description", Description);
            }

            w.WritePropertyName("condition");
            w.WriteRawValue(ConditionJson.ToJson(Condition));
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static SegmentDefinition Read(JsonElement element, string path)
    {
        var o = JsonObjectReader.Open(element, path);
        var name = o.RequireString("name");
        var description = o.OptionalString("description");
        RequireName(o.PathOf("name"), name);
        var condition = ConditionJson.Read(o.Require("condition"), o.PathOf("condition"));
        o.Done();
        return new SegmentDefinition(name, condition) { Description = description };
    }

    private static string RequireName(string field, string? name)
    {
        Names.Require(field, name);
        return name!.Length > MaxNameLength
            ? throw new EngagementValidationException(field, name, $"a segment name must be at most {MaxNameLength} characters (its events are '<name>-entered' and '<name>-exited')")
            : name;
    }
}
