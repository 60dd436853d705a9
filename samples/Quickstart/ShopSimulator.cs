using System.Collections.Immutable;
using System.Globalization;
using Engagement.Sdk;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;

namespace Quickstart;

/// <summary>One product of the simulated shop.</summary>
/// <param name="Id">The SKU.</param>
/// <param name="Category">The category.</param>
/// <param name="Price">The price.</param>
public sealed record Product(string Id, string Category, decimal Price);

/// <summary>Something that happens in the simulated shop: an event or a consent record, at one instant.</summary>
/// <param name="At">When.</param>
/// <param name="Sequence">A tie-breaker that keeps the timeline in a stable order.</param>
/// <param name="Event">The event, or <see langword="null"/>.</param>
/// <param name="Consent">The consent record, or <see langword="null"/>.</param>
public sealed record ShopHappening(DateTimeOffset At, long Sequence, EngagementEvent? Event, ConsentRecord? Consent);

/// <summary>
/// A reproducible synthetic shop: customers who browse, cart, buy, refund, sign up, grant and withdraw consent over a period.
/// The same seed gives the same shop, event for event.
/// </summary>
public sealed class ShopSimulator
{
    private static readonly string[] Categories = ["shoes", "jackets", "bags", "dresses", "shirts", "accessories"];
    private static readonly string[] TimeZones = ["Europe/Kyiv", "Europe/Berlin", "Europe/London", "Europe/Warsaw", "America/New_York"];
    private readonly Random _random;
    private readonly List<ShopHappening> _timeline = [];
    private long _sequence;

    /// <summary>Creates a simulator.</summary>
    /// <param name="seed">The random seed.</param>
    /// <param name="customers">How many customers arrive.</param>
    /// <param name="days">How many days the simulation covers.</param>
    /// <param name="start">The first day.</param>
    public ShopSimulator(int seed, int customers, int days, DateTimeOffset start)
    {
        if (customers < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(customers), customers, "At least one customer.");
        }

