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
    /// <summary>The earliest event's time.</summary>
    public DateTimeOffset? FirstSeen { get; init; }

    /// <summary>The latest event's time.</summary>
    public DateTimeOffset? LastSeen { get; init; }

    /// <summary>The earliest purchase's time.</summary>
    public DateTimeOffset? FirstPurchase { get; init; }

    /// <summary>The latest purchase's time (recency is measured from it).</summary>
    public DateTimeOffset? LastPurchase { get; init; }

    /// <summary>The number of orders (frequency).</summary>
    public int Orders { get; init; }

    /// <summary>The total paid over all orders, before refunds; <see langword="null"/> before the first purchase.</summary>
    public Money? Revenue { get; init; }

    /// <summary>The total refunded; <see langword="null"/> before the first refund.</summary>
    public Money? Refunds { get; init; }

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

    /// <summary>The products bought at least once.</summary>
    public KeySet ItemsBought { get; init; }

    /// <summary>The products in the cart now (added and not yet bought).</summary>
    public KeySet ItemsInCart { get; init; }

    /// <summary>The product ids the customer viewed.</summary>
    public KeySet ItemsViewed { get; init; }

    /// <summary>The categories of the order lines the customer bought (lines with a category).</summary>
    public KeySet CategoriesBought { get; init; }

    /// <summary>The channel of the latest event that named one.</summary>
    public Channel? LastChannel { get; init; }

    /// <summary>Messages sent, per channel.</summary>
    public ImmutableDictionary<Channel, int> MessagesSent { get; init; } = ImmutableDictionary<Channel, int>.Empty;

    /// <summary>Messages opened or clicked, per channel.</summary>
    public ImmutableDictionary<Channel, int> Engagements { get; init; } = ImmutableDictionary<Channel, int>.Empty;

    /// <summary>Revenue less refunds; <see langword="null"/> before the first purchase.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public Money? NetRevenue => Revenue is { } revenue ? (Refunds is { } refunds ? revenue - refunds : revenue) : null;

    /// <summary>The time since the last purchase at <paramref name="now"/>, or <see langword="null"/> if the customer never bought.</summary>
    /// <param name="now">The instant to measure at.</param>
    /// <returns>The recency.</returns>
    public TimeSpan? RecencyAt(DateTimeOffset now) => LastPurchase is { } last ? now - last : null;
}
