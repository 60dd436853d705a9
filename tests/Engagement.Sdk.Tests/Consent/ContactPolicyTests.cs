using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Tests.Consent;

public sealed class ContactPolicyTests
{
    private static readonly CustomerId Ann = new("ann");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");
    private static readonly Identifier AnnPhone = Identifier.Phone("+12025550143");

    [Fact]
    public async Task CheckAsync_MarketingSmsAt2230InNewYork_DefersTo0800NextMorningLocalTime()
    {
        var at = new DateTimeOffset(2026, 6, 10, 22, 30, 0, TimeSpan.FromHours(-4));
        var (gate, profile) = await GateWithSmsConsentAsync("America/New_York", at.AddDays(-1));

        var decision = await gate.CheckAsync(new PermissionRequest(profile, Channel.Sms, Purpose.Marketing, AnnPhone, at));

        decision.Verdict.Should().Be(PermissionVerdict.Defer);
        decision.Code.Should().Be(PermissionReasons.QuietHours);
        decision.DeferUntil.Should().Be(new DateTimeOffset(2026, 6, 11, 8, 0, 0, TimeSpan.FromHours(-4)));
    }

    [Fact]
    public async Task CheckAsync_QuietHoursAcrossSpringForward_ResumesAt0800LocalWithTheSummerOffset()
    {
        // Kyiv moves from +02:00 to +03:00 at 03:00 on 29 March 2026.
        var at = new DateTimeOffset(2026, 3, 28, 23, 0, 0, TimeSpan.FromHours(2));
        var (gate, profile) = await GateWithSmsConsentAsync("Europe/Kyiv", at.AddDays(-1));

        var decision = await gate.CheckAsync(new PermissionRequest(profile, Channel.Sms, Purpose.Marketing, AnnPhone, at));

        decision.DeferUntil.Should().Be(new DateTimeOffset(2026, 3, 29, 8, 0, 0, TimeSpan.FromHours(3)));
    }

    [Fact]
    public async Task CheckAsync_CustomerPausedMarketing_DefersMarketingUntilThePauseEndsButNotTransactional()
    {
        var at = new DateTimeOffset(2026, 6, 10, 12, 0, 0, TimeSpan.FromHours(3));
        var (gate, profile) = await GateWithSmsConsentAsync("Europe/Kyiv", at.AddDays(-1));
        var paused = ProfileUpdater.Apply(profile, new ProfileUpdated { EventId = "pause", CustomerId = Ann, Timestamp = at.AddHours(-1), PauseUntil = at.AddDays(14) });

        var marketing = await gate.CheckAsync(new PermissionRequest(paused, Channel.Sms, Purpose.Marketing, AnnPhone, at));
        var service = await gate.CheckAsync(new PermissionRequest(paused, Channel.Sms, Purpose.Transactional, AnnPhone, at));
        var afterwards = await gate.CheckAsync(new PermissionRequest(paused, Channel.Sms, Purpose.Marketing, AnnPhone, at.AddDays(14)));
        var resumed = ProfileUpdater.Apply(paused, new ProfileUpdated { EventId = "resume", CustomerId = Ann, Timestamp = at, PauseUntil = at.AddDays(-1) });

        marketing.Verdict.Should().Be(PermissionVerdict.Defer);
        marketing.Code.Should().Be(PermissionReasons.Paused);
        marketing.DeferUntil.Should().Be(at.AddDays(14));
        service.IsAllowed.Should().BeTrue();
        afterwards.IsAllowed.Should().BeTrue();
        resumed.PausedUntil.Should().BeNull("a pause that ends in the past clears it");
    }

    [Fact]
    public async Task CheckAsync_MarketingSmsAtNoonLocal_IsAllowed()
    {
        var at = new DateTimeOffset(2026, 6, 10, 12, 0, 0, TimeSpan.FromHours(3));
        var (gate, profile) = await GateWithSmsConsentAsync("Europe/Kyiv", at.AddDays(-1));

        (await gate.CheckAsync(new PermissionRequest(profile, Channel.Sms, Purpose.Marketing, AnnPhone, at))).IsAllowed.Should().BeTrue();
    }

