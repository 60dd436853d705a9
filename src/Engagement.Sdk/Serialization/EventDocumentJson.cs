using System.Text.Json;
using Engagement.Sdk.Events;
using static Engagement.Sdk.Serialization.JsonWriting;

namespace Engagement.Sdk.Serialization;

/// <summary>
/// Writes an <see cref="EngagementEvent"/> document: byte for byte what <see cref="EngagementJsonContext"/> writes for the
/// event with its <c>type</c> discriminator. For stores, which write the document of every tracked event; the serializer's
/// polymorphic path walks its metadata property by property and allocates its write stack for each document. The events
/// tracked most (views, searches, carts, checkouts and message receipts) are written by hand; the others, and any part
/// those leave to the contract (an amount), are written by the serializer itself, so they cannot drift from it.
/// </summary>
public static class EventDocumentJson
{
    // The discriminator, then each type's own properties in the order the serializer writes them (the derived type's first,
    // then its base's), then the common ones.
    private static readonly JsonEncodedText Discriminator = JsonEncodedText.Encode("type");

    private static readonly JsonEncodedText EventId = JsonEncodedText.Encode("eventId");
    private static readonly JsonEncodedText CustomerId = JsonEncodedText.Encode("customerId");
    private static readonly JsonEncodedText Timestamp = JsonEncodedText.Encode("timestamp");
    private static readonly JsonEncodedText Channel = JsonEncodedText.Encode("channel");
    private static readonly JsonEncodedText Identifiers = JsonEncodedText.Encode("identifiers");
    private static readonly JsonEncodedText SchemaVersion = JsonEncodedText.Encode("schemaVersion");


    private static readonly JsonEncodedText Url = JsonEncodedText.Encode("url");
    private static readonly JsonEncodedText ProductId = JsonEncodedText.Encode("productId");
    private static readonly JsonEncodedText Category = JsonEncodedText.Encode("category");
    private static readonly JsonEncodedText Quantity = JsonEncodedText.Encode("quantity");
    private static readonly JsonEncodedText UnitPrice = JsonEncodedText.Encode("unitPrice");
    private static readonly JsonEncodedText Query = JsonEncodedText.Encode("query");
    private static readonly JsonEncodedText CartValue = JsonEncodedText.Encode("cartValue");
    private static readonly JsonEncodedText DispatchId = JsonEncodedText.Encode("dispatchId");
    private static readonly JsonEncodedText ActionId = JsonEncodedText.Encode("actionId");
    private static readonly JsonEncodedText ChoiceProbability = JsonEncodedText.Encode("choiceProbability");
    private static readonly JsonEncodedText Policy = JsonEncodedText.Encode("policy");

    // The discriminators, as the contract's [JsonDerivedType] attributes name them.
    private static readonly JsonEncodedText PageViewedType = JsonEncodedText.Encode("page_viewed");
    private static readonly JsonEncodedText ProductViewedType = JsonEncodedText.Encode("product_viewed");
    private static readonly JsonEncodedText AddedToCartType = JsonEncodedText.Encode("added_to_cart");
    private static readonly JsonEncodedText RemovedFromCartType = JsonEncodedText.Encode("removed_from_cart");
    private static readonly JsonEncodedText SearchedType = JsonEncodedText.Encode("searched");
    private static readonly JsonEncodedText CheckoutStartedType = JsonEncodedText.Encode("checkout_started");
    private static readonly JsonEncodedText MessageSentType = JsonEncodedText.Encode("message_sent");
    private static readonly JsonEncodedText MessageDeliveredType = JsonEncodedText.Encode("message_delivered");
    private static readonly JsonEncodedText MessageOpenedType = JsonEncodedText.Encode("message_opened");
    private static readonly JsonEncodedText MessageClickedType = JsonEncodedText.Encode("message_clicked");
    private static readonly JsonEncodedText MessageDismissedType = JsonEncodedText.Encode("message_dismissed");

    /// <summary>
    /// The JSON property names this writer writes, by the type they belong to (for the test that keeps it in step with the
    /// source-generated contract: a property added to the model and not written here fails it).
    /// </summary>
    internal static IReadOnlyDictionary<Type, string[]> Written { get; } = new Dictionary<Type, string[]>
    {
        [typeof(PageViewed)] = Common(Url),
        [typeof(ProductViewed)] = Common(ProductId, Category),
        [typeof(AddedToCart)] = Common(ProductId, Quantity, UnitPrice),
        [typeof(RemovedFromCart)] = Common(ProductId),
        [typeof(Searched)] = Common(Query),
        [typeof(CheckoutStarted)] = Common(CartValue),
        [typeof(MessageSent)] = Common(ChoiceProbability, Policy, DispatchId, ActionId),
        [typeof(MessageDelivered)] = Common(DispatchId, ActionId),
        [typeof(MessageOpened)] = Common(DispatchId, ActionId),
        [typeof(MessageClicked)] = Common(DispatchId, ActionId),
        [typeof(MessageDismissed)] = Common(DispatchId, ActionId),
    };

