using System.Collections.Immutable;
using System.Text.Json.Serialization;
using Engagement.Sdk.Channels;

namespace Engagement.Sdk.Profiles;

/// <summary>
/// What a customer did, summarised: recency, frequency and monetary value, what they viewed, carted and bought, and how they
/// engage per channel. Kept up to date by <see cref="ProfileUpdater"/>; order-insensitive where it can be (first and last
/// seen are minimum and maximum, counts are sums).
/// </summary>
public sealed record BehaviourAggregates
{
    // Four instants as 10 bytes each instead of 24 for a DateTimeOffset?.
    private readonly CompactInstant _firstSeen;
    private readonly CompactInstant _lastSeen;
    private readonly CompactInstant _firstPurchase;
    private readonly CompactInstant _lastPurchase;

    // Money and a channel without the nullable wrapper: a default value (no currency, no name) stands for none.
    private readonly Money _revenue;
    private readonly Channel _lastChannel;

    // What fewer customers have (refunds, messages sent to them and their engagement with them, products bought with no time
    // kept) lives in one object that most aggregates never allocate: 32 bytes less per customer.
    private readonly BehaviourExtras? _extras;

    // The products bought, with the time each was last bought; ItemsBought is their keys (and the extras' untimed ones).
    private readonly KeyedValues<DateTimeOffset> _itemsLastBought;

    private BehaviourExtras Extras => _extras ?? BehaviourExtras.None;

    /// <summary>The earliest event's time.</summary>
    public DateTimeOffset? FirstSeen { get => _firstSeen.Value; init => _firstSeen = new CompactInstant(value); }

    /// <summary>The latest event's time.</summary>
    public DateTimeOffset? LastSeen { get => _lastSeen.Value; init => _lastSeen = new CompactInstant(value); }

    /// <summary>The earliest purchase's time.</summary>
    public DateTimeOffset? FirstPurchase { get => _firstPurchase.Value; init => _firstPurchase = new CompactInstant(value); }

    /// <summary>The latest purchase's time (recency is measured from it).</summary>
    public DateTimeOffset? LastPurchase { get => _lastPurchase.Value; init => _lastPurchase = new CompactInstant(value); }

    /// <summary>The number of orders (frequency).</summary>
    public int Orders { get; init; }

    /// <summary>The total paid over all orders, before refunds; <see langword="null"/> before the first purchase.</summary>
    public Money? Revenue { get => _revenue.Currency.IsEmpty ? null : _revenue; init => _revenue = value ?? default; }

    /// <summary>The total refunded; <see langword="null"/> before the first refund.</summary>
    public Money? Refunds { get => Extras.Refunds.Currency.IsEmpty ? null : Extras.Refunds; init => _extras = BehaviourExtras.Normalise(Extras with { Refunds = value ?? default }); }

    /// <summary>What is left to refund of each order (order id → amount paid less refunds so far).</summary>
    [JsonConverter(typeof(KeyedValuesJsonConverter<Money>))]
    public KeyedValues<Money> RefundableByOrder { get; init; }

    /// <summary>The number of searches.</summary>
    public int Searches { get; init; }

    /// <summary>The number of product views.</summary>
    public int ProductViews { get; init; }

    /// <summary>The number of page views.</summary>
    public int PageViews { get; init; }

    /// <summary>Views per product category.</summary>
    [JsonConverter(typeof(KeyedValuesJsonConverter<int>))]
    public KeyedValues<int> CategoryViews { get; init; }

    /// <summary>
    /// The products bought at least once: those of <see cref="ItemsLastBought"/>, and those bought with no time kept (before
    /// the profile kept per-product times). Not stored apart from them: setting it keeps the items of
    /// <see cref="ItemsLastBought"/> and records the others as bought at an unknown time; reading it builds the set (an
    /// array for more than one product).
    /// </summary>
    public KeySet ItemsBought
    {
        get => KeySet.FromKeys(_itemsLastBought).Union(Extras.BoughtUntimed);
        init => _extras = BehaviourExtras.WithBoughtUntimed(_extras, value.ExceptKeys(_itemsLastBought));
    }

    /// <summary>When each product was last bought (product id → the latest order's time), for replenishment windows.</summary>
    [JsonConverter(typeof(KeyedValuesJsonConverter<DateTimeOffset>))]
    public KeyedValues<DateTimeOffset> ItemsLastBought
    {
        get => _itemsLastBought;
        init
        {
            _itemsLastBought = value;
            if (_extras is { BoughtUntimed.IsEmpty: false } extras)
            {
                _extras = BehaviourExtras.WithBoughtUntimed(extras, extras.BoughtUntimed.ExceptKeys(value));
            }
        }
    }

    /// <summary>The products in the cart now (added and not yet bought).</summary>
    public KeySet ItemsInCart { get; init; }

    /// <summary>The product ids the customer viewed.</summary>
    public KeySet ItemsViewed { get; init; }

    /// <summary>The categories of the order lines the customer bought (lines with a category).</summary>
    public KeySet CategoriesBought { get; init; }

    /// <summary>The channel of the latest event that named one.</summary>
    public Channel? LastChannel { get => _lastChannel.IsEmpty ? null : _lastChannel; init => _lastChannel = value ?? default; }

