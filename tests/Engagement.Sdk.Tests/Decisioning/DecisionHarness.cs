using System.Collections.Immutable;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Tests.Decisioning;

/// <summary>A decider on in-memory stores for one customer, Ann, with addresses and marketing consent on email, SMS and push.</summary>
internal sealed class DecisionHarness
{
    public static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    public static readonly CustomerId Ann = new("ann");
    public static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");
    public static readonly Identifier AnnPhone = Identifier.Phone("+380671234567");
    public static readonly Identifier AnnDevice = Identifier.Device("ann-phone");

    private DecisionHarness(NextBestActionDecider decider, ActionCatalog catalog, InMemoryPropensityStore propensityStore, InMemoryActionContactLog contacts, IActionBudgetStore budgets, InMemoryDispatchStore dispatches, ManualTimeProvider time)
    {
        Decider = decider;
        Catalog = catalog;
        PropensityStore = propensityStore;
        Contacts = contacts;
        Budgets = budgets;
        Dispatches = dispatches;
        Time = time;
    }

    public NextBestActionDecider Decider { get; }

    public ActionCatalog Catalog { get; }

    public InMemoryPropensityStore PropensityStore { get; }

    public InMemoryActionContactLog Contacts { get; }

    public IActionBudgetStore Budgets { get; }

    public InMemoryDispatchStore Dispatches { get; }

    public ManualTimeProvider Time { get; }

    public AdaptivePropensities Propensities => Decider.Propensities;

    public static async Task<DecisionHarness> CreateAsync(
        IEnumerable<ActionDefinition> actions,
        DecisioningOptions? options = null,
        IStockProvider? stock = null,
        IActionBudgetStore? budgets = null,
        IActionContactLog? contacts = null,
        ICustomerValueEstimator? customerValue = null,
        IEnumerable<Channel>? senders = null,
        ContactPolicyOptions? policy = null,
        bool everyoneConsents = false,
        bool journeyStore = false)
    {
        var consents = new InMemoryConsentStore();
        foreach (var (channel, address) in new[] { (Channel.Email, AnnEmail), (Channel.Sms, AnnPhone), (Channel.Push, AnnDevice) })
        {
            await consents.AppendAsync(new ConsentRecord
            {
                RecordId = "g-" + channel.Name, CustomerId = Ann, Channel = channel, Purpose = Purpose.Marketing, Identifier = address,
                Status = ConsentStatus.Granted, Source = "form", Evidence = new ConsentEvidence("v1", "form"), EffectiveAt = Now.AddDays(-30),
            });
        }

        var dispatches = new InMemoryDispatchStore();
        IPermissionGate gate = everyoneConsents ? new AllowEveryone() : new PermissionGate(consents, dispatches, Options.Create(policy ?? Caps(10)));
        var catalog = ActionCatalog.Create(actions);
        var time = new ManualTimeProvider(Now);
        var decisioning = options ?? new DecisioningOptions { Exploration = ExplorationMode.Greedy };
        var store = new InMemoryPropensityStore();
        var propensities = new AdaptivePropensities(store, catalog, Options.Create(decisioning), time);
        var log = new InMemoryActionContactLog();
        var budgetStore = budgets ?? new InMemoryActionBudgetStore();
        var open = senders?.ToHashSet();
        var decider = new NextBestActionDecider(
            catalog, gate, propensities, stock ?? new UnlimitedStockProvider(), c => open is null || open.Contains(c), JourneyDefinition.Lifecycle.Id,
            decisioning, contacts ?? log, budgetStore, customerValue, InMemoryTransactions.Instance,
            journeyStore ? Engagement.Sdk.Journeys.JourneyCatalog.FromOptions(TraitsDeclared(), catalog) : null, journeyStore ? new Engagement.Sdk.Journeys.InMemoryJourneyStore() : null);
        return new DecisionHarness(decider, catalog, store, log, budgetStore, dispatches, time);
    }

    private static EngagementOptions TraitsDeclared()
    {
        var options = new EngagementOptions();
        options.Traits["tier"] = TraitKind.String;
        return options;
    }

    /// <summary>Generous frequency caps (the defaults would stop most tests after one message), and no quiet hours.</summary>
    public static ContactPolicyOptions Caps(int perDay)
    {
        var policy = new ContactPolicyOptions();
        policy.Caps.Clear();
        policy.Caps.Add(new FrequencyCap { Channel = null, Limit = perDay, Window = TimeSpan.FromDays(1) });
        policy.QuietHours.Clear();
        return policy;
    }

    public static CustomerProfile Profile(string stage = "conversion") => CustomerProfile.New(Ann).WithIdentifier(AnnEmail).WithIdentifier(AnnPhone).WithIdentifier(AnnDevice) with
    {
        TimeZone = "Europe/Kyiv",
        Journeys = KeyedValues<JourneyPosition>.Empty.SetItem(JourneyDefinition.Lifecycle.Id, new JourneyPosition(JourneyDefinition.Lifecycle.Id, [new StageVisit(stage, Now.AddDays(-1), "test")])),
    };

    public static CustomerProfile WithBehaviour(CustomerProfile profile, Func<BehaviourAggregates, BehaviourAggregates> change) => profile with { Behaviour = change(profile.Behaviour) };

    public static ImmutableDictionary<Channel, int> Counts(params (Channel Channel, int Count)[] counts) => counts.ToImmutableDictionary(c => c.Channel, c => c.Count);

    public ValueTask<Decision> DecideAsync(CustomerProfile profile, DecisionContext context = default, string? decisionId = null, bool reserve = false)
        => Decider.DecideAsync(new DecisionRequest(profile, Time.GetUtcNow()) { Context = context, DecisionId = decisionId, ReserveBudgets = reserve });

    /// <summary>Counts <paramref name="sends"/> sends of the arm, <paramref name="responses"/> of them answered.</summary>
    public async Task LearnAsync(string actionId, Channel channel, int sends, int responses, string segment = "")
    {
        for (var i = 0; i < sends; i++)
        {
            var dispatch = new DispatchRecord
            {
                DispatchId = $"{actionId}-{channel}-{segment}-{Guid.NewGuid():N}", CustomerId = Ann, Channel = channel, Purpose = Purpose.Marketing, ActionId = actionId,
                CreatedAt = Time.GetUtcNow(), CompletedAt = Time.GetUtcNow(),
                Decision = new DispatchDecision { DecisionId = "x", Policy = "champion", ChoiceProbability = 1, Segment = segment },
            };
            await Propensities.RecordSendAsync(dispatch, Time.GetUtcNow());
            if (i < responses)
            {
                await Propensities.RecordResponseAsync(dispatch, Time.GetUtcNow());
            }
        }
    }

    /// <summary>A gate for tests over many customers: every customer consents to everything.</summary>
    private sealed class AllowEveryone : IPermissionGate
    {
        private static readonly PermissionDecision Allowed = new(PermissionVerdict.Allow, [new PermissionReason(PermissionReasons.ConsentGranted, "Everyone consents in this test.")], []);

        public ValueTask<PermissionDecision> CheckAsync(PermissionRequest request, CancellationToken cancellationToken = default) => ValueTask.FromResult(Allowed);
    }
}