        if (days < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(days), days, "At least one day.");
        }

        _random = new Random(seed);
        Customers = customers;
        Days = days;
        Start = start;
        End = start.AddDays(days);
        Products = [.. Enumerable.Range(1, 48).Select(i => new Product(
            $"sku-{i:000}",
            Categories[(i - 1) % Categories.Length],
            decimal.Round(15m + (decimal)(_random.NextDouble() * 120), 2)))];
    }

    /// <summary>How many customers arrive.</summary>
    public int Customers { get; }

    /// <summary>How many days are simulated.</summary>
    public int Days { get; }

    /// <summary>The first instant.</summary>
    public DateTimeOffset Start { get; }

    /// <summary>The end of the simulated period (exclusive).</summary>
    public DateTimeOffset End { get; }

    /// <summary>The shop's products.</summary>
    public ImmutableArray<Product> Products { get; }

    /// <summary>Generates the whole timeline, ordered by time.</summary>
    /// <returns>The happenings.</returns>
    public IReadOnlyList<ShopHappening> Generate()
    {
        _timeline.Clear();
        for (var c = 1; c <= Customers; c++)
        {
            SimulateCustomer(new CustomerId($"c{c:00000}"));
        }

        _timeline.Sort(static (a, b) =>
        {
            var byTime = a.At.CompareTo(b.At);
            return byTime != 0 ? byTime : a.Sequence.CompareTo(b.Sequence);
        });
        return _timeline;
    }

    /// <summary>Whether a sent message gets clicked, decided by the seed and the dispatch id alone (so a replay clicks the same).</summary>
    /// <param name="seed">The simulation seed.</param>
    /// <param name="dispatchId">The dispatch.</param>
    /// <param name="probability">The click probability.</param>
    /// <returns>Whether the customer clicks.</returns>
    public static bool Clicks(int seed, string dispatchId, double probability)
    {
        var hash = (uint)seed;
        foreach (var c in dispatchId)
        {
            hash = unchecked((hash ^ c) * 16777619u);
        }

        return (hash % 10_000) / 10_000.0 < probability;
    }

    private void SimulateCustomer(CustomerId id)
    {
        var zone = TimeZones[_random.Next(TimeZones.Length)];
        var arrival = Start.AddMinutes(_random.Next(Days * 24 * 60 * 2 / 3));
        var interest = _random.NextDouble();
        var device = Identifier.Device("dev-" + id.Value);
        var identifiers = ImmutableArray.Create(device);
        var favourite = Categories[_random.Next(Categories.Length)];
        var at = arrival;
        var order = 0;
        var signedUp = false;
        var withdrew = false;
        var hasPhone = _random.NextDouble() < 0.45;
        var email = Identifier.Email($"{id.Value}@example.com");
        var phone = Identifier.Phone("+38067" + (1_000_000 + int.Parse(id.Value.AsSpan(1), CultureInfo.InvariantCulture)).ToString(CultureInfo.InvariantCulture));
        var sessions = 1 + (int)(interest * 6) + (_random.NextDouble() < 0.2 ? 3 : 0);
        var e = 0;
        string NextId() => $"{id.Value}-e{++e:000}";

        for (var s = 0; s < sessions && at < End; s++)
        {
            Add(new PageViewed { EventId = NextId(), CustomerId = id, Timestamp = at, Channel = Channel.Web, Identifiers = identifiers, Url = "/" });
            var views = 1 + _random.Next(4);
            var carted = new List<Product>();
            for (var v = 0; v < views; v++)
            {
                at = at.AddMinutes(1 + _random.Next(5));
                var product = PickProduct(favourite);
                Add(new ProductViewed { EventId = NextId(), CustomerId = id, Timestamp = at, Channel = Channel.Web, ProductId = product.Id, Category = product.Category });
                if (_random.NextDouble() < 0.06 + (0.2 * interest))
                {
                    at = at.AddMinutes(1);
                    carted.Add(product);
                    Add(new AddedToCart { EventId = NextId(), CustomerId = id, Timestamp = at, Channel = Channel.Web, ProductId = product.Id, UnitPrice = Money.Of(product.Price, "EUR") });
                }
            }

            if (!signedUp && (carted.Count > 0 || _random.NextDouble() < 0.25) && _random.NextDouble() < 0.7)
            {
                signedUp = true;
                at = at.AddMinutes(2);
                identifiers = hasPhone ? [device, email, phone] : [device, email];
                Add(new CustomEvent { EventId = NextId(), CustomerId = id, Timestamp = at, Channel = Channel.Web, Identifiers = identifiers, Name = "signed_up" });
                Add(new ProfileUpdated
                {
                    EventId = NextId(),
                    CustomerId = id,
                    Timestamp = at,
                    Channel = Channel.Web,
                    TimeZone = zone,
                    Locale = zone.StartsWith("America", StringComparison.Ordinal) ? "en-US" : "uk-UA",
                    ChannelPreferences = hasPhone && _random.NextDouble() < 0.5
                        ? ImmutableDictionary<string, Channel>.Empty.Add("offers", Channel.Sms)
                        : ImmutableDictionary<string, Channel>.Empty,
                });
                GrantOrDeny(id, Channel.Push, device, at, 0.35);
                GrantOrDeny(id, Channel.Email, email, at, 0.72);
                if (hasPhone)
                {
                    GrantOrDeny(id, Channel.Sms, phone, at, 0.45);
                }
            }

            if (carted.Count > 0 && signedUp && _random.NextDouble() < 0.25 + (0.35 * interest))
            {
                at = at.AddMinutes(3 + _random.Next(10));
                var orderId = $"{id.Value}-o{++order}";
                var lines = carted.DistinctBy(p => p.Id).Select(p => new OrderLine(p.Id, 1 + (_random.NextDouble() < 0.15 ? 1 : 0), Money.Of(p.Price, "EUR"), p.Category)).ToImmutableArray();
                var purchase = new Purchased { EventId = NextId(), CustomerId = id, Timestamp = at, Channel = Channel.Web, Identifiers = identifiers, OrderId = orderId, Lines = lines };
                Add(purchase);
                if (_random.NextDouble() < 0.04)
                {
                    Add(new Refunded { EventId = NextId(), CustomerId = id, Timestamp = at.AddDays(3 + _random.Next(10)), OrderId = orderId, Amount = lines[0].Total });
                }
            }

            if (signedUp && !withdrew && _random.NextDouble() < 0.05)
            {
                withdrew = true;
                Withdraw(id, Channel.Email, email, at.AddHours(1 + _random.Next(48)));
            }

            var gapDays = 1 + (int)(_random.NextDouble() * (order > 0 ? 12 : 20) * (1.2 - interest));
            at = at.AddDays(gapDays).AddMinutes(_random.Next(-300, 300));
        }
    }

    private Product PickProduct(string favourite)
    {
        if (_random.NextDouble() < 0.6)
        {
            var inCategory = Products.Where(p => p.Category == favourite).ToArray();
            return inCategory[_random.Next(inCategory.Length)];
        }

        return Products[_random.Next(Products.Length)];
    }

    private void GrantOrDeny(CustomerId id, Channel channel, Identifier address, DateTimeOffset at, double probability)
    {
        var granted = _random.NextDouble() < probability;
        Add(new ConsentRecord
        {
            RecordId = $"{id.Value}-consent-{channel.Name}-{(granted ? "grant" : "deny")}",
            CustomerId = id,
            Channel = channel,
            Purpose = Purpose.Marketing,
            Identifier = address,
            Status = granted ? ConsentStatus.Granted : ConsentStatus.Denied,
            Source = "signup-form",
            Evidence = new ConsentEvidence("notice-2026-01", "signup-form"),
            EffectiveAt = at,
        });
    }

    private void Withdraw(CustomerId id, Channel channel, Identifier address, DateTimeOffset at)
    {
        if (at >= End)
        {
            return;
        }

        Add(new ConsentRecord
        {
            RecordId = $"{id.Value}-consent-{channel.Name}-withdraw",
            CustomerId = id,
            Channel = channel,
            Purpose = Purpose.Marketing,
            Identifier = address,
            Status = ConsentStatus.Withdrawn,
            Source = "unsubscribe-link",
            EffectiveAt = at,
        });
    }

    private void Add(EngagementEvent engagementEvent)
    {
        if (engagementEvent.Timestamp < End)
        {
            _timeline.Add(new ShopHappening(engagementEvent.Timestamp, _sequence++, engagementEvent, null));
        }
    }

    private void Add(ConsentRecord record)
    {
        if (record.EffectiveAt < End)
        {
            _timeline.Add(new ShopHappening(record.EffectiveAt, _sequence++, null, record));
        }
    }
}
