using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using static Engagement.Sdk.Serialization.JsonWriting;

namespace Engagement.Sdk.Serialization;

/// <summary>
/// Writes a <see cref="CustomerProfile"/> document: byte for byte what <see cref="EngagementJsonContext"/> writes, about five
/// times faster. For stores, which write a profile document for every tracked event; the serializer's general path walks its
/// metadata property by property and is most of a profile write's cost. The parts most profiles leave empty (traits,
/// preferences, merges) are written by the serializer itself when present, so they cannot drift from the contract.
/// </summary>
public static class ProfileJson
{
    // The property names, in the order the serializer writes them (declaration order).
    private static readonly JsonEncodedText Id = JsonEncodedText.Encode("id");
    private static readonly JsonEncodedText Version = JsonEncodedText.Encode("version");
    private static readonly JsonEncodedText Identifiers = JsonEncodedText.Encode("identifiers");
    private static readonly JsonEncodedText Traits = JsonEncodedText.Encode("traits");
    private static readonly JsonEncodedText ChannelPreferences = JsonEncodedText.Encode("channelPreferences");
    private static readonly JsonEncodedText TimeZone = JsonEncodedText.Encode("timeZone");
    private static readonly JsonEncodedText Locale = JsonEncodedText.Encode("locale");
    private static readonly JsonEncodedText TraitTimes = JsonEncodedText.Encode("traitTimes");
    private static readonly JsonEncodedText Merges = JsonEncodedText.Encode("merges");
    private static readonly JsonEncodedText MergedInto = JsonEncodedText.Encode("mergedInto");
    private static readonly JsonEncodedText PausedUntil = JsonEncodedText.Encode("pausedUntil");
    private static readonly JsonEncodedText ProfilingObjectedAt = JsonEncodedText.Encode("profilingObjectedAt");
    private static readonly JsonEncodedText Behaviour = JsonEncodedText.Encode("behaviour");
    private static readonly JsonEncodedText Journeys = JsonEncodedText.Encode("journeys");


    private static readonly JsonEncodedText FirstSeen = JsonEncodedText.Encode("firstSeen");
    private static readonly JsonEncodedText LastSeen = JsonEncodedText.Encode("lastSeen");
    private static readonly JsonEncodedText FirstPurchase = JsonEncodedText.Encode("firstPurchase");
    private static readonly JsonEncodedText LastPurchase = JsonEncodedText.Encode("lastPurchase");
    private static readonly JsonEncodedText Orders = JsonEncodedText.Encode("orders");
    private static readonly JsonEncodedText Revenue = JsonEncodedText.Encode("revenue");
    private static readonly JsonEncodedText Refunds = JsonEncodedText.Encode("refunds");
    private static readonly JsonEncodedText RefundableByOrder = JsonEncodedText.Encode("refundableByOrder");
    private static readonly JsonEncodedText Searches = JsonEncodedText.Encode("searches");
    private static readonly JsonEncodedText ProductViews = JsonEncodedText.Encode("productViews");
    private static readonly JsonEncodedText PageViews = JsonEncodedText.Encode("pageViews");
    private static readonly JsonEncodedText CategoryViews = JsonEncodedText.Encode("categoryViews");
    private static readonly JsonEncodedText ItemsBought = JsonEncodedText.Encode("itemsBought");
    private static readonly JsonEncodedText ItemsLastBought = JsonEncodedText.Encode("itemsLastBought");
    private static readonly JsonEncodedText ItemsInCart = JsonEncodedText.Encode("itemsInCart");
    private static readonly JsonEncodedText ItemsViewed = JsonEncodedText.Encode("itemsViewed");
    private static readonly JsonEncodedText CategoriesBought = JsonEncodedText.Encode("categoriesBought");
    private static readonly JsonEncodedText LastChannel = JsonEncodedText.Encode("lastChannel");
    private static readonly JsonEncodedText MessagesSent = JsonEncodedText.Encode("messagesSent");
    private static readonly JsonEncodedText Engagements = JsonEncodedText.Encode("engagements");

