using System.Collections.Immutable;
using System.Text.Json.Serialization;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Events;

/// <summary>
/// Something a customer did, or something that happened to them, at one instant. Every event has a unique id chosen by the
/// producer: the SDK applies an id once, so producers may retry and redeliver freely. Events are immutable.
/// </summary>
/// <remarks>In JSON the concrete type is named by the <c>type</c> property (for example <c>"type": "purchased"</c>).</remarks>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type", UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization)]
[JsonDerivedType(typeof(PageViewed), "page_viewed")]
[JsonDerivedType(typeof(ProductViewed), "product_viewed")]
[JsonDerivedType(typeof(AddedToCart), "added_to_cart")]
[JsonDerivedType(typeof(Purchased), "purchased")]
[JsonDerivedType(typeof(Refunded), "refunded")]
[JsonDerivedType(typeof(MessageSent), "message_sent")]
[JsonDerivedType(typeof(MessageDelivered), "message_delivered")]
[JsonDerivedType(typeof(MessageOpened), "message_opened")]
[JsonDerivedType(typeof(MessageClicked), "message_clicked")]
[JsonDerivedType(typeof(MessageDismissed), "message_dismissed")]
[JsonDerivedType(typeof(ProfileUpdated), "profile_updated")]
[JsonDerivedType(typeof(Searched), "searched")]
[JsonDerivedType(typeof(RemovedFromCart), "removed_from_cart")]
[JsonDerivedType(typeof(CheckoutStarted), "checkout_started")]
[JsonDerivedType(typeof(MessageBounced), "message_bounced")]
[JsonDerivedType(typeof(MessageComplained), "message_complained")]
[JsonDerivedType(typeof(CustomEvent), "custom")]
[JsonDerivedType(typeof(ConsentChanged), "consent_changed")]
public abstract record EngagementEvent
{
    /// <summary>The producer's unique id of this event (at most 128 characters).</summary>
    public required string EventId { get; init; }

    /// <summary>The customer the event belongs to.</summary>
    public required CustomerId CustomerId { get; init; }

    /// <summary>When it happened, with the producer's UTC offset.</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>The channel it happened on, when known.</summary>
    public Channel? Channel { get; init; }

    /// <summary>Identifiers seen with the event (an email at checkout, a device id), which the profile learns.</summary>
    [PersonalData]
    public ImmutableArray<Identifier> Identifiers
    {
        get => _identifiers.IsDefault ? [] : _identifiers;
        init => _identifiers = value;
    }

    private readonly ImmutableArray<Identifier> _identifiers;

    /// <summary>The event schema version this library reads and writes.</summary>
    public const int CurrentSchemaVersion = 1;

    /// <summary>
    /// The version of the event schema the producer wrote (absent means <see cref="CurrentSchemaVersion"/>). Fields are checked
    /// against the declared version: a field that version does not define is rejected, and so is a version this library
    /// does not know.
    /// </summary>
    /// <exception cref="EngagementValidationException">The version is not one this library knows.</exception>
    public int SchemaVersion
    {
        get;
        init => field = value is CurrentSchemaVersion or 0
            ? CurrentSchemaVersion
            : throw new EngagementValidationException("schemaVersion", value, $"this library reads event schema version {CurrentSchemaVersion} only");
    }

        = CurrentSchemaVersion;

    /// <summary>The event's type name as used in JSON (<c>purchased</c>, <c>product_viewed</c>, …).</summary>
    [JsonIgnore]
    public abstract string TypeName { get; }

    /// <summary>
    /// Checks the event's own fields and throws <see cref="EngagementValidationException"/> naming the first bad one. The
    /// common fields (id, customer, timestamp) are checked by <see cref="EventValidator"/>.
    /// </summary>
    protected internal virtual void ValidatePayload()
    {
    }
}

/// <summary>A page of the shop was viewed.</summary>
public sealed record PageViewed : EngagementEvent
{
    /// <summary>The page's path or URL.</summary>
    public required string Url { get; init; }

    /// <inheritdoc />
    [JsonIgnore]
    public override string TypeName => "page_viewed";

    /// <inheritdoc />
    protected internal override void ValidatePayload() => Sdk.Text.RequireToken("url", Url, 2048);
}

/// <summary>A product page was viewed.</summary>
public sealed record ProductViewed : EngagementEvent
{
    /// <summary>The product's id (SKU).</summary>
    public required string ProductId { get; init; }

    /// <summary>The product's category, when known.</summary>
    public string? Category { get; init; }

    /// <inheritdoc />
    [JsonIgnore]
    public override string TypeName => "product_viewed";

    /// <inheritdoc />
    protected internal override void ValidatePayload()
    {
        Sdk.Text.RequireToken("productId", ProductId);
        if (Category is not null)
        {
            Sdk.Text.RequireToken("category", Category);
        }
    }
}

