using System.Collections.Immutable;
using System.Globalization;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Benchmarks.Core;

/// <summary>
/// A next-best-action workload on the in-memory stores, as a shop would configure it: <c>actions</c> actions on four channels
/// (email, SMS, push, web), half of them promoting a product (some bought, one in the cart, some out of stock), stage rules,
/// contact policies on every action (at most 2 sends a week, a day's gap after a send, a fortnight after a dismissal), volume
/// budgets, groups, costs and context boosts; one customer with addresses on three channels, marketing consent on those three
/// (not on web), the default frequency caps and quiet hours, two recent messages in the dispatch log, a contact history, and
/// learned propensities for a third of the candidates. A decision weighs every candidate through the whole pipeline.
/// </summary>
internal sealed class DecisionWorkload
{
    public static readonly DateTimeOffset Now = new(2026, 3, 2, 12, 0, 0, TimeSpan.Zero); // 14:00 in Kyiv: SMS is allowed
    private static readonly CustomerId Customer = new("c1");
    private static readonly Channel[] Channels = [Channel.Email, Channel.Sms, Channel.Push, Channel.Web];

    private DecisionWorkload(NextBestActionDecider decider, DecisionRequest request)
    {
        Decider = decider;
        Request = request;
    }

    public NextBestActionDecider Decider { get; }

    public DecisionRequest Request { get; }

    public static DecisionWorkload Create(int actions, DecisioningOptions? options = null)
    {
        var email = Identifier.Email("ann@example.com");
        var phone = Identifier.Phone("+380671234567");
        var device = Identifier.Device("device-1");
        var consents = new InMemoryConsentStore();
        foreach (var (channel, address) in new[] { (Channel.Email, email), (Channel.Sms, phone), (Channel.Push, device) })
        {
            consents.AppendAsync(new ConsentRecord
            {
                RecordId = "g-" + channel.Name, CustomerId = Customer, Channel = channel, Purpose = Purpose.Marketing, Identifier = address,
                Status = ConsentStatus.Granted, Source = "form", Evidence = new ConsentEvidence("v1", "form"), EffectiveAt = Now.AddDays(-30),
            }).AsTask().GetAwaiter().GetResult();
        }

        var dispatches = new InMemoryDispatchStore();
        foreach (var (id, channel, days) in new[] { ("d-old-email", Channel.Email, 2), ("d-old-push", Channel.Push, 3) })
        {
            dispatches.TryBeginAsync(new DispatchRecord
            {
                DispatchId = id, CustomerId = Customer, Channel = channel, Purpose = Purpose.Marketing, ActionId = "a001",
                CreatedAt = Now.AddDays(-days), CompletedAt = Now.AddDays(-days), Status = DispatchStatus.Sent,
            }).AsTask().GetAwaiter().GetResult();
        }

        var gate = new PermissionGate(consents, dispatches, Options.Create(new ContactPolicyOptions()));
        var definitions = new List<ActionDefinition>(actions);
        var outOfStock = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < actions; i++)
        {
            var product = i % 2 == 0 ? Name("p", i) : null;
            if (product is not null && i % 9 == 0)
            {
                outOfStock.Add(product);
            }

            definitions.Add(new ActionDefinition
            {
                Id = Name("a", i),
                Name = "Action " + i.ToString(CultureInfo.InvariantCulture),
                Kind = product is null ? ActionKind.Content : ActionKind.ProductRecommendation,
                Channels = [.. Channels],
                ProductId = product,
                Value = 5m + (i % 17),
                Cost = 0.05m,
                BasePropensity = 0.02 + (i % 10 * 0.005),
                Lever = i % 11 == 0 ? 1.5 : 1,
                Stages = i % 7 == 0 ? ["attraction"] : i % 5 == 0 ? ["engagement", "conversion"] : [],
                Group = Name("g", i % 8),
                MessageType = i % 4 == 0 ? "offers" : null,
                ContactPolicy = new ActionContactPolicy { MaxSends = 2, Window = TimeSpan.FromDays(7), MinGapAfterSend = TimeSpan.FromDays(1), MinGapAfterDismissal = TimeSpan.FromDays(14) },
                Budget = i % 10 == 0 ? new ActionBudget { Limit = 1_000, Period = BudgetPeriod.Day } : null,
                ContextBoosts = i % 3 == 0 ? [new ContextBoost(DecisionContext.IntentKey, "shoes", 20)] : [],
            });
        }

