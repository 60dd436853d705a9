using System.Collections.Concurrent;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Sdk.Hosting.Tests;

/// <summary>The background service in a real generic host, on a fake clock.</summary>
public sealed class EngagementBackgroundServiceTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Ann = new("ann");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");
    private static readonly ActionDefinition Welcome = new() { Id = "welcome", Name = "Welcome", Channels = [Channel.Email], Value = 50m, BasePropensity = 0.1, Priority = 5 };
    private static readonly ActionDefinition Promo = new() { Id = "promo", Name = "Promo", Channels = [Channel.Email], Value = 5m, BasePropensity = 0.1, Priority = 1, HoldFor = TimeSpan.FromDays(3) };

    [Fact]
    public async Task Host_MessageQueuedByTracking_IsDeliveredByTheBackgroundService()
    {
        var clock = new FakeTimeProvider(T0);
        var email = new InMemoryChannelSender(Channel.Email);
        using var host = BuildHost(clock, email);
        await host.StartAsync();
        var engine = host.Services.GetRequiredService<IEngagementEngine>();
        await engine.RecordConsentAsync(Grant());

        var result = await engine.TrackAsync(Cart("c1", T0));

        result.Decision!.Action.Id.Should().Be("welcome");
        await Eventually.HoldsAsync(() => email.Messages.Count == 1, clock, because: "the outbox is delivered by the service");
        email.Messages.Single().ActionId.Should().Be("welcome");
        await host.StopAsync();
    }

    [Fact]
    public async Task Host_HeldMessage_IsReleasedWhenTheCapAllowsIt()
    {
        var clock = new FakeTimeProvider(T0);
        var email = new InMemoryChannelSender(Channel.Email);
        using var host = BuildHost(clock, email, o => o.HeldReleaseInterval = TimeSpan.FromMinutes(10));
        await host.StartAsync();
        var engine = host.Services.GetRequiredService<IEngagementEngine>();
        await engine.RecordConsentAsync(Grant());
        await engine.TrackAsync(Cart("c1", T0));
        var held = await engine.TrackAsync(Cart("c2", T0.AddMinutes(1)));
        held.HeldMessages.Should().ContainSingle(h => h.Record.ActionId == "promo");
        await Eventually.HoldsAsync(() => email.Messages.Count == 1, clock, TimeSpan.FromSeconds(1), "the first message is delivered");

        // The daily cap frees its slot a day after the first send: the release (every 10 minutes) queues it, delivery sends it.
        await Eventually.HoldsAsync(() => email.Messages.Count == 2, clock, TimeSpan.FromMinutes(5), "the held message is released and sent");

        email.Messages.Select(m => m.ActionId).Should().Equal("welcome", "promo");
        clock.GetUtcNow().Should().BeOnOrAfter(T0.AddDays(1), "the cap allowed no second message before a day had passed");
        await host.StopAsync();
    }

    [Fact]
    public async Task Host_CustomWork_RunsEveryIntervalOnTheTimeProvider()
    {
        var clock = new FakeTimeProvider(T0);
        using var host = BuildHost(clock, new InMemoryChannelSender(Channel.Email), configureServices: s => s.AddEngagementBackgroundWork<CountingWork>());
        var work = host.Services.GetServices<IEngagementBackgroundWork>().OfType<CountingWork>().Single();
        await host.StartAsync();
        await Eventually.HoldsAsync(() => work.Runs.Count == 1, because: "the first pass runs when the host starts");

        // Nothing moves without the clock: a pass per interval of fake time.
        await Task.Delay(100);
        work.Runs.Should().HaveCount(1);
        await Eventually.HoldsAsync(() => work.Runs.Count == 4, clock, TimeSpan.FromMinutes(1));

        var gaps = work.Runs.Zip(work.Runs.Skip(1), (a, b) => b - a).ToList();
        gaps.Should().OnlyContain(g => g >= CountingWork.Every, "a pass that handled nothing waits the work's interval");
        await host.StopAsync();
        host.Services.GetRequiredService<EngagementBackgroundStatus>().StartedAt.Should().BeNull();
    }

    [Fact]
    public async Task Host_WorkThatFindsWork_RunsAgainAtOnceUntilNoneIsLeft()
    {
        var clock = new FakeTimeProvider(T0);
        using var host = BuildHost(clock, new InMemoryChannelSender(Channel.Email), configureServices: s => s.AddEngagementBackgroundWork<CountingWork>());
        var work = host.Services.GetServices<IEngagementBackgroundWork>().OfType<CountingWork>().Single();
        work.Backlog = 5;
        await host.StartAsync();

        await Eventually.HoldsAsync(() => work.Runs.Count == 6, because: "five passes that handled an item, then one that found none");

        work.Runs.Should().OnlyContain(t => t == T0, "the passes that found work followed each other without waiting");
        host.Services.GetRequiredService<EngagementBackgroundStatus>().Works.Single(w => w.Name == "counting").Handled.Should().Be(5);
        await host.StopAsync();
    }

    [Fact]
    public async Task Host_FailingWork_IsRetriedAfterItsIntervalAndDoesNotStopTheOthers()
    {
        var clock = new FakeTimeProvider(T0);
        var email = new InMemoryChannelSender(Channel.Email);
        using var host = BuildHost(clock, email, configureServices: s => s.AddEngagementBackgroundWork<FailingWork>());
        var failing = host.Services.GetServices<IEngagementBackgroundWork>().OfType<FailingWork>().Single();
        await host.StartAsync();
        var engine = host.Services.GetRequiredService<IEngagementEngine>();
        await engine.RecordConsentAsync(Grant());
        await engine.TrackAsync(Cart("c1", T0));

        await Eventually.HoldsAsync(() => failing.Calls >= 3 && email.Messages.Count == 1, clock, TimeSpan.FromSeconds(30));

        var state = host.Services.GetRequiredService<EngagementBackgroundStatus>().Works.Single(w => w.Name == "failing");
        state.LastFailure.Should().Be(typeof(IOException).FullName);
        state.ConsecutiveFailures.Should().BeGreaterThanOrEqualTo(3);
        state.LastSucceededAt.Should().BeNull();
        await host.StopAsync();
    }

    [Fact]
    public async Task StopAsync_DuringASend_EndsTheServiceAndLeavesTheMessageToBeReconciled()
    {
        var clock = new FakeTimeProvider(T0);
        var blocking = new BlockingSender();
        using var host = BuildHost(clock, blocking);
        await host.StartAsync();
        var engine = host.Services.GetRequiredService<IEngagementEngine>();
        await engine.RecordConsentAsync(Grant());
        var dispatchId = (await engine.TrackAsync(Cart("c1", T0))).Dispatch!.Result.DispatchId;
        await Eventually.HoldsAsync(() => blocking.InFlight, clock, TimeSpan.FromMilliseconds(100), "the send started");

        await host.StopAsync();

        var record = await host.Services.GetRequiredService<IDispatchStore>().GetAsync(dispatchId);
        record!.Status.Should().Be(DispatchStatus.Unknown, "a message in flight when the host stopped may have gone out: it is reconciled, never lost nor sent blindly again");
        record.LeaseOwner.Should().BeNull();
    }

    [Fact]
    public async Task AddEngagementBackgroundServices_CalledTwice_RunsEachWorkOnce()
    {
        var clock = new FakeTimeProvider(T0);
        using var host = BuildHost(clock, new InMemoryChannelSender(Channel.Email), configureServices: s =>
        {
            s.AddEngagementBackgroundServices();
            s.AddEngagementBackgroundWork<CountingWork>().AddEngagementBackgroundWork<CountingWork>();
        });

        host.Services.GetServices<IHostedService>().OfType<EngagementBackgroundService>().Should().ContainSingle()
            .Which.Works.Select(w => w.Name).Should().BeEquivalentTo("outbox-delivery", "held-message-release", "journey-sweep", "segment-sweep", "counting");
    }

    [Fact]
    public async Task Host_CustomerWithoutPurchaseFor90Days_EntersTheSegmentByTheSegmentSweepWithoutAnEvent()
    {
        var clock = new FakeTimeProvider(T0);
        var lapsed = Engagement.Sdk.Segments.SegmentDefinition.FromJson("""{"name":"lapsed","condition":{"all":[{"aggregate":"orders","ge":1},{"event":"purchased","within":"P90D","count":{"eq":0}}]}}""");
        using var host = BuildHost(clock, new InMemoryChannelSender(Channel.Email), o => o.SegmentSweepInterval = TimeSpan.FromHours(1), services => services.AddEngagement().AddSegment(lapsed));
        await host.StartAsync();
        var engine = host.Services.GetRequiredService<IEngagementEngine>();
        var segments = host.Services.GetRequiredService<Engagement.Sdk.Segments.ISegmentStore>();
        await engine.TrackAsync(new Purchased { EventId = "o1", CustomerId = Ann, Timestamp = T0, OrderId = "o-1", Lines = [new OrderLine("p-1", 1, Money.Of(40m, "EUR"))] });

        long Members() => segments.CountAsync("lapsed").AsTask().GetAwaiter().GetResult();

        Members().Should().Be(0);
        await Eventually.HoldsAsync(() => Members() == 1, clock, TimeSpan.FromDays(1), "the sweep adds the customer when 90 days without a purchase have passed");

        clock.GetUtcNow().Should().BeOnOrAfter(T0.AddDays(90), "nothing was due before");
        await host.StopAsync();
    }

    [Fact]
    public async Task Host_CustomerWithoutPurchaseFor90Days_IsMovedByTheJourneySweepWithoutAnEvent()
    {
        var clock = new FakeTimeProvider(T0);
        using var host = BuildHost(clock, new InMemoryChannelSender(Channel.Email), o => o.JourneySweepInterval = TimeSpan.FromHours(1), services => services.AddEngagement().AddJourney(JourneyDefinition.FromJson(ActiveOrLapsed)));
        await host.StartAsync();
        var engine = host.Services.GetRequiredService<IEngagementEngine>();
        var store = host.Services.GetRequiredService<IJourneyStore>();
        await engine.TrackAsync(new Purchased { EventId = "o1", CustomerId = Ann, Timestamp = T0, OrderId = "o-1", Lines = [new OrderLine("p-1", 1, Money.Of(40m, "EUR"))] });

        // The stage's index in the definition: 0 active, 1 lapsed.
        int StageIndex() => store.GetAsync(Ann).AsTask().GetAwaiter().GetResult()?.Tracks.Single(t => t.JourneyId == "retention").StageIndex ?? -1;

        StageIndex().Should().Be(0);
        await Eventually.HoldsAsync(() => StageIndex() == 1, clock, TimeSpan.FromDays(1), "the sweep moves the customer when 90 days without a purchase have passed");

        clock.GetUtcNow().Should().BeOnOrAfter(T0.AddDays(90), "nothing was due before");
        await host.StopAsync();
    }

    private const string ActiveOrLapsed = """
        {
          "id": "retention",
          "version": 1,
          "stages": [
            { "id": "active", "entry": { "aggregate": "orders", "ge": 1 } },
            {
              "id": "lapsed",
              "priority": 10,
              "entry": { "all": [ { "aggregate": "orders", "ge": 1 }, { "event": "purchased", "within": "P90D", "count": { "eq": 0 } } ] },
              "exit": { "when": { "event": "purchased", "within": "P90D", "count": { "ge": 1 } } }
            }
          ]
        }
        """;

    [Fact]
    public async Task Options_TurnTheBuiltInWorksOff()
    {
        using var host = BuildHost(new FakeTimeProvider(T0), new InMemoryChannelSender(Channel.Email), o => (o.DeliverOutbox, o.ReleaseHeldMessages, o.SweepJourneys, o.SweepSegments) = (false, false, false, false));

        host.Services.GetServices<IHostedService>().OfType<EngagementBackgroundService>().Single().Works.Should().BeEmpty();
        await Task.CompletedTask;
    }

    [Fact]
    public async Task StartAsync_OptionOutOfRange_FailsNamingIt()
    {
        using var host = BuildHost(new FakeTimeProvider(T0), new InMemoryChannelSender(Channel.Email), o => o.HeldReleaseInterval = TimeSpan.Zero);

        var act = () => host.StartAsync();

        (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should()
            .Contain("EngagementBackgroundOptions.HeldReleaseInterval is 00:00:00: it must be from 1 second to 1 day");
    }

    internal static IHost BuildHost(FakeTimeProvider clock, IChannelSender sender, Action<EngagementBackgroundOptions>? configure = null, Action<IServiceCollection>? configureServices = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSingleton<TimeProvider>(clock);
        builder.Services.AddEngagement().AddChannel(sender).UseActions(ActionCatalog.Create([Welcome, Promo]));
        builder.Services.Configure<DispatchOptions>(o => o.PollInterval = TimeSpan.FromSeconds(1));
        builder.Services.AddEngagementBackgroundServices(configure);
        configureServices?.Invoke(builder.Services);
        return builder.Build();
    }

    internal static ConsentRecord Grant() => new()
    {
        RecordId = "g1",
        CustomerId = Ann,
        Channel = Channel.Email,
        Purpose = Purpose.Marketing,
        Identifier = AnnEmail,
        Status = ConsentStatus.Granted,
        Source = "form",
        Evidence = new ConsentEvidence("v1", "form"),
        EffectiveAt = T0.AddDays(-1),
    };

    internal static AddedToCart Cart(string id, DateTimeOffset at)
        => new() { EventId = id, CustomerId = Ann, Timestamp = at, Identifiers = [AnnEmail], ProductId = "sku-" + id };

    internal sealed class CountingWork(TimeProvider time) : IEngagementBackgroundWork
    {
        public static readonly TimeSpan Every = TimeSpan.FromMinutes(15);

        public ConcurrentQueue<DateTimeOffset> Runs { get; } = new();

        public int Backlog { get; set; }

        public string Name => "counting";

        public TimeSpan Interval => Every;

        public ValueTask<int> RunOnceAsync(CancellationToken cancellationToken)
        {
            Runs.Enqueue(time.GetUtcNow());
            if (Backlog > 0)
            {
                Backlog--;
                return ValueTask.FromResult(1);
            }

            return ValueTask.FromResult(0);
        }
    }

    internal sealed class FailingWork : IEngagementBackgroundWork
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public string Name => "failing";

        public TimeSpan Interval => TimeSpan.FromMinutes(1);

        public ValueTask<int> RunOnceAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            throw new IOException("disk full at /var/lib/shop for ann@example.com");
        }
    }

    private sealed class BlockingSender : IChannelSender
    {
        private volatile bool _inFlight;

        public bool InFlight => _inFlight;

        public Channel Channel => Channel.Email;

        public async ValueTask<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            _inFlight = true;
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return SendResult.Accepted;
        }
    }
}