    [Fact]
    public async Task CheckAsync_UnknownTimeZone_DeniesInsteadOfUsingTheSendersZone()
    {
        var at = new DateTimeOffset(2026, 6, 10, 12, 0, 0, TimeSpan.Zero);
        var (gate, profile) = await GateWithSmsConsentAsync(null, at.AddDays(-1));

        (await gate.CheckAsync(new PermissionRequest(profile, Channel.Sms, Purpose.Marketing, AnnPhone, at))).Code.Should().Be(PermissionReasons.TimeZoneUnknown);
    }

    [Fact]
    public async Task CheckAsync_CalendarDayCap_CountsTheRecipientsLocalDayAndDefersToLocalMidnight()
    {
        var policy = new ContactPolicyOptions();
        policy.Caps.Clear();
        policy.QuietHours.Clear();
        policy.Caps.Add(new FrequencyCap { Channel = Channel.Email, Limit = 1, Period = CapPeriod.CalendarDay });
        var consents = new InMemoryConsentStore();
        await consents.AppendAsync(EmailGrant(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)));
        var dispatches = new InMemoryDispatchStore();
        var gate = new PermissionGate(consents, dispatches, Options.Create(policy));
        var profile = CustomerProfile.New(Ann).WithIdentifier(AnnEmail) with { TimeZone = "Asia/Tokyo" };

        // 23:30 in Tokyo on 5 May is 14:30 UTC; one email then.
        var first = new DateTimeOffset(2026, 5, 5, 14, 30, 0, TimeSpan.Zero);
        await dispatches.TryBeginAsync(Dispatch("d1", first) with { Status = DispatchStatus.Sent, Attempts = 1, CompletedAt = first });

        var sameLocalDay = await gate.CheckAsync(new PermissionRequest(profile, Channel.Email, Purpose.Marketing, AnnEmail, first.AddMinutes(20)));
        sameLocalDay.Verdict.Should().Be(PermissionVerdict.Defer);
        sameLocalDay.DeferUntil.Should().Be(new DateTimeOffset(2026, 5, 6, 0, 0, 0, TimeSpan.FromHours(9)));

