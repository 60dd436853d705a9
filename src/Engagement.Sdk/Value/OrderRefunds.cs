using Engagement.Sdk.Events;

namespace Engagement.Sdk.Value;

/// <summary>One order with what was refunded against it.</summary>
/// <param name="Customer">The customer who placed it.</param>
/// <param name="PlacedAt">When it was placed.</param>
/// <param name="Total">What was paid.</param>
/// <param name="Refunded">What was refunded against it, whenever the refunds arrived.</param>
internal readonly record struct OrderNet(CustomerId Customer, DateTimeOffset PlacedAt, Money Total, Money Refunded)
{
    public Money Net => Total - Refunded;
}

/// <summary>
/// The one rule every metric uses for refunds: a refund nets out against its order (the period and cohort of the order,
/// whenever the refund arrives); it must name an order of the same customer among the events, and an order's refunds
/// together must not exceed its total.
/// </summary>
internal static class OrderRefunds
{
    /// <summary>Matches every refund among <paramref name="events"/> to its order.</summary>
    /// <param name="events">Every event (orders before or after the period of interest included).</param>
    /// <param name="currency">The currency every amount must be in.</param>
    /// <returns>The orders by id, with their refunds.</returns>
    /// <exception cref="EngagementValidationException">A refund names no order of its customer, or refunds exceed their order.</exception>
    /// <exception cref="CurrencyMismatchException">An amount is in another currency.</exception>
    public static Dictionary<string, OrderNet> Match(IEnumerable<EngagementEvent> events, Currency currency)
    {
        var orders = new Dictionary<string, OrderNet>(StringComparer.Ordinal);
        List<Refunded>? refunds = null;
        foreach (var e in events)
        {
            if (e is Purchased purchase)
            {
                var total = purchase.Total;
                if (total.Currency != currency)
                {
                    throw new CurrencyMismatchException(currency, total.Currency);
                }

                orders.TryAdd(purchase.OrderId, new OrderNet(purchase.CustomerId, purchase.Timestamp, total, Money.Zero(currency)));
            }
            else if (e is Refunded refund)
            {
                (refunds ??= []).Add(refund);
            }
        }

        foreach (var refund in refunds ?? [])
        {
            if (refund.Amount.Currency != currency)
            {
                throw new CurrencyMismatchException(currency, refund.Amount.Currency);
            }

            if (!orders.TryGetValue(refund.OrderId, out var order) || order.Customer != refund.CustomerId)
            {
                throw new EngagementValidationException("refund.orderId", refund.OrderId, $"refund '{refund.EventId}' must name an order of customer '{refund.CustomerId}' among the events");
            }

            var refunded = order.Refunded + refund.Amount;
            if (refunded.Amount > order.Total.Amount)
            {
                throw new EngagementValidationException("refund.amount", refund.Amount, $"refund '{refund.EventId}' takes the refunds of order '{refund.OrderId}' to {refunded}, more than its total {order.Total}");
            }

            orders[refund.OrderId] = order with { Refunded = refunded };
        }

        return orders;
    }
}
