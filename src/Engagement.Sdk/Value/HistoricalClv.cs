using System.Collections.Immutable;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Value;

/// <summary>One customer's historical value.</summary>
/// <param name="CustomerId">The customer.</param>
/// <param name="Orders">Their orders.</param>
/// <param name="NetRevenue">What they paid, less refunds.</param>
/// <param name="Value">Historical CLV: net revenue × gross margin.</param>
public sealed record CustomerValue(CustomerId CustomerId, int Orders, Money NetRevenue, Money Value);

/// <summary>
/// Historical customer lifetime value: the margin a customer has brought so far (net revenue × gross margin). It looks back
/// only; the probabilistic models look forward.
/// </summary>
public static class HistoricalClv
{
    /// <summary>Computes every buyer's historical value, most valuable first (ties by customer id).</summary>
    /// <param name="profiles">The profiles.</param>
    /// <param name="grossMargin">The gross margin as a fraction of revenue, in [0, 1].</param>
    /// <param name="currency">The currency every amount must be in.</param>
    /// <returns>The values of customers who bought.</returns>
    public static ImmutableArray<CustomerValue> Compute(IEnumerable<CustomerProfile> profiles, decimal grossMargin, Currency currency)
    {
        ArgumentNullException.ThrowIfNull(profiles);
        if (grossMargin is < 0m or > 1m)
        {
            throw new EngagementValidationException("grossMargin", grossMargin, "must be a fraction between 0 and 1");
        }

        var values = new List<CustomerValue>();
        foreach (var profile in profiles)
        {
            if (profile.Behaviour.NetRevenue is not { } net)
            {
                continue;
            }

            if (net.Currency != currency)
            {
                throw new CurrencyMismatchException(currency, net.Currency);
            }

            values.Add(new CustomerValue(profile.Id, profile.Behaviour.Orders, net, (net * grossMargin).Round()));
        }

        values.Sort(static (a, b) =>
        {
            var byValue = b.Value.Amount.CompareTo(a.Value.Amount);
            return byValue != 0 ? byValue : a.CustomerId.CompareTo(b.CustomerId);
        });
        return [.. values];
    }
}
