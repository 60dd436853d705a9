using System.Collections.Immutable;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Events;

namespace Engagement.Sdk.Profiles;

/// <summary>
/// Applies one event to a profile: learns its identifiers and updates the behavioural aggregates. Pure: the same profile and
/// event always give the same result, and nothing is stored.
/// </summary>
public static class ProfileUpdater
{
    /// <summary>Returns <paramref name="profile"/> updated with <paramref name="engagementEvent"/>.</summary>
    /// <param name="profile">The profile before the event.</param>
    /// <param name="engagementEvent">A validated event of the same customer.</param>
    /// <returns>The updated profile (same <see cref="CustomerProfile.Version"/>; the store increments it on save).</returns>
    /// <exception cref="CurrencyMismatchException">A purchase or refund is in another currency than the customer's earlier ones.</exception>
    /// <exception cref="EngagementValidationException">A refund names an order the customer did not place, or exceeds what is left to refund of it.</exception>
    public static CustomerProfile Apply(CustomerProfile profile, EngagementEvent engagementEvent)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(engagementEvent);
        if (profile.Id != engagementEvent.CustomerId)
        {
            throw new EngagementValidationException("customerId", engagementEvent.CustomerId.Value, $"the event belongs to another customer than the profile '{profile.Id}'");
        }

