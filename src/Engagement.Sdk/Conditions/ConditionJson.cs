using System.Buffers;
using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Conditions;

/// <summary>
/// The JSON form of conditions. A condition is <c>true</c>, <c>false</c>, or an object with one of these shapes:
/// <c>{"all": [...]}</c>, <c>{"any": [...]}</c>, <c>{"not": c}</c>, <c>{"trait": "vip", "eq": true}</c> (tests
/// <c>exists</c>, <c>eq</c>, <c>ne</c>, <c>gt</c>, <c>ge</c>, <c>lt</c>, <c>le</c>, <c>in</c>, <c>contains</c>),
/// <c>{"aggregate": "orders", "ge": 2}</c>, <c>{"identifier": ["email", "phone"]}</c>,
/// <c>{"consent": "email", "purpose": "marketing"}</c>, <c>{"journey": "lifecycle", "stage": ["conversion"]}</c>, and
/// <c>{"event": "product_viewed", "within": "P7D", "count": {"ge": 3}}</c> or <c>... "sum": {"ge": 100}</c>. Reading names
/// the JSON path of every structural problem; <see cref="ConditionValidator"/> then checks the names and ranges.
/// </summary>
public static class ConditionJson
{
    private static readonly string[] Kinds = ["all", "any", "not", "trait", "aggregate", "identifier", "consent", "stage", "journey", "event"];
    private static readonly string[] Comparisons = ["eq", "ne", "gt", "ge", "lt", "le"];
    private static readonly string[] TraitTests = ["exists", "eq", "ne", "gt", "ge", "lt", "le", "in", "contains"];

    /// <summary>Reads a condition from JSON text.</summary>
    /// <param name="json">The text.</param>
    /// <returns>The condition (not yet validated against a schema).</returns>
    /// <exception cref="EngagementValidationException">The JSON is not a condition; the error names its path.</exception>
    public static Condition Parse(string json)
    {
        using var document = JsonObjectReader.Parse(json);
        return Read(document.RootElement, "$");
    }

    /// <summary>Reads a condition from a JSON element.</summary>
    /// <param name="element">The element.</param>
    /// <param name="path">Its JSON path, for errors.</param>
    /// <returns>The condition.</returns>
    /// <exception cref="EngagementValidationException">The JSON is not a condition.</exception>
    public static Condition Read(JsonElement element, string path) => Read(element, path, 0);

    private static Condition Read(JsonElement element, string path, int depth)
    {
        if (depth > 32)
        {
            throw new EngagementValidationException(path, null, "conditions may nest at most 32 deep");
        }

        switch (element.ValueKind)
        {
            case JsonValueKind.True:
                return Condition.Always;
            case JsonValueKind.False:
                return Condition.Never;
            case JsonValueKind.Object:
                break;
            default:
                throw new EngagementValidationException(path, JsonObjectReader.Shown(element), "a condition must be true, false or an object");
        }

        var o = JsonObjectReader.Open(element, path);
        var present = Kinds.Where(k => element.TryGetProperty(k, out _)).ToList();
        if (present.Contains("stage"))
        {
            present.Remove("journey");
        }

        if (present.Count > 1)
        {
            throw new EngagementValidationException(path, JsonObjectReader.Shown(element), $"a condition has one kind, but this one has both '{present[0]}' and '{present[1]}'");
        }

        var kind = present.Count == 1 ? present[0] : null;
        Condition condition = kind switch
        {
            "all" => new AllCondition(ReadList(o, "all", depth)),
            "any" => new AnyCondition(ReadList(o, "any", depth)),
            "not" => new NotCondition(Read(o.Require("not"), o.PathOf("not"), depth + 1)),
            "trait" => ReadTrait(o),
            "aggregate" => ReadAggregate(o),
            "identifier" => new IdentifierCondition([.. o.OptionalStrings("identifier")!.Select((k, i) => Kind(k, o.PathOf("identifier")))]),
            "consent" => new ConsentCondition(Channel(o.RequireString("consent"), o.PathOf("consent")), Purpose(o.RequireString("purpose"), o.PathOf("purpose"))),
            "stage" or "journey" => new StageCondition(o.OptionalString("journey"), [.. o.OptionalStrings("stage") ?? []]),
            "event" => ReadEvent(o),
            _ => throw new EngagementValidationException(path, JsonObjectReader.Shown(element), "a condition object needs one of: " + string.Join(", ", Kinds)),
        };

        o.Done();
        return condition;
    }