/// <summary>A product was added to the cart.</summary>
public sealed record AddedToCart : EngagementEvent
{
    /// <summary>The product's id (SKU).</summary>
    public required string ProductId { get; init; }

    /// <summary>How many units (at least 1).</summary>
    public int Quantity { get; init; } = 1;

    /// <summary>The unit price, when known (not negative; no more decimals than the currency's minor units).</summary>
    public Money? UnitPrice { get; init; }

    /// <inheritdoc />
    [JsonIgnore]
    public override string TypeName => "added_to_cart";

    /// <inheritdoc />
    protected internal override void ValidatePayload()
    {
        Sdk.Text.RequireToken("productId", ProductId);
        if (Quantity < 1)
        {
            throw new EngagementValidationException("quantity", Quantity, "must be at least 1");
        }

        if (UnitPrice is { IsNegative: true } price)
        {
            throw new EngagementValidationException("unitPrice", price, "must not be negative");
        }

        UnitPrice?.RequireWithinLimit("unitPrice", "a price");
        UnitPrice?.RequireMinorUnits("unitPrice");
    }
}

/// <summary>One line of an order.</summary>
/// <param name="ProductId">The product's id (SKU).</param>
/// <param name="Quantity">How many units (at least 1).</param>
/// <param name="UnitPrice">The price of one unit (not negative; no more decimals than the currency's minor units: 9.99 EUR, 500 JPY).</param>
/// <param name="Category">The product's category, when known.</param>
public sealed record OrderLine(string ProductId, int Quantity, Money UnitPrice, string? Category = null)
{
    /// <summary>Quantity × unit price.</summary>
    [JsonIgnore]
    public Money Total => UnitPrice * Quantity;
}

/// <summary>An order was placed and paid.</summary>
public sealed record Purchased : EngagementEvent
{
    /// <summary>The order's id, unique in the shop.</summary>
    public required string OrderId { get; init; }

    /// <summary>The order's lines (at least one).</summary>
    public required ImmutableArray<OrderLine> Lines { get; init; }

    /// <summary>The amount paid: the sum of the lines' totals.</summary>
    [JsonIgnore]
    public Money Total
    {
        get
        {
            var total = Money.Zero(Lines[0].UnitPrice.Currency);
            foreach (var line in Lines)
            {
                total += line.Total;
            }

            return total;
        }
    }

    /// <inheritdoc />
    [JsonIgnore]
    public override string TypeName => "purchased";

    /// <inheritdoc />
    protected internal override void ValidatePayload()
    {
        Sdk.Text.RequireToken("orderId", OrderId);
        if (Lines.IsDefaultOrEmpty)
        {
            throw new EngagementValidationException("lines", null, "an order needs at least one line");
        }

        for (var i = 0; i < Lines.Length; i++)
        {
            var line = Lines[i] ?? throw new EngagementValidationException($"lines[{i}]", null, "must not be null");
            Sdk.Text.RequireToken($"lines[{i}].productId", line.ProductId);
            if (line.Quantity < 1)
            {
                throw new EngagementValidationException($"lines[{i}].quantity", line.Quantity, "must be at least 1");
            }

            if (line.UnitPrice.Currency.IsEmpty)
            {
                throw new EngagementValidationException($"lines[{i}].unitPrice", null, "needs an amount and a currency");
            }

            if (line.UnitPrice.IsNegative)
            {
                throw new EngagementValidationException($"lines[{i}].unitPrice", line.UnitPrice, "must not be negative");
            }

            line.UnitPrice.RequireWithinLimit($"lines[{i}].unitPrice", "a price");
            line.UnitPrice.RequireMinorUnits($"lines[{i}].unitPrice");

            if (line.UnitPrice.Currency != Lines[0].UnitPrice.Currency)
            {
                throw new EngagementValidationException($"lines[{i}].unitPrice.currency", line.UnitPrice.Currency.Code, $"all lines of an order must be in one currency ({Lines[0].UnitPrice.Currency.Code})");
            }
        }

        // Each price is at most Money.MaxAmount and each quantity at most int.MaxValue, so neither a line's total nor a sum
        // that stops as soon as it passes the limit can overflow a decimal.
        var total = 0m;
        for (var i = 0; i < Lines.Length; i++)
        {
            Lines[i].Total.RequireWithinLimit($"lines[{i}]", "a line's total (quantity × unit price)");
            total += Lines[i].Total.Amount;
            if (total > Money.MaxAmount)
            {
                new Money(total, Lines[0].UnitPrice.Currency).RequireWithinLimit("lines", "an order's total");
            }
        }
    }
}

/// <summary>Money was returned to the customer for (part of) an order.</summary>
public sealed record Refunded : EngagementEvent
{
    /// <summary>The refunded order's id.</summary>
    public required string OrderId { get; init; }

