using Engagement.Sdk.Channels;
using Engagement.Sdk.Decisioning;

namespace Quickstart;

/// <summary>The simulated shop's action catalogue: what it may offer, to whom, where, and what each is worth.</summary>
public static class ShopActions
{
    /// <summary>Builds the catalogue from the shop's products.</summary>
    /// <param name="products">The products (the six best-priced of them get a recommendation action).</param>
    /// <returns>The catalogue.</returns>
    public static ActionCatalog Create(IEnumerable<Product> products)
    {
        var actions = new List<ActionDefinition>
        {
            new()
            {
                Id = "welcome-discount", Name = "Welcome: 10% off the first order", Kind = ActionKind.Offer,
                Stages = ["relationship"], Channels = [Channel.Email, Channel.Sms], MessageType = "offers", Value = 9m, BasePropensity = 0.10,
            },
            new()
            {
                Id = "cart-reminder", Name = "You left something in your cart", Kind = ActionKind.Message,
                Stages = ["relationship", "conversion", "engagement"], Channels = [Channel.Push, Channel.Email], MessageType = "reminders", Value = 14m, BasePropensity = 0.07,
            },
            new()
            {
                Id = "loyalty-invite", Name = "Join the loyalty club", Kind = ActionKind.Offer,
                Stages = ["engagement"], Channels = [Channel.Email, Channel.Sms], MessageType = "offers", Value = 25m, BasePropensity = 0.06,
            },
        };

        foreach (var product in products.OrderByDescending(p => p.Price).ThenBy(p => p.Id, StringComparer.Ordinal).Take(6))
        {
            actions.Add(new ActionDefinition
            {
                Id = "recommend-" + product.Id,
                Name = $"New in {product.Category}: {product.Id}",
                Kind = ActionKind.ProductRecommendation,
                ProductId = product.Id,
                Stages = ["conversion", "engagement"],
                Channels = [Channel.Email, Channel.Sms],
                MessageType = "new_arrivals",
                Value = decimal.Round(product.Price * 0.3m, 2),
                BasePropensity = 0.03,
            });
        }

        return ActionCatalog.Create(actions);
    }

    /// <summary>The simulated probability that a customer clicks a message carrying <paramref name="actionId"/>.</summary>
    /// <param name="actionId">The action.</param>
    /// <returns>The probability.</returns>
    public static double ClickProbability(string actionId) => actionId switch
    {
        "welcome-discount" => 0.18,
        "cart-reminder" => 0.22,
        "loyalty-invite" => 0.08,
        _ => 0.05,
    };
}
