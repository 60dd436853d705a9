using System.Collections.Immutable;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using Engagement.Sdk.Value;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Sdk.Tests.Profiles;

/// <summary>An objection to profiling, anonymisation instead of erasure, and signing up again after an erasure.</summary>
public sealed class PrivacyChoicesTests : IAsyncDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Ann = new("ann");
    private static readonly Identifier AnnEmail = Identifier.Email("Ann@example.com");
    private readonly ManualTimeProvider _clock = new(Start);
    private readonly InMemoryChannelSender _email = new(Channel.Email);
    private readonly ServiceProvider _provider;
    private int _next;

    public PrivacyChoicesTests()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_clock);
        services.AddEngagement().AddChannel(_email).UseActions(ActionCatalog.Create([
            new ActionDefinition { Id = "boots-offer", Name = "Boots for you", Channels = [Channel.Email], Value = 50m, BasePropensity = 0.2 },
            new ActionDefinition { Id = "order-update", Name = "Your order", Kind = ActionKind.Message, Purpose = Purpose.Transactional, Channels = [Channel.Email], Value = 1m, BasePropensity = 1 },
        ]));
        _provider = services.BuildServiceProvider();
    }

    private IEngagementEngine Engine => _provider.GetRequiredService<IEngagementEngine>();

    private ConsentLedger Ledger => _provider.GetRequiredService<ConsentLedger>();

    private IProfileStore Profiles => _provider.GetRequiredService<IProfileStore>();

    public ValueTask DisposeAsync() => _provider.DisposeAsync();

    [Fact]
    public async Task ObjectionToProfiling_StopsBehaviouralAggregatesAndPersonalisedDecisions_TransactionalServiceContinues()
    {
        await Engine.RecordConsentAsync(Grant("g-email", Channel.Email, Purpose.Marketing, AnnEmail));
        await Engine.TrackAsync(View(Ann, "boots"));
        (await Engine.DecideAsync(Ann)).Candidates.Should().NotContain(c => c.Reason == DecisionReasons.ProfilingObjected, "before the objection offers are considered");

        await Engine.RecordConsentAsync(Objection("o-1", Purpose.Profiling));
        var objected = await Profiles.GetAsync(Ann);
        objected!.ProfilingObjectedAt.Should().NotBeNull();

        await Engine.TrackAsync(View(Ann, "hats"));
        await Engine.TrackAsync(new Searched { EventId = Id(), CustomerId = Ann, Timestamp = _clock.GetUtcNow(), Query = "red hats" });
        await Engine.TrackAsync(new AddedToCart { EventId = Id(), CustomerId = Ann, Timestamp = _clock.GetUtcNow(), ProductId = "hats" });
        var order = await Engine.TrackAsync(new Purchased { EventId = Id(), CustomerId = Ann, Timestamp = _clock.GetUtcNow(), OrderId = "1", Lines = [new OrderLine("hats", 1, Money.Of(30m, "EUR"))] });

        var after = order.Profile!;
        after.Behaviour.ProductViews.Should().Be(1, "no view is counted after the objection");
        after.Behaviour.ItemsViewed.Should().Equal("boots");
        after.Behaviour.Searches.Should().Be(0);
        after.Behaviour.ItemsInCart.Should().BeEmpty();
        after.Behaviour.Orders.Should().Be(1, "the order is the record of the contract");
        after.Behaviour.RefundableByOrder.ContainsKey("1").Should().BeTrue("a refund of it must still be possible");
        (await StageAsync(Ann)).Should().Be("relationship", "the journey does not move on the order");
        var decision = await Engine.DecideAsync(Ann);
        decision.Candidates.Should().Contain(c => c.ActionId == "boots-offer" && c.Reason == DecisionReasons.ProfilingObjected);
        decision.Candidates.Should().Contain(c => c.ActionId == "order-update" && c.Reason != DecisionReasons.ProfilingObjected, "transactional service continues");
    }

    [Fact]
    public async Task ObjectionToMarketingOrRecordedBeforeTheFirstEvent_AlsoStopsProfiling_AndANewGrantResumesIt()
    {
        await Engine.RecordConsentAsync(Objection("o-1", Purpose.Marketing));
        await Engine.TrackAsync(View(Ann, "boots"));
        (await Profiles.GetAsync(Ann))!.Behaviour.ProductViews.Should().Be(0, "the objection was in the ledger before the customer's first event");

        _clock.Advance(TimeSpan.FromMinutes(1));
        await Engine.RecordConsentAsync(Grant("g-profiling", null, Purpose.Profiling, null) with { EffectiveAt = _clock.GetUtcNow() });
        await Engine.TrackAsync(View(Ann, "hats"));

        var profile = await Profiles.GetAsync(Ann);
        profile!.ProfilingObjectedAt.Should().BeNull("a later, explicit grant of profiling overtakes the objection");
        profile.Behaviour.ProductViews.Should().Be(1);
    }

    [Fact]
    public async Task Anonymise_RemovesIdentityAndPersonalData_KeepsTheAggregatesAndMetricsUnderARandomKey()
    {
        await Engine.RecordConsentAsync(Grant("g-email", Channel.Email, Purpose.Marketing, AnnEmail));
        await Engine.TrackAsync(new ProfileUpdated { EventId = Id(), CustomerId = Ann, Timestamp = _clock.GetUtcNow(), Identifiers = [AnnEmail], Traits = ImmutableDictionary<string, TraitValue>.Empty.Add("surname", TraitValue.Of("Smith")), TimeZone = "Europe/Kyiv" });
        await Engine.TrackAsync(new PageViewed { EventId = Id(), CustomerId = Ann, Timestamp = _clock.GetUtcNow(), Url = "/boots?email=ann@example.com" });
        await Engine.TrackAsync(View(Ann, "boots"));
        await Engine.TrackAsync(new Purchased { EventId = Id(), CustomerId = Ann, Timestamp = _clock.GetUtcNow(), OrderId = "1", Lines = [new OrderLine("boots", 1, Money.Of(90m, "EUR"))] });
        var events = _provider.GetRequiredService<IEventStore>();
        var before = await Engine.TrackAsync(View(Ann, "hats"));
        var metricsBefore = EngagementMetrics.Compute(await events.ReadRangeAsync(Start.AddDays(-1), Start.AddDays(1)).ToListAsync(), Start.AddDays(-1), Start.AddDays(1), Currency.EUR);

        var report = await _provider.GetRequiredService<CustomerErasure>().AnonymiseAsync(Ann);

        (await Profiles.GetAsync(Ann)).Should().BeNull();
        (await Profiles.FindByIdentifierAsync(AnnEmail)).Should().BeNull();
        (await _provider.GetRequiredService<IConsentStore>().ReadAsync(Ann)).Should().BeEmpty();
        report.AnonymousKey.Value.Should().StartWith("anonymous-").And.NotContain("ann");
        var kept = await Profiles.GetAsync(report.AnonymousKey);
        kept!.Identifiers.Should().BeEmpty();
        kept.Traits.Should().BeEmpty();
        kept.TimeZone.Should().BeNull();
        kept.Behaviour.Should().Be(before.Profile!.Behaviour, "the aggregates are kept as they were");
        var remaining = await events.ReadRangeAsync(Start.AddDays(-1), Start.AddDays(1)).ToListAsync();
        remaining.Should().OnlyContain(e => e.CustomerId == report.AnonymousKey && e.Identifiers.IsEmpty && !(e is ProfileUpdated));
        remaining.OfType<PageViewed>().Single().Url.Should().Be("/boots");
        EngagementMetrics.Compute(remaining, Start.AddDays(-1), Start.AddDays(1), Currency.EUR).Should().Be(metricsBefore, "the shop's metrics are the same as before");
        (await Engine.TrackAsync(View(Ann, "socks"))).IsErasedSubject.Should().BeTrue("a replay does not recreate the person");
        (await _provider.GetRequiredService<IPermissionGate>().CheckAsync(new PermissionRequest(CustomerProfile.New(new CustomerId("someone")), Channel.Email, Purpose.Transactional, AnnEmail, _clock.GetUtcNow()))).Code.Should().Be(PermissionReasons.Suppressed);
    }

    [Fact]
    public async Task SignUpAgainAfterErasure_WithAFreshDoubleOptIn_MayBeGranted_ButAReplayOrReImportNeverIs()
    {
        await Engine.RecordConsentAsync(Grant("g-email", Channel.Email, Purpose.Marketing, AnnEmail));
        await Engine.TrackAsync(View(Ann, "boots"));
        var export = await _provider.GetRequiredService<CustomerDataPortability>().ExportAsync(Ann);
        _clock.Advance(TimeSpan.FromDays(1));
        await _provider.GetRequiredService<CustomerErasure>().EraseAsync(Ann);
        _clock.Advance(TimeSpan.FromDays(30));

        // A replay of the old grant, and a re-import of the old export, are refused.
        var replay = await FluentActions.Awaiting(() => Ledger.RecordAsync(Grant("g-email-again", Channel.Email, Purpose.Marketing, AnnEmail) with { CustomerId = new CustomerId("ann-2"), EffectiveAt = Start }).AsTask()).Should().ThrowAsync<EngagementValidationException>();
        replay.Which.Field.Should().Be("identifier");
        await FluentActions.Awaiting(() => _provider.GetRequiredService<CustomerDataPortability>().ImportAsync(export).AsTask()).Should().ThrowAsync<EngagementValidationException>();

        // A fresh grant without a new double opt-in is refused for e-mail.
        var fresh = await FluentActions.Awaiting(() => Ledger.RecordAsync(Grant("g-fresh", Channel.Email, Purpose.Marketing, AnnEmail) with { CustomerId = new CustomerId("ann-2"), EffectiveAt = _clock.GetUtcNow() }).AsTask()).Should().ThrowAsync<EngagementValidationException>();
        fresh.Which.Field.Should().Be("evidence.confirmedAt");

        // A new sign-up: a new customer, a double opt-in started and confirmed after the erasure.
        var annAgain = new CustomerId("ann-2");
        await Engine.TrackAsync(View(annAgain, "boots", AnnEmail));
        var profile = (await Profiles.GetAsync(annAgain))!;
        var gate = _provider.GetRequiredService<IPermissionGate>();
        (await gate.CheckAsync(new PermissionRequest(profile, Channel.Email, Purpose.ConsentConfirmation, AnnEmail, _clock.GetUtcNow()))).Code.Should().Be(PermissionReasons.Suppressed, "no sign-up has started yet");
        var start = await Ledger.StartDoubleOptInAsync(annAgain, Channel.Email, Purpose.Marketing, AnnEmail, new ConsentEvidence("notice-v2", "signup-form"), TimeSpan.FromDays(1));
        (await gate.CheckAsync(new PermissionRequest(profile, Channel.Email, Purpose.ConsentConfirmation, AnnEmail, _clock.GetUtcNow()))).IsAllowed.Should().BeTrue("the confirmation request of the new sign-up may go out");
        (await gate.CheckAsync(new PermissionRequest(profile, Channel.Email, Purpose.Marketing, AnnEmail, _clock.GetUtcNow()))).IsAllowed.Should().BeFalse();
        _clock.Advance(TimeSpan.FromMinutes(10));
        (await Ledger.ConfirmDoubleOptInAsync(annAgain, AnnEmail, start.Token)).Should().Be(DoubleOptInOutcome.Confirmed);

        (await gate.CheckAsync(new PermissionRequest(profile, Channel.Email, Purpose.Marketing, AnnEmail, _clock.GetUtcNow()))).IsAllowed.Should().BeTrue("a genuine new sign-up with fresh double opt-in");
        (await Engine.TrackAsync(View(Ann, "boots"))).IsErasedSubject.Should().BeTrue("the erased customer id itself never comes back");
    }

    [Fact]
    public async Task SignUpAgainAfterErasure_OnSmsWithEvidenceNewerThanTheErasure_MayBeGranted()
    {
        var phone = Identifier.Phone("+380671234567");
        await Engine.TrackAsync(View(Ann, "boots", phone));
        await _provider.GetRequiredService<CustomerErasure>().EraseAsync(Ann);
        _clock.Advance(TimeSpan.FromDays(2));
        var annAgain = new CustomerId("ann-2");

        await Ledger.RecordAsync(Grant("g-sms", Channel.Sms, Purpose.Marketing, phone) with { CustomerId = annAgain, EffectiveAt = _clock.GetUtcNow() });

        var profile = CustomerProfile.New(annAgain).WithIdentifier(phone) with { TimeZone = "Europe/Kyiv" };
        (await _provider.GetRequiredService<IPermissionGate>().CheckAsync(new PermissionRequest(profile, Channel.Sms, Purpose.Marketing, phone, _clock.GetUtcNow().AddHours(-3)))).Code.Should().NotBe(PermissionReasons.Suppressed);
    }

    private ProductViewed View(CustomerId customer, string product, params Identifier[] identifiers)
        => new() { EventId = Id(), CustomerId = customer, Timestamp = _clock.GetUtcNow(), ProductId = product, Identifiers = identifiers.Length == 0 ? [AnnEmail] : [.. identifiers] };

    private string Id() => "e" + Interlocked.Increment(ref _next);

    private async Task<string?> StageAsync(CustomerId customer)
    {
        var record = await _provider.GetRequiredService<Engagement.Sdk.Journeys.IJourneyStore>().GetAsync(customer);
        var catalog = _provider.GetRequiredService<Engagement.Sdk.Journeys.JourneyCatalog>();
        return record?.Tracks.Where(t => t.JourneyId == "lifecycle").Select(catalog.StageOf).FirstOrDefault();
    }

    private ConsentRecord Grant(string id, Channel? channel, Purpose purpose, Identifier? address) => new()
    {
        RecordId = id,
        CustomerId = Ann,
        Channel = channel,
        Identifier = address,
        Purpose = purpose,
        Status = ConsentStatus.Granted,
        Source = "signup-form",
        Evidence = new ConsentEvidence("notice-v1", "signup-form"),
        EffectiveAt = _clock.GetUtcNow().AddMinutes(-5),
    };

    private ConsentRecord Objection(string id, Purpose purpose) => new()
    {
        RecordId = id,
        CustomerId = Ann,
        Purpose = purpose,
        Status = ConsentStatus.Objected,
        LawfulBasis = LawfulBasis.LegitimateInterest,
        Source = "preference-centre",
        EffectiveAt = _clock.GetUtcNow(),
    };
}