        var nextLocalDay = await gate.CheckAsync(new PermissionRequest(profile, Channel.Email, Purpose.Marketing, AnnEmail, first.AddMinutes(31)));
        nextLocalDay.IsAllowed.Should().BeTrue("00:01 in Tokyo is a new calendar day although fewer than 24 hours passed");
    }

    [Fact]
    public async Task CheckAsync_TransactionalMessage_IsNeverCapped()
    {
        var consents = new InMemoryConsentStore();
        var dispatches = new InMemoryDispatchStore();
        var gate = new PermissionGate(consents, dispatches, Options.Create(new ContactPolicyOptions()));
        var profile = CustomerProfile.New(Ann).WithIdentifier(AnnEmail);
        var at = new DateTimeOffset(2026, 5, 5, 12, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < 5; i++)
        {
            await dispatches.TryBeginAsync(Dispatch("t" + i, at.AddMinutes(-i)) with { Purpose = Purpose.Transactional });
        }

        (await gate.CheckAsync(new PermissionRequest(profile, Channel.Email, Purpose.Transactional, AnnEmail, at))).IsAllowed.Should().BeTrue();
    }

    [Fact]
    public void RollingCap_AnySequenceOfAttempts_NeverExceedsTheLimitInAnyWindow()
    {
        var attempts = Gen.ListOf(Gen.Choose(0, 72 * 60), 40).Select(minutes => minutes.Order().ToArray()).ToArbitrary();
        var property = Prop.ForAll(attempts, minutes =>
        {
            var policy = new ContactPolicyOptions();
            policy.Caps.Clear();
            policy.Caps.Add(new FrequencyCap { Channel = Channel.Email, Limit = 2, Window = TimeSpan.FromHours(6) });
            var consents = new InMemoryConsentStore();
            consents.AppendAsync(EmailGrant(Start.AddDays(-1))).AsTask().GetAwaiter().GetResult();
            var dispatches = new InMemoryDispatchStore();
            var gate = new PermissionGate(consents, dispatches, Options.Create(policy));
            var profile = CustomerProfile.New(Ann).WithIdentifier(AnnEmail);
            var sent = new List<DateTimeOffset>();
            foreach (var minute in minutes)
            {
                var at = Start.AddMinutes(minute);
                if (gate.CheckAsync(new PermissionRequest(profile, Channel.Email, Purpose.Marketing, AnnEmail, at)).AsTask().GetAwaiter().GetResult().IsAllowed)
                {
                    var id = "d" + sent.Count;
                    dispatches.TryBeginAsync(Dispatch(id, at)).AsTask().GetAwaiter().GetResult();
                    sent.Add(at);
                }
            }

            return sent.All(t => sent.Count(s => s > t - TimeSpan.FromHours(6) && s <= t) <= 2);
        });

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200), property);
    }

    [Fact]
    public async Task TrackAsync_ManyConcurrentTriggersForOneCustomer_NeverTakeMoreThanTheCap()
    {
        var clock = new LedgerClock(Start);
        var email = new InMemoryChannelSender(Channel.Email);
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.AddEngagement().AddChannel(email).UseActions(ActionCatalog.Create([
            new ActionDefinition { Id = "offer", Name = "Offer", Channels = [Channel.Email], Value = 5m, BasePropensity = 0.1 },
        ]));
        await using var provider = services.BuildServiceProvider();
        var engine = DeliveringEngine.From(provider);
        await engine.RecordConsentAsync(EmailGrant(Start.AddMinutes(-5)));

        var carts = Enumerable.Range(0, 64).Select(i => new AddedToCart
        {
            EventId = "cart-" + i,
            CustomerId = Ann,
            Timestamp = Start,
            Identifiers = [AnnEmail],
            ProductId = "sku-" + i,
        });
        var results = await Task.WhenAll(carts.Select(c => Task.Run(async () => await engine.TrackAsync(c))));

        email.Messages.Should().ContainSingle("the default cap is one marketing email per day");
        results.Count(r => r.Dispatch?.Result.Status == DispatchStatus.Queued).Should().Be(1, "one decision took the slot; the others were deferred");
    }

    private static readonly DateTimeOffset Start = new(2026, 2, 2, 9, 0, 0, TimeSpan.Zero);

    private static async Task<(PermissionGate Gate, CustomerProfile Profile)> GateWithSmsConsentAsync(string? zone, DateTimeOffset grantedAt)
    {
        var consents = new InMemoryConsentStore();
        await consents.AppendAsync(new ConsentRecord
        {
            RecordId = "sms",
            CustomerId = Ann,
            Channel = Channel.Sms,
            Purpose = Purpose.Marketing,
            Identifier = AnnPhone,
            Status = ConsentStatus.Granted,
            Source = "form",
            Evidence = new ConsentEvidence("v1", "form"),
            EffectiveAt = grantedAt,
        });
        var gate = new PermissionGate(consents, new InMemoryDispatchStore(), Options.Create(new ContactPolicyOptions()));
        return (gate, CustomerProfile.New(Ann).WithIdentifier(AnnPhone) with { TimeZone = zone });
    }

    private static ConsentRecord EmailGrant(DateTimeOffset at) => new()
    {
        RecordId = "email-grant",
        CustomerId = Ann,
        Channel = Channel.Email,
        Purpose = Purpose.Marketing,
        Identifier = AnnEmail,
        Status = ConsentStatus.Granted,
        Source = "form",
        Evidence = new ConsentEvidence("v1", "form"),
        EffectiveAt = at,
    };

    private static DispatchRecord Dispatch(string id, DateTimeOffset at) => new()
    {
        DispatchId = id,
        CustomerId = Ann,
        Channel = Channel.Email,
        Purpose = Purpose.Marketing,
        ActionId = "offer",
        CreatedAt = at,
    };
}