    /// <summary>The amount returned (positive; no more decimals than the currency's minor units).</summary>
    public required Money Amount { get; init; }

    /// <inheritdoc />
    [JsonIgnore]
    public override string TypeName => "refunded";

    /// <inheritdoc />
    protected internal override void ValidatePayload()
    {
        Sdk.Text.RequireToken("orderId", OrderId);
        if (Amount.Currency.IsEmpty || Amount.Amount <= 0m)
        {
            throw new EngagementValidationException("amount", Amount, "a refund must be a positive amount with a currency");
        }

        Amount.RequireWithinLimit("amount", "a refund");
        Amount.RequireMinorUnits("amount");
    }
}

/// <summary>The base of events about one message the SDK dispatched.</summary>
public abstract record MessageEvent : EngagementEvent
{
    /// <summary>The dispatch's id, as given to the channel.</summary>
    public required string DispatchId { get; init; }

    /// <summary>The action the message carried.</summary>
    public required string ActionId { get; init; }

    /// <inheritdoc />
    protected internal override void ValidatePayload()
    {
        Sdk.Text.RequireToken("dispatchId", DispatchId);
        Sdk.Text.RequireToken("actionId", ActionId);
        if (Channel is null)
        {
            throw new EngagementValidationException("channel", null, "a message event must name its channel");
        }
    }
}

/// <summary>The SDK handed a message to a channel, which accepted it.</summary>
public sealed record MessageSent : MessageEvent
{
    /// <summary>
    /// The probability with which the decision chose the message's action × channel (π(a | x), in (0, 1]), copied from its
    /// dispatch; <see langword="null"/> for messages not decided by the SDK.
    /// </summary>
    public double? ChoiceProbability { get; init; }

    /// <summary>The policy (champion or challenger) that decided the message, when the SDK decided it.</summary>
    public string? Policy { get; init; }

    /// <inheritdoc />
    [JsonIgnore]
    public override string TypeName => "message_sent";

    /// <inheritdoc />
    protected internal override void ValidatePayload()
    {
        base.ValidatePayload();
        if (ChoiceProbability is { } p && !(p > 0 && p <= 1))
        {
            throw new EngagementValidationException("choiceProbability", p, "must be in (0, 1]");
        }

        if (Policy is not null)
        {
            Sdk.Text.RequireToken("policy", Policy);
        }
    }
}

/// <summary>The channel reported that a message reached the customer.</summary>
public sealed record MessageDelivered : MessageEvent
{
    /// <inheritdoc />
    [JsonIgnore]
    public override string TypeName => "message_delivered";
}

/// <summary>The customer opened a message.</summary>
public sealed record MessageOpened : MessageEvent
{
    /// <inheritdoc />
    [JsonIgnore]
    public override string TypeName => "message_opened";
}

/// <summary>
/// The customer dismissed a message (closed the banner, swiped the notification away): the action's contact policy keeps it
/// away for <see cref="Decisioning.ActionContactPolicy.MinGapAfterDismissal"/>.
/// </summary>
public sealed record MessageDismissed : MessageEvent
{
    /// <inheritdoc />
    [JsonIgnore]
    public override string TypeName => "message_dismissed";
}

/// <summary>The customer clicked through a message: the positive outcome that propensities learn from.</summary>
public sealed record MessageClicked : MessageEvent
{
    /// <inheritdoc />
    [JsonIgnore]
    public override string TypeName => "message_clicked";
}

/// <summary>A host-defined event with typed properties.</summary>
public sealed record CustomEvent : EngagementEvent
{
    /// <summary>The event's name (lower-case letters, digits, '_' or '-').</summary>
    public required string Name { get; init; }

    /// <summary>The event's properties.</summary>
    [PersonalData]
    public ImmutableDictionary<string, TraitValue> Properties
    {
        get => _properties ?? ImmutableDictionary<string, TraitValue>.Empty;
        init => _properties = value;
    }

    private readonly ImmutableDictionary<string, TraitValue>? _properties;

    /// <inheritdoc />
    [JsonIgnore]
    public override string TypeName => "custom";

    /// <inheritdoc />
    protected internal override void ValidatePayload()
    {
        Names.Require("name", Name);
        foreach (var key in Properties.Keys)
        {
            Sdk.Text.RequireToken("properties", key, 64);
        }
    }
}

/// <summary>The customer or the host told us something about the customer: traits, time zone, locale, channel preferences.</summary>
public sealed record ProfileUpdated : EngagementEvent
{
    /// <summary>Traits to set (name → typed value); traits not named keep their values.</summary>
    [PersonalData]
    public ImmutableDictionary<string, TraitValue> Traits
    {
        get => _traits ?? ImmutableDictionary<string, TraitValue>.Empty;
        init => _traits = value;
    }

    private readonly ImmutableDictionary<string, TraitValue>? _traits;