    private static readonly JsonEncodedText JourneyId = JsonEncodedText.Encode("journeyId");
    private static readonly JsonEncodedText History = JsonEncodedText.Encode("history");
    private static readonly JsonEncodedText StageId = JsonEncodedText.Encode("stageId");
    private static readonly JsonEncodedText EnteredAt = JsonEncodedText.Encode("enteredAt");
    private static readonly JsonEncodedText Reason = JsonEncodedText.Encode("reason");

    private static readonly KeyedValuesJsonConverter<Money> RefundsByOrder = new();
    private static readonly KeyedValuesJsonConverter<DateTimeOffset> LastBoughtByItem = new();

    /// <summary>
    /// The JSON property names this writer writes, by the type they belong to (for the test that keeps it in step with the
    /// source-generated contract: a property added to the model and not written here fails it).
    /// </summary>
    internal static IReadOnlyDictionary<Type, string[]> Written { get; } = new Dictionary<Type, string[]>
    {
        [typeof(CustomerProfile)] = Names(Id, Version, Identifiers, Traits, ChannelPreferences, TimeZone, Locale, TraitTimes, Merges, MergedInto, PausedUntil, ProfilingObjectedAt, Behaviour, Journeys),
        [typeof(BehaviourAggregates)] = Names(
            FirstSeen, LastSeen, FirstPurchase, LastPurchase, Orders, Revenue, Refunds, RefundableByOrder, Searches, ProductViews, PageViews,
            CategoryViews, ItemsBought, ItemsLastBought, ItemsInCart, ItemsViewed, CategoriesBought, LastChannel, MessagesSent, Engagements),
        [typeof(JourneyPosition)] = Names(JourneyId, History),
        [typeof(StageVisit)] = Names(StageId, EnteredAt, Reason),
    };

    /// <summary>Writes <paramref name="profile"/> as the JSON document <see cref="EngagementJsonContext"/> would write.</summary>
    /// <param name="writer">The writer (its encoder and indentation as the context's options: the defaults).</param>
    /// <param name="profile">The profile.</param>
    public static void Write(Utf8JsonWriter writer, CustomerProfile profile)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(profile);
        writer.WriteStartObject();
        writer.WriteString(Id, profile.Id.Value);
        writer.WriteNumber(Version, profile.Version);
        WriteIdentifiers(writer, Identifiers, profile.Identifiers);
        WriteMap(writer, Traits, profile.Traits);
        WriteMap(writer, ChannelPreferences, profile.ChannelPreferences);
        WriteIfPresent(writer, TimeZone, profile.TimeZone);
        WriteIfPresent(writer, Locale, profile.Locale);
        WriteMap(writer, TraitTimes, profile.TraitTimes);
        writer.WritePropertyName(Merges);
        if (profile.Merges.IsDefaultOrEmpty)
        {
            writer.WriteStartArray();
            writer.WriteEndArray();
        }
        else
        {
            JsonSerializer.Serialize(writer, profile.Merges, Info<ImmutableArray<ProfileMerge>>.Type);
        }

        if (profile.MergedInto is { } redirect)
        {
            writer.WritePropertyName(MergedInto);
            JsonSerializer.Serialize(writer, redirect, Info<ProfileRedirect>.Type);
        }