    private static ImmutableArray<Condition> ReadList(JsonObjectReader o, string name, int depth)
    {
        var array = JsonObjectReader.RequireArray(o.Require(name), o.PathOf(name));
        var list = ImmutableArray.CreateBuilder<Condition>();
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            list.Add(Read(item, $"{o.PathOf(name)}[{i++}]", depth + 1));
        }

        return list.ToImmutable();
    }

    private static TraitCondition ReadTrait(JsonObjectReader o)
    {
        var name = o.RequireString("trait");
        var test = Single(o, TraitTests, "a trait condition needs one test: ");
        var value = o.Require(test);
        var path = o.PathOf(test);
        var op = Enum.Parse<TraitOperator>(test, ignoreCase: true);
        ImmutableArray<TraitValue> operands;
        if (op == TraitOperator.In)
        {
            var list = ImmutableArray.CreateBuilder<TraitValue>();
            var i = 0;
            foreach (var item in JsonObjectReader.RequireArray(value, path).EnumerateArray())
            {
                list.Add(ReadTraitValue(item, $"{path}[{i++}]"));
            }

            operands = list.ToImmutable();
        }
        else
        {
            operands = [ReadTraitValue(value, path)];
        }

        return new TraitCondition(name, op, operands);
    }

    private static TraitValue ReadTraitValue(JsonElement value, string path)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return TraitValue.Of(value.GetString()!);
            case JsonValueKind.Number:
                return TraitValue.Of(value.GetDouble());
            case JsonValueKind.True:
                return TraitValue.Of(true);
            case JsonValueKind.False:
                return TraitValue.Of(false);
            case JsonValueKind.Object:
                var o = JsonObjectReader.Open(value, path);
                var text = o.RequireString("date");
                o.Done();
                return DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
                    ? TraitValue.Of(date)
                    : throw new EngagementValidationException(o.PathOf("date"), text, "must be a date written yyyy-MM-dd");
            default:
                throw new EngagementValidationException(path, JsonObjectReader.Shown(value), "must be a text, a number, true, false or {\"date\": \"yyyy-MM-dd\"}");
        }
    }

    private static AggregateCondition ReadAggregate(JsonObjectReader o)
    {
        var name = o.RequireString("aggregate");
        if (!TryParseAggregate(name, out var aggregate))
        {
            throw new EngagementValidationException(o.PathOf("aggregate"), name, "is not an aggregate; use one of " + string.Join(", ", Enum.GetValues<ProfileAggregate>().Select(AggregateName)));
        }

        var op = Single(o, Comparisons, "an aggregate condition needs one comparison: ");
        return new AggregateCondition(aggregate, Enum.Parse<ComparisonOperator>(op, ignoreCase: true), JsonObjectReader.ReadDecimal(o.Require(op), o.PathOf(op)));
    }

    private static EventCondition ReadEvent(JsonObjectReader o)
    {
        var type = o.RequireString("event");
        var within = o.OptionalDuration("within") ?? throw new EngagementValidationException(o.PathOf("within"), null, "is required: the window, such as P7D");
        var hasCount = o.Has("count");
        var hasSum = o.Has("sum");
        if (hasCount == hasSum)
        {
            throw new EngagementValidationException(o.Path, null, "an event condition needs exactly one of 'count' and 'sum'");
        }

        var measureName = hasCount ? "count" : "sum";
        var measure = JsonObjectReader.Open(o.Require(measureName), o.PathOf(measureName));
        var op = Single(measure, Comparisons, $"'{measureName}' needs one comparison: ");
        var value = JsonObjectReader.ReadDecimal(measure.Require(op), measure.PathOf(op));
        measure.Done();
        return new EventCondition(type, within, hasCount ? EventMeasure.Count : EventMeasure.Sum, Enum.Parse<ComparisonOperator>(op, ignoreCase: true), value);
    }

    private static string Single(JsonObjectReader o, string[] names, string rule)
    {
        string? found = null;
        foreach (var name in names)
        {
            if (o.Has(name))
            {
                if (found is not null)
                {
                    throw new EngagementValidationException(o.PathOf(name), null, $"only one of {string.Join(", ", names)} may be given (already '{found}')");
                }

                found = name;
            }
        }

        return found ?? throw new EngagementValidationException(o.Path, null, rule + string.Join(", ", names));
    }

    private static IdentifierKind Kind(string name, string path) => new(Names.Require(path, name));

    private static Channel Channel(string name, string path) => new(Names.Require(path, name));

    private static Purpose Purpose(string name, string path) => new(Names.Require(path, name));

    /// <summary>The JSON name of an aggregate (<c>netRevenue</c>).</summary>
    /// <param name="aggregate">The aggregate.</param>
    /// <returns>Its name.</returns>
    public static string AggregateName(ProfileAggregate aggregate)
    {
        var name = aggregate.ToString();
        return char.ToLowerInvariant(name[0]) + name[1..];
    }

    private static bool TryParseAggregate(string name, out ProfileAggregate aggregate)
    {
        foreach (var candidate in Enum.GetValues<ProfileAggregate>())
        {
            if (string.Equals(AggregateName(candidate), name, StringComparison.Ordinal))
            {
                aggregate = candidate;
                return true;
            }
        }

        aggregate = default;
        return false;
    }

    /// <summary>Writes a condition as JSON text, compact.</summary>
    /// <param name="condition">The condition.</param>
    /// <returns>The text.</returns>
    public static string ToJson(Condition condition)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, condition);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Writes a condition.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="condition">The condition.</param>
    public static void Write(Utf8JsonWriter writer, Condition condition)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(condition);
        switch (condition)
        {
            case ConstantCondition constant:
                writer.WriteBooleanValue(constant.Value);
                return;
            case AllCondition all:
                writer.WriteStartObject();
                WriteList(writer, "all", all.Conditions);
                break;
            case AnyCondition any:
                writer.WriteStartObject();
                WriteList(writer, "any", any.Conditions);
                break;
            case NotCondition not:
                writer.WriteStartObject();
                writer.WritePropertyName("not");
                Write(writer, not.Inner);
                break;
            case TraitCondition trait:
                writer.WriteStartObject();
                writer.WriteString("trait", trait.Name);
                writer.WritePropertyName(trait.Operator.ToString().ToLowerInvariant());
                if (trait.Operator == TraitOperator.In)
                {
                    writer.WriteStartArray();
                    foreach (var operand in trait.Operands.IsDefault ? [] : trait.Operands)
                    {
                        TraitValueJsonConverter.WriteValue(writer, operand);
                    }

                    writer.WriteEndArray();
                }
                else
                {
                    TraitValueJsonConverter.WriteValue(writer, trait.Operands.IsDefaultOrEmpty ? TraitValue.Of(true) : trait.Operands[0]);
                }

                break;
            case AggregateCondition aggregate:
                writer.WriteStartObject();
                writer.WriteString("aggregate", AggregateName(aggregate.Field));
                writer.WriteNumber(aggregate.Operator.ToString().ToLowerInvariant(), aggregate.Value);
                break;
            case IdentifierCondition identifier:
                writer.WriteStartObject();
                writer.WriteStartArray("identifier");
                foreach (var kind in identifier.Kinds.IsDefault ? [] : identifier.Kinds)
                {
                    writer.WriteStringValue(kind.Name);
                }

                writer.WriteEndArray();
                break;
            case ConsentCondition consent:
                writer.WriteStartObject();
                writer.WriteString("consent", consent.Channel.Name);
                writer.WriteString("purpose", consent.Purpose.Name);
                break;
            case StageCondition stage:
                writer.WriteStartObject();
                if (stage.JourneyId is not null)
                {
                    writer.WriteString("journey", stage.JourneyId);
                }

                if (!stage.Stages.IsDefaultOrEmpty || stage.JourneyId is null)
                {
                    writer.WriteStartArray("stage");
                    foreach (var id in stage.Stages.IsDefault ? [] : stage.Stages)
                    {
                        writer.WriteStringValue(id);
                    }

                    writer.WriteEndArray();
                }

                break;
            case EventCondition windowed:
                writer.WriteStartObject();
                writer.WriteString("event", windowed.EventType);
                writer.WriteString("within", IsoDuration.Format(windowed.Within));
                writer.WriteStartObject(windowed.Measure == EventMeasure.Count ? "count" : "sum");
                writer.WriteNumber(windowed.Operator.ToString().ToLowerInvariant(), windowed.Value);
                writer.WriteEndObject();
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(condition), condition.GetType().Name, "not a condition of the language");
        }

        writer.WriteEndObject();
    }

    private static void WriteList(Utf8JsonWriter writer, string name, ImmutableArray<Condition> conditions)
    {
        writer.WriteStartArray(name);
        foreach (var condition in conditions.IsDefault ? [] : conditions)
        {
            Write(writer, condition);
        }

        writer.WriteEndArray();
    }
}
