using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Sdk.Tests.Consent;

/// <summary>Caps and hand-offs with two processes whose clocks disagree and jump back.</summary>
public sealed class ClockSkewTests
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task TrackAsync_ClockSetBackAfterASend_DoesNotSendASecondMessageUnderTheCap()
    {
        await using var shop = Shop.Create(2);
        await shop.GrantAsync(Ann);
        await shop.CartAsync(0, Ann, "c1");
        shop.Clocks[0].Now = T0.AddMinutes(-10); // the clock set back by ten minutes

        var again = await shop.CartAsync(0, Ann, "c2");

        again.Dispatch.Should().BeNull();
        again.Decision!.Candidates.SelectMany(c => c.ChannelChecks).Should().Contain(k => k.Decision.Code == PermissionReasons.ClockSkew);
        shop.Sender.Messages.Should().ContainSingle();
    }

    [Fact]
    public async Task TrackAsync_AProcessTwoMinutesAheadTookTheSlot_TheOtherCountsIt()
    {
        await using var shop = Shop.Create(2);
        shop.Clocks[1].Now = T0.AddMinutes(2);
        await shop.GrantAsync(Ann);
        await shop.CartAsync(1, Ann, "ahead");

        var behind = await shop.CartAsync(0, Ann, "behind");

        behind.Dispatch.Should().BeNull("the slot was taken, although 'after' this process's clock");
        behind.Decision!.Candidates.SelectMany(c => c.ChannelChecks).Should().Contain(k => k.Decision.Code == PermissionReasons.FrequencyCap);
        shop.Sender.Messages.Should().ContainSingle();
    }

    [Fact]
    public async Task RunOnceAsync_WorkerWhoseClockIsBehindTheLog_HandsNothingOverAndLeavesItQueued()
    {
        await using var shop = Shop.Create(1);
        await shop.GrantAsync(Ann);
        var queued = (await shop.Engine(0).TrackAsync(new AddedToCart { EventId = "c1", CustomerId = Ann, Timestamp = T0, ProductId = "p" })).Dispatch!.Result.DispatchId;

        // Another process, whose clock runs 30 minutes ahead, sent Ann a message meanwhile.
        await shop.Store.TryBeginAsync(new DispatchRecord { DispatchId = "other", CustomerId = Ann, Channel = Channel.Email, Purpose = Purpose.Marketing, ActionId = "offer", CreatedAt = T0.AddMinutes(30), Status = DispatchStatus.Sent });
        var settled = (await shop.Workers[0].RunOnceAsync()).Settled.Single();

        settled.DispatchId.Should().Be(queued);
        settled.Should().Match<DispatchRecord>(d => d.Status == DispatchStatus.Queued && d.Reason == PermissionReasons.ClockSkew && d.Attempts == 0);
        shop.Sender.Messages.Should().BeEmpty();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task Random_SkewedAndJumpingClocks_NoCapBreachAndNothingWithoutPermission(int seed)
    {
        var random = new Random(seed);
        await using var shop = Shop.Create(2);
        shop.Clocks[1].Now = T0.AddMinutes(2); // two minutes apart
        var customers = Enumerable.Range(0, 8).Select(i => new CustomerId("k" + i)).ToArray();
        foreach (var customer in customers)
        {
            await shop.GrantAsync(customer);
        }

        var withdrawnAt = new Dictionary<CustomerId, DateTimeOffset>();
        var basis = T0;
        for (var step = 0; step < 400; step++)
        {
            basis = basis.AddMinutes(random.Next(0, 180));
            for (var p = 0; p < 2; p++)
            {
                // Each process's clock follows the basis with its offset, and is set back ten minutes a quarter of the time.
                var offset = p == 1 ? TimeSpan.FromMinutes(2) : TimeSpan.Zero;
                shop.Clocks[p].Now = basis + offset - (random.NextDouble() < 0.25 ? TimeSpan.FromMinutes(10) : TimeSpan.Zero);
            }

            var process = random.Next(2);
            var customer = customers[random.Next(customers.Length)];
            if (random.NextDouble() < 0.02 && !withdrawnAt.ContainsKey(customer))
            {
                await shop.Engine(process).RecordConsentAsync(Grant(customer, shop.Clocks[process].GetUtcNow()) with { RecordId = "w-" + customer.Value, Status = ConsentStatus.Withdrawn, Evidence = null });
                withdrawnAt[customer] = basis;
                continue;
            }

            await shop.Engine(process).TrackAsync(new AddedToCart { EventId = $"e{step}", CustomerId = customer, Timestamp = shop.Clocks[process].GetUtcNow(), ProductId = "p" });
            await shop.Workers[random.Next(2)].DeliverDueAsync();
        }

        var sent = new List<DispatchRecord>();
        foreach (var customer in customers)
        {
            sent.AddRange((await shop.Store.ListAsync(customer, T0.AddDays(-1))).Where(d => d.Status == DispatchStatus.Sent));
        }

        sent.Should().NotBeEmpty();
        sent.GroupBy(d => (d.CustomerId, Day: DateOnly.FromDateTime(d.CreatedAt.UtcDateTime)))
            .Should().OnlyContain(g => g.Count() == 1, "the cap is one marketing email per recipient's calendar day");
        sent.Where(d => withdrawnAt.ContainsKey(d.CustomerId)).Should().OnlyContain(d => d.CompletedAt < withdrawnAt[d.CustomerId], "nothing goes out after an acknowledged withdrawal");
    }

    private static readonly CustomerId Ann = new("ann");
    private static readonly CustomerId Bob = new("bob");

    private static Identifier Email(CustomerId customer) => Identifier.Email(customer.Value + "@example.com");

    private static ConsentRecord Grant(CustomerId customer, DateTimeOffset at) => new()
    {
        RecordId = "g-" + customer.Value,
        CustomerId = customer,
        Channel = Channel.Email,
        Identifier = Email(customer),
        Purpose = Purpose.Marketing,
        Status = ConsentStatus.Granted,
        Source = "form",
        Evidence = new ConsentEvidence("v1", "form"),
        EffectiveAt = at,
    };

    /// <summary>Two "processes" (two engines and workers with their own clocks) on one set of stores.</summary>
    private sealed class Shop : IAsyncDisposable
    {
        private readonly ServiceProvider[] _providers;

        private Shop(ServiceProvider[] providers, LedgerClock[] clocks, InMemoryChannelSender sender, IDispatchStore store)
        {
            _providers = providers;
            Clocks = clocks;
            Sender = sender;
            Store = store;
            Workers = [.. providers.Select(p => p.GetRequiredService<DispatchWorker>())];
        }

        public LedgerClock[] Clocks { get; }

        public InMemoryChannelSender Sender { get; }

        public IDispatchStore Store { get; }

        public DispatchWorker[] Workers { get; }

        public IEngagementEngine Engine(int process) => _providers[process].GetRequiredService<IEngagementEngine>();

        public static Shop Create(int processes)
        {
            var profiles = new InMemoryProfileStore();
            var events = new InMemoryEventStore();
            var consents = new InMemoryConsentStore();
            var dispatches = new InMemoryDispatchStore();
            var suppressions = new InMemorySuppressionStore();
            var sender = new InMemoryChannelSender(Channel.Email);
            var clocks = Enumerable.Range(0, processes).Select(_ => new LedgerClock(T0)).ToArray();
            var providers = clocks.Select(clock =>
            {
                var services = new ServiceCollection();
                services.AddSingleton<TimeProvider>(clock);
                services.AddSingleton<IProfileStore>(profiles);
                services.AddSingleton<IEventStore>(events);
                services.AddSingleton<IConsentStore>(consents);
                services.AddSingleton<IDispatchStore>(dispatches);
                services.AddSingleton<ISuppressionStore>(suppressions);
                services.AddEngagement(o => (o.DecideOnStageChange, o.LatenessWindow) = (false, null)).AddChannel(sender).UseActions(ActionCatalog.Create([
                    new ActionDefinition { Id = "offer", Name = "Offer", Channels = [Channel.Email], Value = 10m, BasePropensity = 0.5 },
                ]));
                return services.BuildServiceProvider();
            }).ToArray();
            return new Shop(providers, clocks, sender, dispatches);
        }

        public async Task GrantAsync(CustomerId customer)
        {
            await Engine(0).RecordConsentAsync(Grant(customer, T0.AddDays(-1)));
            await Engine(0).TrackAsync(new ProfileUpdated { EventId = "tz-" + customer.Value, CustomerId = customer, Timestamp = Clocks[0].GetUtcNow(), TimeZone = "Etc/UTC", Identifiers = [Email(customer)] });
        }

        public async Task<TrackResult> CartAsync(int process, CustomerId customer, string id)
        {
            var result = await Engine(process).TrackAsync(new AddedToCart { EventId = id, CustomerId = customer, Timestamp = Clocks[process].GetUtcNow(), ProductId = "p" });
            await Workers[process].DeliverDueAsync();
            return result;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var provider in _providers)
            {
                await provider.DisposeAsync();
            }
        }
    }
}
