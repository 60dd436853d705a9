using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Engagement.Sdk.Profiles;

/// <summary>The type of a <see cref="TraitValue"/>.</summary>
public enum TraitKind
{
    /// <summary>Text.</summary>
    String,

    /// <summary>A finite number.</summary>
    Number,

    /// <summary>True or false.</summary>
    Boolean,

    /// <summary>A calendar date.</summary>
    Date,

    /// <summary>A list of texts.</summary>
    List,
}

/// <summary>
/// A typed value of a profile trait or a custom event's property: text, a finite number, a boolean, a date or a list of texts.
/// In JSON it is the natural JSON value, except dates, which are <c>{"date": "2026-05-01"}</c>.
/// </summary>
[JsonConverter(typeof(TraitValueJsonConverter))]
public readonly struct TraitValue : IEquatable<TraitValue>
{
    private readonly object? _value;

    private TraitValue(TraitKind kind, object value)
    {
        Kind = kind;
        _value = value;
    }

    /// <summary>The value's type.</summary>
    public TraitKind Kind { get; }

    /// <summary>A text value.</summary>
    /// <param name="value">The text.</param>
    /// <returns>The value.</returns>
    public static TraitValue Of(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new(TraitKind.String, Sdk.Text.RequireCleanText("trait", value));
    }

    /// <summary>A number.</summary>
    /// <param name="value">A finite number.</param>
    /// <returns>The value.</returns>
    /// <exception cref="EngagementValidationException">The number is NaN or infinite.</exception>
    public static TraitValue Of(double value)
        => double.IsFinite(value) ? new(TraitKind.Number, value) : throw new EngagementValidationException("trait", value, "a number must be finite (not NaN or infinity)");

    /// <summary>A boolean.</summary>
    /// <param name="value">The boolean.</param>
    /// <returns>The value.</returns>
    public static TraitValue Of(bool value) => new(TraitKind.Boolean, value);

    /// <summary>A date.</summary>
    /// <param name="value">The date.</param>
    /// <returns>The value.</returns>
    public static TraitValue Of(DateOnly value) => new(TraitKind.Date, value);

    /// <summary>A list of texts.</summary>
    /// <param name="values">The texts.</param>
    /// <returns>The value.</returns>
    public static TraitValue Of(ImmutableArray<string> values)
    {
        foreach (var v in values)
        {
            Sdk.Text.RequireCleanText("trait", v);
        }

        return new(TraitKind.List, values);
    }

    /// <summary>The text; throws unless <see cref="Kind"/> is <see cref="TraitKind.String"/>.</summary>
    public string AsString() => (string)As(TraitKind.String);

    /// <summary>The number; throws unless <see cref="Kind"/> is <see cref="TraitKind.Number"/>.</summary>
    public double AsNumber() => (double)As(TraitKind.Number);

    /// <summary>The boolean; throws unless <see cref="Kind"/> is <see cref="TraitKind.Boolean"/>.</summary>
    public bool AsBoolean() => (bool)As(TraitKind.Boolean);

    /// <summary>The date; throws unless <see cref="Kind"/> is <see cref="TraitKind.Date"/>.</summary>
    public DateOnly AsDate() => (DateOnly)As(TraitKind.Date);

    /// <summary>The list; throws unless <see cref="Kind"/> is <see cref="TraitKind.List"/>.</summary>
    public ImmutableArray<string> AsList() => (ImmutableArray<string>)As(TraitKind.List);

    private object As(TraitKind kind)
        => Kind == kind && _value is not null ? _value : throw new InvalidOperationException($"The trait is a {Kind}, not a {kind}.");

    /// <inheritdoc />
    public bool Equals(TraitValue other)
        => Kind == other.Kind && (Kind == TraitKind.List
            ? AsList().SequenceEqual(other.AsList(), StringComparer.Ordinal)
            : Equals(_value, other._value));

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is TraitValue other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Kind, Kind == TraitKind.List ? AsList().Length : _value?.GetHashCode() ?? 0);

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        TraitKind.Number => AsNumber().ToString("R", CultureInfo.InvariantCulture),
        TraitKind.Date => AsDate().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        TraitKind.List => "[" + string.Join(", ", AsList()) + "]",
        TraitKind.Boolean => AsBoolean() ? "true" : "false",
        _ => _value as string ?? string.Empty,
    };

    /// <summary>Equality.</summary>
    /// <param name="left">The left value.</param>
    /// <param name="right">The right value.</param>
    /// <returns>Whether they are equal.</returns>
    public static bool operator ==(TraitValue left, TraitValue right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    /// <param name="left">The left value.</param>
    /// <param name="right">The right value.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(TraitValue left, TraitValue right) => !left.Equals(right);
}

internal sealed class TraitValueJsonConverter : JsonConverter<TraitValue>
{
    public override TraitValue Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return TraitValue.Of(reader.GetString()!);
            case JsonTokenType.Number:
                return TraitValue.Of(reader.GetDouble());
            case JsonTokenType.True:
            case JsonTokenType.False:
                return TraitValue.Of(reader.GetBoolean());
            case JsonTokenType.StartArray:
                var items = ImmutableArray.CreateBuilder<string>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    items.Add(reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw new JsonException("A list trait holds only strings."));
                }

                return TraitValue.Of(items.ToImmutable());
            case JsonTokenType.StartObject:
                reader.Read();
                if (reader.TokenType != JsonTokenType.PropertyName || reader.GetString() != "date" || !reader.Read() || reader.TokenType != JsonTokenType.String)
                {
                    throw new JsonException("An object trait must be {\"date\": \"yyyy-MM-dd\"}.");
                }

                var date = DateOnly.ParseExact(reader.GetString()!, "yyyy-MM-dd", CultureInfo.InvariantCulture);
                reader.Read();
                return reader.TokenType == JsonTokenType.EndObject ? TraitValue.Of(date) : throw new JsonException("A date trait has one property.");
            default:
                throw new JsonException($"A trait cannot be a JSON {reader.TokenType}.");
        }
    }

    public override void Write(Utf8JsonWriter writer, TraitValue value, JsonSerializerOptions options) => WriteValue(writer, value);

    /// <summary>Writes a trait value as JSON: a string, number, boolean, list of strings, or <c>{"date": "yyyy-MM-dd"}</c>.</summary>
    internal static void WriteValue(Utf8JsonWriter writer, TraitValue value)
    {
        switch (value.Kind)
        {
            case TraitKind.String:
                writer.WriteStringValue(value.AsString());
                break;
            case TraitKind.Number:
                writer.WriteNumberValue(value.AsNumber());
                break;
            case TraitKind.Boolean:
                writer.WriteBooleanValue(value.AsBoolean());
                break;
            case TraitKind.Date:
                writer.WriteStartObject();
                writer.WriteString("date", value.AsDate().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                writer.WriteEndObject();
                break;
            default:
                writer.WriteStartArray();
                foreach (var item in value.AsList())
                {
                    writer.WriteStringValue(item);
                }

                writer.WriteEndArray();
                break;
        }
    }
}
