using System.Collections.Immutable;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Decisioning;

/// <summary>
/// What the customer is doing now, so that actions which help with it rise: the session's intent (the category being browsed,
/// a search), whether a cart is open, the event that triggered the decision, and host attributes (a placement, a page). Actions
/// match it with <see cref="ActionDefinition.ContextBoosts"/>. Immutable.
/// </summary>
public readonly record struct DecisionContext
{
    /// <summary>The context key of <see cref="Intent"/>.</summary>
    public const string IntentKey = "intent";

    /// <summary>The context key of the cart: <c>open</c> when <see cref="CartOpen"/>, else <c>empty</c>.</summary>
    public const string CartKey = "cart";

    /// <summary>The context key of <see cref="Trigger"/>.</summary>
    public const string TriggerKey = "trigger";

    /// <summary>What the customer is after in this session (for example the category viewed or searched), if known.</summary>
    public string? Intent { get; init; }

    /// <summary>Whether the customer has items in the cart now.</summary>
    public bool CartOpen { get; init; }

    /// <summary>The type of the event that triggered the decision (for example <c>added_to_cart</c>), if any.</summary>
    public string? Trigger { get; init; }

    /// <summary>Host attributes (ordinal keys), matched by <see cref="ContextBoost"/>s with other keys.</summary>
    public ImmutableDictionary<string, string>? Attributes { get; init; }

    /// <summary>The value of <paramref name="key"/> in this context, or <see langword="null"/>.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The value.</returns>
    public string? Get(string key) => key switch
    {
        IntentKey => Intent,
        CartKey => CartOpen ? "open" : "empty",
        TriggerKey => Trigger,
        _ => Attributes is { } attributes && attributes.TryGetValue(key, out var value) ? value : null,
    };

    /// <summary>
    /// The context of a decision that <paramref name="trigger"/> started for <paramref name="profile"/>: the cart from the
    /// profile, the trigger's type, and the intent from the trigger (a viewed product's category, a search query, a started
    /// checkout) or else the category the customer viewed most.
    /// </summary>
    /// <param name="profile">The customer, up to date.</param>
    /// <param name="trigger">The triggering event, if any.</param>
    /// <returns>The context.</returns>
    public static DecisionContext From(CustomerProfile profile, EngagementEvent? trigger)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var intent = trigger switch
        {
            ProductViewed { Category: { } category } => category,
            Searched search => search.Query,
            CheckoutStarted => "checkout",
            _ => MostViewedCategory(profile),
        };

        return new DecisionContext { Intent = intent, CartOpen = !profile.Behaviour.ItemsInCart.IsEmpty, Trigger = trigger?.TypeName };
    }

    private static string? MostViewedCategory(CustomerProfile profile)
    {
        string? best = null;
        var most = 0;
        foreach (var (category, views) in profile.Behaviour.CategoryViews)
        {
            if (views > most)
            {
                most = views;
                best = category;
            }
        }

        return best;
    }
}