    /// <summary>The discriminators this writer writes, by type (for the test that compares them with the contract's).</summary>
    internal static IReadOnlyDictionary<Type, string> Discriminators { get; } = new Dictionary<Type, string>
    {
        [typeof(PageViewed)] = PageViewedType.Value,
        [typeof(ProductViewed)] = ProductViewedType.Value,
        [typeof(AddedToCart)] = AddedToCartType.Value,
        [typeof(RemovedFromCart)] = RemovedFromCartType.Value,
        [typeof(Searched)] = SearchedType.Value,
        [typeof(CheckoutStarted)] = CheckoutStartedType.Value,
        [typeof(MessageSent)] = MessageSentType.Value,
        [typeof(MessageDelivered)] = MessageDeliveredType.Value,
        [typeof(MessageOpened)] = MessageOpenedType.Value,
        [typeof(MessageClicked)] = MessageClickedType.Value,
        [typeof(MessageDismissed)] = MessageDismissedType.Value,
    };

    /// <summary>Writes <paramref name="engagementEvent"/> as the JSON document <see cref="EngagementJsonContext"/> would write.</summary>
    /// <param name="writer">The writer (its encoder and indentation as the context's options: the defaults).</param>
    /// <param name="engagementEvent">The event.</param>
    public static void Write(Utf8JsonWriter writer, EngagementEvent engagementEvent)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(engagementEvent);
        switch (engagementEvent)
        {
            case ProductViewed e:
                Begin(writer, ProductViewedType);
                writer.WriteString(ProductId, e.ProductId);
                WriteIfPresent(writer, Category, e.Category);
                break;
            case AddedToCart e:
                Begin(writer, AddedToCartType);
                writer.WriteString(ProductId, e.ProductId);
                writer.WriteNumber(Quantity, e.Quantity);
                WriteMoneyIfPresent(writer, UnitPrice, e.UnitPrice);
                break;
            case PageViewed e:
                Begin(writer, PageViewedType);
                writer.WriteString(Url, e.Url);
                break;
            case RemovedFromCart e:
                Begin(writer, RemovedFromCartType);
                writer.WriteString(ProductId, e.ProductId);
                break;
            case Searched e:
                Begin(writer, SearchedType);
                writer.WriteString(Query, e.Query);
                break;
            case CheckoutStarted e:
                Begin(writer, CheckoutStartedType);
                WriteMoneyIfPresent(writer, CartValue, e.CartValue);
                break;
            case MessageSent e:
                Begin(writer, MessageSentType);
                if (e.ChoiceProbability is { } probability)
                {
                    writer.WriteNumber(ChoiceProbability, probability);
                }

                WriteIfPresent(writer, Policy, e.Policy);
                WriteMessage(writer, e);
                break;
            case MessageDelivered or MessageOpened or MessageClicked or MessageDismissed:
                // Receipts with no properties of their own.
                var receipt = (MessageEvent)engagementEvent;
                Begin(writer, receipt switch
                {
                    MessageDelivered => MessageDeliveredType,
                    MessageOpened => MessageOpenedType,
                    MessageClicked => MessageClickedType,
                    _ => MessageDismissedType,
                });
                WriteMessage(writer, receipt);
                break;
            default:
                // Every other event: the serializer's own writing.
                JsonSerializer.Serialize(writer, engagementEvent, EngagementJsonContext.Default.EngagementEvent);
                return;
        }

        writer.WriteString(EventId, engagementEvent.EventId);
        writer.WriteString(CustomerId, engagementEvent.CustomerId.Value);
        WriteInstant(writer, Timestamp, engagementEvent.Timestamp);
        if (engagementEvent.Channel is { } channel)
        {
            writer.WriteString(Channel, channel.Name);
        }

        WriteIdentifiers(writer, Identifiers, engagementEvent.Identifiers);
        writer.WriteNumber(SchemaVersion, engagementEvent.SchemaVersion);
        writer.WriteEndObject();
    }

    // The object's start and its type's discriminator, which the serializer writes first.
    private static void Begin(Utf8JsonWriter writer, JsonEncodedText type)
    {
        writer.WriteStartObject();
        writer.WriteString(Discriminator, type);
    }

    // The properties of every message event, between the derived type's own and the common ones.
    private static void WriteMessage(Utf8JsonWriter writer, MessageEvent message)
    {
        writer.WriteString(DispatchId, message.DispatchId);
        writer.WriteString(ActionId, message.ActionId);
    }

    // A type's own names, then those every event has.
    private static string[] Common(params JsonEncodedText[] own)
        => Names([.. own, EventId, CustomerId, Timestamp, Channel, Identifiers, SchemaVersion]);
}