        var catalog = ActionCatalog.Create(definitions);
        var time = new FixedTime(Now);
        var propensityStore = new InMemoryPropensityStore();
        for (var i = 0; i < actions; i += 3)
        {
            for (var n = 0; n < 30; n++)
            {
                var arm = new PropensityArm(Name("a", i), Channels[n % 3], string.Empty, "engagement");
                var bucket = new DateTimeOffset(Now.Date.AddDays(-(n % 5)), TimeSpan.Zero);
                propensityStore.CountAsync(arm, Name("s", (i * 100) + n), PropensityOutcome.Send, bucket).AsTask().GetAwaiter().GetResult();
                if (n % 7 == 0)
                {
                    propensityStore.CountAsync(arm, Name("s", (i * 100) + n), PropensityOutcome.Response, bucket).AsTask().GetAwaiter().GetResult();
                }
            }
        }

        var contacts = new InMemoryActionContactLog();
        foreach (var (action, kind, days) in new[] { (1, ActionContactKind.Sent, 2), (2, ActionContactKind.Sent, 5), (2, ActionContactKind.Sent, 6), (4, ActionContactKind.Dismissed, 3) })
        {
            contacts.RecordAsync(new ActionContact(Customer, Name("a", action), Channel.Email, kind, Now.AddDays(-days), Name("c", (action * 10) + days))).AsTask().GetAwaiter().GetResult();
        }

        var decisioning = options ?? new DecisioningOptions();
        var propensities = new AdaptivePropensities(propensityStore, catalog, Options.Create(decisioning), time);
        var decider = new NextBestActionDecider(catalog, gate, propensities, new SetStock(outOfStock), static _ => true, JourneyDefinition.Lifecycle.Id, decisioning, contacts, new InMemoryActionBudgetStore());

        var bought = Enumerable.Range(0, actions).Where(i => i % 2 == 0 && i % 6 == 2).Select(i => Name("p", i)).ToArray();
        var profile = CustomerProfile.New(Customer).WithIdentifier(email).WithIdentifier(phone).WithIdentifier(device).WithChannelPreference("offers", Channel.Push) with
        {
            TimeZone = "Europe/Kyiv",
            Journeys = KeyedValues<JourneyPosition>.Empty.SetItem(JourneyDefinition.Lifecycle.Id, new JourneyPosition(JourneyDefinition.Lifecycle.Id, [new StageVisit("engagement", Now.AddDays(-40), "test")])),
            Behaviour = new BehaviourAggregates
            {
                Orders = 3,
                FirstPurchase = Now.AddDays(-90),
                LastPurchase = Now.AddDays(-20),
                ItemsBought = KeySet.Create(bought),
                ItemsInCart = KeySet.Create([Name("p", 4)]),
                MessagesSent = ImmutableDictionary<Channel, int>.Empty.Add(Channel.Email, 10).Add(Channel.Push, 4),
                Engagements = ImmutableDictionary<Channel, int>.Empty.Add(Channel.Email, 1).Add(Channel.Push, 3),
            },
        };

        var request = new DecisionRequest(profile, Now) { Context = new DecisionContext { Intent = "shoes", CartOpen = true }, DecisionId = "benchmark" };
        return new DecisionWorkload(decider, request);
    }

    private static string Name(string prefix, int i) => prefix + i.ToString("000", CultureInfo.InvariantCulture);

    private sealed class SetStock(HashSet<string> outOfStock) : IStockProvider
    {
        public ValueTask<bool> IsInStockAsync(string productId, CancellationToken cancellationToken = default) => ValueTask.FromResult(!outOfStock.Contains(productId));
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