    /// <summary>Messages sent, per channel.</summary>
    public ImmutableDictionary<Channel, int> MessagesSent { get => Extras.MessagesSent; init => _extras = BehaviourExtras.Normalise(Extras with { MessagesSent = value ?? ImmutableDictionary<Channel, int>.Empty }); }

    /// <summary>Messages opened or clicked, per channel.</summary>
    public ImmutableDictionary<Channel, int> Engagements { get => Extras.Engagements; init => _extras = BehaviourExtras.Normalise(Extras with { Engagements = value ?? ImmutableDictionary<Channel, int>.Empty }); }

    /// <summary>Revenue less refunds; <see langword="null"/> before the first purchase.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public Money? NetRevenue => Revenue is { } revenue ? (Refunds is { } refunds ? revenue - refunds : revenue) : null;

    /// <summary>The time since the last purchase at <paramref name="now"/>, or <see langword="null"/> if the customer never bought.</summary>
    /// <param name="now">The instant to measure at.</param>
    /// <returns>The recency.</returns>
    public TimeSpan? RecencyAt(DateTimeOffset now) => LastPurchase is { } last ? now - last : null;

    /// <summary>The number of products in <see cref="ItemsBought"/>, without building the set.</summary>
    internal int ItemsBoughtCount => _itemsLastBought.Count + Extras.BoughtUntimed.Count;

    /// <summary>Whether <paramref name="product"/> is in <see cref="ItemsBought"/>, without building the set.</summary>
    /// <param name="product">The product id.</param>
    /// <returns>Whether the customer bought it.</returns>
    internal bool HasBought(string product) => _itemsLastBought.ContainsKey(product) || Extras.BoughtUntimed.Contains(product);

    /// <summary>The products bought with no time kept (not in <see cref="ItemsLastBought"/>).</summary>
    internal KeySet ItemsBoughtUntimed => Extras.BoughtUntimed;
}

/// <summary>The parts of <see cref="BehaviourAggregates"/> fewer customers have; <see langword="null"/> in aggregates that have none.</summary>
internal sealed record BehaviourExtras
{
    public static readonly BehaviourExtras None = new();

    public Money Refunds { get; init; }

    public ImmutableDictionary<Channel, int> MessagesSent { get; init; } = ImmutableDictionary<Channel, int>.Empty;

    public ImmutableDictionary<Channel, int> Engagements { get; init; } = ImmutableDictionary<Channel, int>.Empty;

    /// <summary>Products bought with no time kept (none of them in the aggregates' items last bought).</summary>
    public KeySet BoughtUntimed { get; init; }

    /// <summary>
    /// <paramref name="extras"/> with <paramref name="untimed"/> as the products bought with no time kept, normalised; without
    /// a copy when nothing changes or nothing is left (as for most aggregates read from a document).
    /// </summary>
    public static BehaviourExtras? WithBoughtUntimed(BehaviourExtras? extras, KeySet untimed)
    {
        var current = extras ?? None;
        if (untimed.IsEmpty && current.BoughtUntimed.IsEmpty)
        {
            return extras;
        }

        if (untimed.IsEmpty && current.Refunds.Currency.IsEmpty && current.MessagesSent.IsEmpty && current.Engagements.IsEmpty)
        {
            return null; // nothing else is kept: no copy to normalise away
        }

        return Normalise(current with { BoughtUntimed = untimed });
    }

    /// <summary>The extras, or <see langword="null"/> when they hold nothing (so that such aggregates compare equal and allocate nothing).</summary>
    public static BehaviourExtras? Normalise(BehaviourExtras extras)
        => extras.Refunds.Currency.IsEmpty && extras.MessagesSent.IsEmpty && extras.Engagements.IsEmpty && extras.BoughtUntimed.IsEmpty ? null : extras;
}

/// <summary>
/// A <see cref="DateTimeOffset"/>? in 10 bytes: UTC ticks + 1 (0 when absent) and the offset in minutes (offsets are whole
/// minutes, at most ±14 hours). Packed, so that several in a row take 10 bytes each.
/// </summary>
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential, Pack = 2)]
internal readonly struct CompactInstant : IEquatable<CompactInstant>
{
    private readonly long _utcTicksPlusOne;
    private readonly short _offsetMinutes;

    public CompactInstant(DateTimeOffset? value)
    {
        _utcTicksPlusOne = value is { } v ? v.UtcTicks + 1 : 0;
        _offsetMinutes = value is { } o ? (short)(o.Offset.Ticks / TimeSpan.TicksPerMinute) : (short)0;
    }

    public DateTimeOffset? Value => _utcTicksPlusOne == 0
        ? null
        : new DateTimeOffset(_utcTicksPlusOne - 1 + (_offsetMinutes * TimeSpan.TicksPerMinute), TimeSpan.FromMinutes(_offsetMinutes));

    // Like DateTimeOffset's: the same instant is equal whatever its offset.
    public bool Equals(CompactInstant other) => _utcTicksPlusOne == other._utcTicksPlusOne;

    public override bool Equals(object? obj) => obj is CompactInstant other && Equals(other);

    public override int GetHashCode() => _utcTicksPlusOne.GetHashCode();
}
