using System.Collections.Immutable;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Quickstart;

namespace WebShop.Demo;

/// <summary>A kind of message the shop sends; consent is asked and recorded per channel for each marketing kind.</summary>
/// <param name="Id">The id, also the consent purpose's name (for example <c>offers</c>).</param>
/// <param name="Title">What the preference centre calls it.</param>
/// <param name="Description">What the customer gets, and how often at most.</param>
/// <param name="Purpose">The consent purpose: one of the shop's own marketing purposes, or transactional.</param>
public sealed record MessageType(string Id, string Title, string Description, Purpose Purpose)
{
    /// <summary>Whether the messages rest on the contract (no consent needed, and none can be withdrawn).</summary>
    public bool IsTransactional => Purpose.IsTransactional;
}

/// <summary>The shop's products, message types, channels and action catalogue.</summary>
public static class ShopCatalogue
{
    /// <summary>Offers and discounts.</summary>
    public static MessageType Offers { get; } = new("offers", "Offers and discounts", "A welcome discount, loyalty invitations; at most one a day per channel.", new Purpose("offers"));

    /// <summary>Reminders of a cart left behind.</summary>
    public static MessageType Reminders { get; } = new("reminders", "Cart reminders", "A reminder when something is left in your cart.", new Purpose("reminders"));

    /// <summary>New arrivals in the categories the customer likes.</summary>
    public static MessageType NewArrivals { get; } = new("new_arrivals", "New arrivals", "New products in the categories you look at.", new Purpose("new_arrivals"));

    /// <summary>Order confirmations and shipping notices: transactional, always sent.</summary>
    public static MessageType OrderUpdates { get; } = new("order_updates", "Order updates", "Order confirmations and shipping notices: part of your order, always sent.", Purpose.Transactional);

    /// <summary>Every message type, marketing first.</summary>
    public static ImmutableArray<MessageType> MessageTypes { get; } = [Offers, Reminders, NewArrivals, OrderUpdates];

    /// <summary>The marketing message types (the ones consent is asked for).</summary>
    public static ImmutableArray<MessageType> MarketingTypes { get; } = [Offers, Reminders, NewArrivals];

    /// <summary>The channels the shop sends on.</summary>
    public static ImmutableArray<Channel> Channels { get; } = [Channel.Email, Channel.Sms, Channel.Push];

    /// <summary>Finds a marketing message type by id.</summary>
    /// <param name="id">The id.</param>
    /// <returns>The type, or <see langword="null"/>.</returns>
    public static MessageType? FindMarketing(string id) => MarketingTypes.FirstOrDefault(t => t.Id == id);

    /// <summary>The action catalogue: what the shop may offer, to whom, where, for which message type, and what each is worth.</summary>
    /// <param name="products">The products (the six highest-priced get a recommendation action).</param>
    /// <returns>The catalogue.</returns>
    public static ActionCatalog Actions(IEnumerable<Product> products)
    {
        var actions = new List<ActionDefinition>
        {
            new()
            {
                Id = "welcome-discount", Name = "Welcome: 10% off the first order", Kind = ActionKind.Offer,
                Stages = ["relationship"], Channels = [Channel.Email, Channel.Sms], MessageType = Offers.Id, Purpose = Offers.Purpose,
                Value = 9m, BasePropensity = 0.10,
            },
            new()
            {
                Id = "cart-reminder", Name = "You left something in your cart", Kind = ActionKind.Message,
                Stages = ["relationship", "conversion", "engagement"], Channels = [Channel.Push, Channel.Email], MessageType = Reminders.Id,
                Purpose = Reminders.Purpose, Value = 14m, BasePropensity = 0.07,
            },
            new()
            {
                Id = "loyalty-invite", Name = "Join the loyalty club", Kind = ActionKind.Offer,
                Stages = ["engagement"], Channels = [Channel.Email, Channel.Sms], MessageType = Offers.Id, Purpose = Offers.Purpose,
                Value = 25m, BasePropensity = 0.06,
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
                MessageType = NewArrivals.Id,
                Purpose = NewArrivals.Purpose,
                Value = decimal.Round(product.Price * 0.3m, 2),
                BasePropensity = 0.03,
            });
        }

        return ActionCatalog.Create(actions);
    }

    /// <summary>
    /// The contact policy for the shop's own purposes: per message type at most one message a day per channel and two a week
    /// across channels; marketing SMS only from 08:00 to 21:00 in the recipient's time zone.
    /// </summary>
    /// <param name="options">The options to configure.</param>
    public static void ContactPolicy(ContactPolicyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Caps.Clear();
        options.QuietHours.Clear();
        foreach (var type in MarketingTypes)
        {
            foreach (var channel in Channels)
            {
                options.Caps.Add(new FrequencyCap { Channel = channel, Purpose = type.Purpose, Limit = 1, Window = TimeSpan.FromDays(1) });
            }

            options.Caps.Add(new FrequencyCap { Channel = null, Purpose = type.Purpose, Limit = 2, Window = TimeSpan.FromDays(7) });
            options.QuietHours.Add(new QuietHours { Channel = Channel.Sms, Purpose = type.Purpose });
        }
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
