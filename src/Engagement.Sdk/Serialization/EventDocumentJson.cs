using System.Text.Json;
using Engagement.Sdk.Events;
using static Engagement.Sdk.Serialization.JsonWriting;

namespace Engagement.Sdk.Serialization;

/// <summary>
/// Writes an <see cref="EngagementEvent"/> document, with its <c>type</c> discriminator: byte for byte what
/// <see cref="EngagementJsonContext"/> writes. For stores, which write a document for every event appended: the delivery
/// worker's receipts (a <see cref="MessageSent"/> for every message a channel accepts) are written by hand, several times
/// faster than the serializer's polymorphic path; every other event is written by the serializer.
/// </summary>
public static class EventDocumentJson
{
    // The discriminator, then the property names in the order the serializer writes them (the most derived type's first).
    private static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText MessageSentType = JsonEncodedText.Encode("message_sent");
    private static readonly JsonEncodedText ChoiceProbability = JsonEncodedText.Encode("choiceProbability");
    private static readonly JsonEncodedText Policy = JsonEncodedText.Encode("policy");
    private static readonly JsonEncodedText DispatchId = JsonEncodedText.Encode("dispatchId");
    private static readonly JsonEncodedText ActionId = JsonEncodedText.Encode("actionId");
    private static readonly JsonEncodedText EventId = JsonEncodedText.Encode("eventId");
    private static readonly JsonEncodedText CustomerId = JsonEncodedText.Encode("customerId");
    private static readonly JsonEncodedText Timestamp = JsonEncodedText.Encode("timestamp");
    private static readonly JsonEncodedText Channel = JsonEncodedText.Encode("channel");
    private static readonly JsonEncodedText Identifiers = JsonEncodedText.Encode("identifiers");
    private static readonly JsonEncodedText SchemaVersion = JsonEncodedText.Encode("schemaVersion");

    /// <summary>
    /// The JSON property names this writer writes by hand, by the type they belong to (for the test that keeps it in step with
    /// the source-generated contract: a property added to the model and not written here fails it).
    /// </summary>
    internal static IReadOnlyDictionary<Type, string[]> Written { get; } = new Dictionary<Type, string[]>
    {
        [typeof(MessageSent)] = Names(ChoiceProbability, Policy, DispatchId, ActionId, EventId, CustomerId, Timestamp, Channel, Identifiers, SchemaVersion),
    };

    /// <summary>Writes <paramref name="engagementEvent"/> as the JSON document <see cref="EngagementJsonContext"/> would write.</summary>
    /// <param name="writer">The writer (its encoder and indentation as the context's options: the defaults).</param>
    /// <param name="engagementEvent">The event.</param>
    public static void Write(Utf8JsonWriter writer, EngagementEvent engagementEvent)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(engagementEvent);
        if (engagementEvent is not MessageSent sent || !sent.Identifiers.IsEmpty)
        {
            // Identifiers are written by the serializer's own converters; a receipt carries none.
            JsonSerializer.Serialize(writer, engagementEvent, EngagementJsonContext.Default.EngagementEvent);
            return;
        }

        writer.WriteStartObject();
        writer.WriteString(Type, MessageSentType);
        if (sent.ChoiceProbability is { } probability)
        {
            writer.WriteNumber(ChoiceProbability, probability);
        }

        WriteIfPresent(writer, Policy, sent.Policy);
        writer.WriteString(DispatchId, sent.DispatchId);
        writer.WriteString(ActionId, sent.ActionId);
        writer.WriteString(EventId, sent.EventId);
        writer.WriteString(CustomerId, sent.CustomerId.Value);
        WriteInstant(writer, Timestamp, sent.Timestamp);
        if (sent.Channel is { } channel)
        {
            writer.WriteString(Channel, channel.Name);
        }

        writer.WriteStartArray(Identifiers);
        writer.WriteEndArray();
        writer.WriteNumber(SchemaVersion, sent.SchemaVersion);
        writer.WriteEndObject();
    }
}
