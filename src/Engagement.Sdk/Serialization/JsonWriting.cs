using System.Text.Json;

namespace Engagement.Sdk.Serialization;

/// <summary>
/// What the hand-written document writers (<see cref="ProfileJson"/>, <see cref="DispatchJson"/>, <see cref="EventDocumentJson"/>) share, so that they write
/// what <see cref="EngagementJsonContext"/> writes: instants by its strict converter with its options, and null properties
/// left out, as its WhenWritingNull condition does.
/// </summary>
internal static class JsonWriting
{
    private static readonly StrictDateTimeOffsetConverter Instants = new();
    private static readonly JsonEncodedText Kind = JsonEncodedText.Encode("kind");
    private static readonly JsonEncodedText Value = JsonEncodedText.Encode("value");
    private static readonly JsonEncodedText Key = JsonEncodedText.Encode("key");

    /// <summary>The context's options.</summary>
    public static JsonSerializerOptions Options => EngagementJsonContext.Default.Options;

    /// <summary>Writes an instant as the context does.</summary>
    public static void WriteInstant(Utf8JsonWriter writer, DateTimeOffset value) => Instants.Write(writer, value, Options);

    /// <summary>Writes a named instant as the context does.</summary>
    public static void WriteInstant(Utf8JsonWriter writer, JsonEncodedText name, DateTimeOffset value)
    {
        writer.WritePropertyName(name);
        WriteInstant(writer, value);
    }

    /// <summary>Writes a string property unless it is null.</summary>
    public static void WriteIfPresent(Utf8JsonWriter writer, JsonEncodedText name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    /// <summary>Writes an instant property unless it is null.</summary>
    public static void WriteIfPresent(Utf8JsonWriter writer, JsonEncodedText name, DateTimeOffset? value)
    {
        if (value is { } instant)
        {
            WriteInstant(writer, name, instant);
        }
    }

    /// <summary>Writes an amount by the contract, unless it is null.</summary>
    public static void WriteMoneyIfPresent(Utf8JsonWriter writer, JsonEncodedText name, Money? value)
    {
        if (value is { } money)
        {
            writer.WritePropertyName(name);
            JsonSerializer.Serialize(writer, money, EngagementJsonContext.Default.Money);
        }
    }

    /// <summary>Writes a named array of identifiers as the contract does (the key only where it is not the default one).</summary>
    public static void WriteIdentifiers(Utf8JsonWriter writer, JsonEncodedText name, System.Collections.Immutable.ImmutableArray<Profiles.Identifier> identifiers)
    {
        writer.WriteStartArray(name);
        foreach (var identifier in identifiers.IsDefault ? [] : identifiers)
        {
            writer.WriteStartObject();
            writer.WriteString(Kind, identifier.Kind.Name);
            writer.WriteString(Value, identifier.Value);
            if (!identifier.HasDefaultKey)
            {
                writer.WriteString(Key, identifier.Key);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    /// <summary>The names, as the contract test compares them.</summary>
    public static string[] Names(params JsonEncodedText[] names) => [.. names.Select(static n => n.Value)];
}