        WriteIfPresent(writer, PausedUntil, profile.PausedUntil);
        WriteIfPresent(writer, ProfilingObjectedAt, profile.ProfilingObjectedAt);
        writer.WritePropertyName(Behaviour);
        WriteBehaviour(writer, profile.Behaviour);
        writer.WriteStartObject(Journeys);
        foreach (var (journey, position) in profile.Journeys)
        {
            writer.WriteStartObject(journey);
            writer.WriteString(JourneyId, position.JourneyId);
            writer.WriteStartArray(History);
            foreach (var visit in position.History)
            {
                writer.WriteStartObject();
                writer.WriteString(StageId, visit.StageId);
                writer.WritePropertyName(EnteredAt);
                WriteInstant(writer, visit.EnteredAt);
                writer.WriteString(Reason, visit.Reason);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void WriteBehaviour(Utf8JsonWriter writer, BehaviourAggregates b)
    {
        writer.WriteStartObject();
        WriteIfPresent(writer, FirstSeen, b.FirstSeen);
        WriteIfPresent(writer, LastSeen, b.LastSeen);
        WriteIfPresent(writer, FirstPurchase, b.FirstPurchase);
        WriteIfPresent(writer, LastPurchase, b.LastPurchase);
        writer.WriteNumber(Orders, b.Orders);
        WriteMoneyIfPresent(writer, Revenue, b.Revenue);
        WriteMoneyIfPresent(writer, Refunds, b.Refunds);
        writer.WritePropertyName(RefundableByOrder);
        RefundsByOrder.Write(writer, b.RefundableByOrder, Options);
        writer.WriteNumber(Searches, b.Searches);
        writer.WriteNumber(ProductViews, b.ProductViews);
        writer.WriteNumber(PageViews, b.PageViews);
        writer.WriteStartObject(CategoryViews);
        foreach (var (category, views) in b.CategoryViews)
        {
            writer.WriteNumber(category, views);
        }

        writer.WriteEndObject();
        if (b.ItemsBoughtUntimed.IsEmpty)
        {
            // The products bought are the keys of the times they were last bought: written without building the set.
            writer.WriteStartArray(ItemsBought);
            foreach (var (item, _) in b.ItemsLastBought)
            {
                writer.WriteStringValue(item);
            }

            writer.WriteEndArray();
        }
        else
        {
            WriteSet(writer, ItemsBought, b.ItemsBought);
        }

        writer.WritePropertyName(ItemsLastBought);
        LastBoughtByItem.Write(writer, b.ItemsLastBought, Options);
        WriteSet(writer, ItemsInCart, b.ItemsInCart);
        WriteSet(writer, ItemsViewed, b.ItemsViewed);
        WriteSet(writer, CategoriesBought, b.CategoriesBought);
        if (b.LastChannel is { } channel)
        {
            writer.WriteString(LastChannel, channel.Name);
        }

        WriteMap(writer, MessagesSent, b.MessagesSent);
        WriteMap(writer, Engagements, b.Engagements);
        writer.WriteEndObject();
    }

    private static void WriteSet(Utf8JsonWriter writer, JsonEncodedText name, KeySet set)
    {
        writer.WriteStartArray(name);
        foreach (var item in set)
        {
            writer.WriteStringValue(item);
        }

        writer.WriteEndArray();
    }

    // Maps most profiles leave empty: "{}" directly, otherwise the serializer's own dictionary writing (its key order and
    // key conversion).
    private static void WriteMap<TKey, TValue>(Utf8JsonWriter writer, JsonEncodedText name, ImmutableDictionary<TKey, TValue> map)
        where TKey : notnull
    {
        writer.WritePropertyName(name);
        if (map.IsEmpty)
        {
            writer.WriteStartObject();
            writer.WriteEndObject();
        }
        else
        {
            JsonSerializer.Serialize(writer, map, Info<ImmutableDictionary<TKey, TValue>>.Type);
        }
    }

    // The counts by channel (messages sent, engagements), which every receipt changes: each channel's name as the channel
    // converter writes a key, in the dictionary's order, as the serializer's dictionary converter enumerates it.
    private static void WriteMap(Utf8JsonWriter writer, JsonEncodedText name, ImmutableDictionary<Channel, int> map)
    {
        writer.WriteStartObject(name);
        foreach (var (channel, count) in map)
        {
            writer.WriteNumber(channel.Name, count);
        }

        writer.WriteEndObject();
    }

    // The context's contract for a type the profile holds, looked up once.
    private static class Info<T>
    {
        public static readonly JsonTypeInfo<T> Type = (JsonTypeInfo<T>)(EngagementJsonContext.Default.GetTypeInfo(typeof(T))
            ?? throw new InvalidOperationException($"{typeof(T)} is not part of the profile's JSON contract."));
    }
}