        return ApplyTo(profile, engagementEvent, []);
    }

    /// <summary>
    /// Applies an event to the profile identity resolution routed it to (which may have another id than the event names,
    /// after a merge), adding the event's identifiers except <paramref name="withheld"/> ones (identifiers another person holds).
    /// </summary>
    /// <param name="profile">The profile the event belongs to.</param>
    /// <param name="engagementEvent">The validated event.</param>
    /// <param name="withheld">Identifiers not to add.</param>
    /// <returns>The updated profile.</returns>
    /// <exception cref="EngagementValidationException">A refund does not match an order of the customer, or exceeds it; or a purchase would take the customer's revenue past <see cref="Money.MaxAmount"/>.</exception>
    public static CustomerProfile ApplyTo(CustomerProfile profile, EngagementEvent engagementEvent, IReadOnlyCollection<Identifier> withheld)
        => ApplyTo(profile, engagementEvent, withheld, 0);

    /// <summary>
    /// As <see cref="ApplyTo(CustomerProfile, EngagementEvent, IReadOnlyCollection{Identifier})"/>, with the version moved on
    /// by <paramref name="versionStep"/> in the same copy (for a store that takes the next version as it is).
    /// </summary>
    internal static CustomerProfile ApplyTo(CustomerProfile profile, EngagementEvent engagementEvent, IReadOnlyCollection<Identifier> withheld, long versionStep)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(engagementEvent);
        ArgumentNullException.ThrowIfNull(withheld);
        foreach (var identifier in engagementEvent.Identifiers)
        {
            if (withheld.Count == 0 || !withheld.Contains(identifier))
            {
                profile = profile.WithIdentifier(identifier);
            }
        }

        if (engagementEvent is ProfileUpdated update)
        {
            var traits = profile.Traits.ToBuilder();
            var times = profile.TraitTimes.ToBuilder();
            foreach (var (name, value) in update.Traits)
            {
                // A late event never overwrites a trait that a newer event set.
                if (times.TryGetValue(name, out var setAt) && setAt > update.Timestamp)
                {
                    continue;
                }

                traits[name] = value;
                times[name] = update.Timestamp;
            }

            profile = profile with
            {
                Traits = traits.ToImmutable(),
                TraitTimes = times.ToImmutable(),
                ChannelPreferences = profile.ChannelPreferences.SetItems(update.ChannelPreferences),
                TimeZone = update.TimeZone ?? profile.TimeZone,
                Locale = update.Locale ?? profile.Locale,
                PausedUntil = update.PauseUntil is { } pause ? (pause > update.Timestamp ? pause : null) : profile.PausedUntil,
            };
        }

        var b = profile.Behaviour;
        CheckAgainst(b, engagementEvent);
        if (profile.ProfilingObjectedAt is not null)
        {
            // The customer objects to profiling: only the record of the contract (orders, refunds) and of the messages sent
            // is kept; views, searches, the cart, interests, engagement and recency are not built.
            b = engagementEvent switch
            {
                Purchased order => ApplyPurchase(b, order),
                Refunded refund => ApplyRefund(b, refund),
                MessageSent sent => b with { MessagesSent = Increment(b.MessagesSent, sent.Channel!.Value) },
                _ => b,
            };
            return ReferenceEquals(b, profile.Behaviour) && versionStep == 0 ? profile : profile with { Behaviour = b, Version = profile.Version + versionStep };
        }

        // Recency fields and the event's own aggregates are set in one copy of the aggregates (an event's largest allocation).
        var at = engagementEvent.Timestamp;
        var first = Min(b.FirstSeen, at);
        var last = Max(b.LastSeen, at);
        var lastChannel = engagementEvent.Channel is { } channel && (b.LastSeen is null || at >= b.LastSeen) ? channel : b.LastChannel;
        b = engagementEvent switch
        {
            PageViewed => b with { FirstSeen = first, LastSeen = last, LastChannel = lastChannel, PageViews = b.PageViews + 1 },
            ProductViewed view => b with
            {
                FirstSeen = first,
                LastSeen = last,
                LastChannel = lastChannel,
                ProductViews = b.ProductViews + 1,
                ItemsViewed = Add(b.ItemsViewed, view.ProductId),
                CategoryViews = view.Category is null ? b.CategoryViews : Increment(b.CategoryViews, view.Category),
            },
            AddedToCart cart => b with
            {
                FirstSeen = first,
                LastSeen = last,
                LastChannel = lastChannel,
                ItemsInCart = b.HasBought(cart.ProductId) && b.LastPurchase >= at ? b.ItemsInCart : Add(b.ItemsInCart, cart.ProductId),
            },
            Purchased order => ApplyPurchase(b with { FirstSeen = first, LastSeen = last, LastChannel = lastChannel }, order),
            Refunded refund => ApplyRefund(b with { FirstSeen = first, LastSeen = last, LastChannel = lastChannel }, refund),
            Searched => b with { FirstSeen = first, LastSeen = last, LastChannel = lastChannel, Searches = b.Searches + 1 },
            RemovedFromCart removed => b with { FirstSeen = first, LastSeen = last, LastChannel = lastChannel, ItemsInCart = b.ItemsInCart.Remove(removed.ProductId) },
            MessageSent sent => b with { FirstSeen = first, LastSeen = last, LastChannel = lastChannel, MessagesSent = Increment(b.MessagesSent, sent.Channel!.Value) },
            MessageOpened or MessageClicked => b with { FirstSeen = first, LastSeen = last, LastChannel = lastChannel, Engagements = Increment(b.Engagements, engagementEvent.Channel!.Value) },
            _ => b with { FirstSeen = first, LastSeen = last, LastChannel = lastChannel },
        };

        return profile with { Behaviour = b, Version = profile.Version + versionStep };
    }

    /// <summary>
    /// The checks an event must pass against the customer's aggregates before anything of it is written: a refund must match
    /// an order and not exceed what is left of it; a purchase must not take the customer's revenue past <see cref="Money.MaxAmount"/>.
    /// </summary>
    /// <exception cref="EngagementValidationException">The event breaks one of them.</exception>
    internal static void CheckAgainst(BehaviourAggregates b, EngagementEvent engagementEvent)
    {
        if (engagementEvent is Refunded r)
        {
            if (!b.RefundableByOrder.TryGetValue(r.OrderId, out var refundable))
            {
                throw new EngagementValidationException("orderId", r.OrderId, "a refund must reference an order of the same customer that was tracked before it");
            }

            if (r.Amount > refundable)
            {
                throw new EngagementValidationException("amount", r.Amount, $"a refund must not exceed what is left to refund of order '{r.OrderId}' ({refundable})");
            }
        }
        else if (engagementEvent is Purchased order && b.Revenue is { } revenue)
        {
            // Both are at most Money.MaxAmount (the event was validated), so their sum is a decimal.
            var total = order.Total;
            if (revenue.Currency == total.Currency && revenue.Amount + total.Amount > Money.MaxAmount)
            {
                throw new EngagementValidationException("lines", total, $"the customer's revenue ({revenue}) plus this order's total must be at most {Money.MaxAmount.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} {total.Currency.Code} (Money.MaxAmount)");
            }
        }
    }

    private static BehaviourAggregates ApplyRefund(BehaviourAggregates b, Refunded refund) => b with
    {
        Refunds = b.Refunds is { } sum ? sum + refund.Amount : refund.Amount,
        RefundableByOrder = b.RefundableByOrder.TryGetValue(refund.OrderId, out var left) ? b.RefundableByOrder.SetItem(refund.OrderId, left - refund.Amount) : b.RefundableByOrder,
    };

    private static BehaviourAggregates ApplyPurchase(BehaviourAggregates b, Purchased order)
    {
        var cart = b.ItemsInCart;
        var categories = b.CategoriesBought;
        var lastBought = b.ItemsLastBought;
        foreach (var line in order.Lines)
        {
            // The products bought are the keys of the times they were last bought.
            if (!lastBought.TryGetValue(line.ProductId, out var previous) || previous < order.Timestamp)
            {
                lastBought = lastBought.SetItem(CatalogueStrings.Share(line.ProductId), order.Timestamp);
            }

            cart = cart.Remove(line.ProductId);
            if (line.Category is { } category)
            {
                categories = categories.Add(CatalogueStrings.Share(category));
            }
        }

        var total = order.Total;
        return b with
        {
            Orders = b.Orders + 1,
            Revenue = b.Revenue is { } revenue ? revenue + total : total,
            FirstPurchase = Min(b.FirstPurchase, order.Timestamp),
            LastPurchase = Max(b.LastPurchase, order.Timestamp),
            ItemsLastBought = lastBought,
            ItemsInCart = cart,
            CategoriesBought = categories,
            RefundableByOrder = b.RefundableByOrder.SetItem(order.OrderId, total),
        };
    }

    private static DateTimeOffset Min(DateTimeOffset? current, DateTimeOffset value) => current is { } c && c <= value ? c : value;

    private static DateTimeOffset Max(DateTimeOffset? current, DateTimeOffset value) => current is { } c && c >= value ? c : value;

    private static ImmutableDictionary<TKey, int> Increment<TKey>(ImmutableDictionary<TKey, int> counts, TKey key)
        where TKey : notnull
        => counts.SetItem(key, counts.TryGetValue(key, out var n) ? n + 1 : 1);

    // A key already counted keeps its stored string: only a new one is shared through the catalogue pool.
    private static KeyedValues<int> Increment(KeyedValues<int> counts, string key)
    {
        var at = counts.Find(key);
        return at >= 0 ? counts.SetFound(at, key, counts.ValueAt(at) + 1) : counts.SetFound(at, CatalogueStrings.Share(key), 1);
    }

    // An item already in the set costs one search; only a new one is shared through the catalogue pool.
    private static KeySet Add(KeySet set, string item) => set.Contains(item) ? set : set.Add(CatalogueStrings.Share(item));
}