    /// <summary>The customer's IANA time zone (for example <c>Europe/Kyiv</c>), when it changed.</summary>
    [PersonalData]
    public string? TimeZone { get; init; }

    /// <summary>The customer's locale (for example <c>uk-UA</c>), when it changed.</summary>
    [PersonalData]
    public string? Locale { get; init; }

    /// <summary>Pause marketing until this instant (a time in the past ends a pause); <see langword="null"/> leaves it unchanged.</summary>
    public DateTimeOffset? PauseUntil { get; init; }

    /// <summary>Preferred channel per kind of message to set (for example <c>shipping</c> → SMS).</summary>
    public ImmutableDictionary<string, Channel> ChannelPreferences
    {
        get => _channelPreferences ?? ImmutableDictionary<string, Channel>.Empty;
        init => _channelPreferences = value;
    }

    private readonly ImmutableDictionary<string, Channel>? _channelPreferences;

    /// <inheritdoc />
    [JsonIgnore]
    public override string TypeName => "profile_updated";

    /// <inheritdoc />
    protected internal override void ValidatePayload()
    {
        foreach (var key in Traits.Keys)
        {
            Sdk.Text.RequireToken("traits", key, 64);
        }

        foreach (var key in ChannelPreferences.Keys)
        {
            Names.Require("channelPreferences", key);
        }

        if (TimeZone is not null && !TimeZoneInfo.TryFindSystemTimeZoneById(TimeZone, out _))
        {
            throw new EngagementValidationException("timeZone", TimeZone, "must be a known IANA time zone id such as Europe/Kyiv");
        }

        if (Locale is not null)
        {
            Sdk.Text.RequireToken("locale", Locale, 35);
        }
    }
}

/// <summary>
/// The customer's consent changed: tracking it records <see cref="Record"/> in the consent ledger (with the ledger's full
/// validation) and keeps the change in the customer's event timeline.
/// </summary>
public sealed record ConsentChanged : EngagementEvent
{
    /// <summary>The consent record (its customer must be the event's).</summary>
    public required Consent.ConsentRecord Record { get; init; }

    /// <inheritdoc />
    [JsonIgnore]
    public override string TypeName => "consent_changed";

    /// <inheritdoc />
    protected internal override void ValidatePayload()
    {
        if (Record is null)
        {
            throw new EngagementValidationException("record", null, "a consent change must carry its consent record");
        }

        if (Record.CustomerId != CustomerId)
        {
            throw new EngagementValidationException("record.customerId", Record.CustomerId.Value, $"must be the event's customer '{CustomerId}'");
        }
    }
}

/// <summary>The customer searched the shop.</summary>
public sealed record Searched : EngagementEvent
{
    /// <summary>The search text.</summary>
    public required string Query { get; init; }

    /// <inheritdoc />
    [JsonIgnore]
    public override string TypeName => "searched";

    /// <inheritdoc />
    protected internal override void ValidatePayload() => Sdk.Text.RequireToken("query", Query, 512);
}

/// <summary>A product was taken out of the cart.</summary>
public sealed record RemovedFromCart : EngagementEvent
{
    /// <summary>The product's id (SKU).</summary>
    public required string ProductId { get; init; }

    /// <inheritdoc />
    [JsonIgnore]
    public override string TypeName => "removed_from_cart";

    /// <inheritdoc />
    protected internal override void ValidatePayload() => Sdk.Text.RequireToken("productId", ProductId);
}

/// <summary>The customer started checking out.</summary>
public sealed record CheckoutStarted : EngagementEvent
{
    /// <summary>The cart's value, when known (not negative; no more decimals than the currency's minor units).</summary>
    public Money? CartValue { get; init; }

    /// <inheritdoc />
    [JsonIgnore]
    public override string TypeName => "checkout_started";

    /// <inheritdoc />
    protected internal override void ValidatePayload()
    {
        if (CartValue is { IsNegative: true } value)
        {
            throw new EngagementValidationException("cartValue", value, "must not be negative");
        }

        CartValue?.RequireWithinLimit("cartValue", "a cart's value");
        CartValue?.RequireMinorUnits("cartValue");
    }
}

/// <summary>The channel reported that a message could not be delivered.</summary>
public sealed record MessageBounced : MessageEvent
{
    /// <summary>Whether the address does not exist (a hard bounce), which suppresses it; a soft bounce (a full mailbox) does not.</summary>
    public bool IsHard { get; init; }

    /// <inheritdoc />
    [JsonIgnore]
    public override string TypeName => "message_bounced";
}

/// <summary>The recipient marked a message as spam (a feedback-loop report): marketing to that address stops.</summary>
public sealed record MessageComplained : MessageEvent
{
    /// <inheritdoc />
    [JsonIgnore]
    public override string TypeName => "message_complained";
}
