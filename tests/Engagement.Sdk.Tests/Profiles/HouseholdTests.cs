using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Households;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Sdk.Tests.Profiles;

/// <summary>A family that shares an e-mail address: two people, one address, choices about the address that hold for both.</summary>
public sealed class HouseholdTests : IAsyncDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Ann = new("ann");
    private static readonly CustomerId Bob = new("bob");
    private static readonly Identifier Family = Identifier.Email("smiths@example.com");
    private readonly ManualTimeProvider _clock = new(Start);
    private readonly ServiceProvider _provider;
    private int _next;

    public HouseholdTests()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_clock);
        services.AddEngagement();
        services.Configure<ContactPolicyOptions>(o =>
        {
            o.Caps.Clear();
            o.Caps.Add(new FrequencyCap { Channel = Channel.Email, Limit = 1, Window = TimeSpan.FromDays(7), PerHousehold = true });
        });
        _provider = services.BuildServiceProvider();
    }

    private IEngagementEngine Engine => _provider.GetRequiredService<IEngagementEngine>();

    private HouseholdRegistry Households => _provider.GetRequiredService<HouseholdRegistry>();

    private IPermissionGate Gate => _provider.GetRequiredService<IPermissionGate>();

    public ValueTask DisposeAsync() => _provider.DisposeAsync();

    [Fact]
    public async Task SharedFamilyEmail_DoesNotMergeTheMembers_AndEveryHolderIsFound()
    {
        await Engine.TrackAsync(View(Ann, Identifier.Phone("+380671111111")));
        await Engine.TrackAsync(View(Bob, Identifier.Phone("+380672222222")));
        await Households.CreateAsync("smiths", [Ann, Bob], [Family]);

        var annWithFamily = await Engine.TrackAsync(View(Ann, Family));
        var bobWithFamily = await Engine.TrackAsync(View(Bob, Family));

        annWithFamily.Profile!.Id.Should().Be(Ann);
        bobWithFamily.Profile!.Id.Should().Be(Bob, "the family's address identifies the household, not one person");
        bobWithFamily.Identity!.Merges.Should().BeEmpty();
        (await Households.FindHoldersAsync(Identifier.Email("SMITHS@example.com"))).Select(p => p.Id).Should().Equal(Ann, Bob);
    }

    [Fact]
    public async Task OptOutOfTheSharedAddressByOneMember_StopsMarketingToItThroughTheOther()
    {
        var (ann, bob) = await FamilyAsync();
        await Engine.RecordConsentAsync(Grant("g-ann", Ann));
        await Engine.RecordConsentAsync(Grant("g-bob", Bob));
        (await Gate.CheckAsync(Request(bob, Purpose.Marketing))).IsAllowed.Should().BeTrue();
        _clock.Advance(TimeSpan.FromMinutes(1));

        await Engine.RecordConsentAsync(Grant("unsubscribe", Ann) with { Status = ConsentStatus.Withdrawn, Evidence = null, EffectiveAt = _clock.GetUtcNow() });

        (await Gate.CheckAsync(Request(bob, Purpose.Marketing))).Code.Should().Be(PermissionReasons.Withdrawn, "Ann unsubscribed the address Bob is reached at too");
        (await Gate.CheckAsync(Request(bob, Purpose.Transactional))).IsAllowed.Should().BeTrue();
        (await Gate.CheckAsync(Request(bob, Purpose.Marketing) with { Channel = Channel.Sms, Address = Identifier.Phone("+380672222222") })).Code.Should().NotBe(PermissionReasons.Withdrawn, "his own phone is not the shared address");
    }

    [Fact]
    public async Task BounceOfTheSharedAddress_AppliesToEveryHolder_AndACapCountsTheHousehold()
    {
        var (ann, bob) = await FamilyAsync();
        await Engine.RecordConsentAsync(Grant("g-ann", Ann));
        await Engine.RecordConsentAsync(Grant("g-bob", Bob));
        var dispatches = _provider.GetRequiredService<IDispatchStore>();
        await dispatches.TryBeginAsync(new DispatchRecord { DispatchId = "d-ann", CustomerId = Ann, ActionId = "offer", Channel = Channel.Email, Purpose = Purpose.Marketing, CreatedAt = _clock.GetUtcNow(), Status = DispatchStatus.Sent });

        (await Gate.CheckAsync(Request(bob, Purpose.Marketing))).Code.Should().Be(PermissionReasons.FrequencyCap, "one marketing e-mail a week to the family, and Ann had it");

        await _provider.GetRequiredService<ConsentLedger>().SuppressAsync(Identifier.Email("Smiths@Example.com"), SuppressionReason.HardBounce, "esp");
        (await Gate.CheckAsync(Request(bob, Purpose.Transactional))).Code.Should().Be(PermissionReasons.Suppressed);
        (await Gate.CheckAsync(Request(ann, Purpose.Transactional))).Code.Should().Be(PermissionReasons.Suppressed);
    }

    [Fact]
    public async Task ExportAndErasureOfOneMember_LeaveTheOtherIntact_AndKeepTheirOptOutOfTheAddress()
    {
        var (_, bob) = await FamilyAsync();
        await Engine.RecordConsentAsync(Grant("g-bob", Bob));
        await Engine.RecordConsentAsync(Grant("w-ann", Ann) with { Status = ConsentStatus.Withdrawn, Evidence = null });

        var export = await _provider.GetRequiredService<CustomerDataPortability>().ExportAsync(Ann);
        export.Household.Should().Be(new HouseholdMembership("smiths", [Family]) with { SharedIdentifiers = export.Household!.SharedIdentifiers });
        export.Household.SharedIdentifiers.Should().Equal(Family);
        var json = System.Text.Encoding.UTF8.GetString(CustomerDataPortability.ToJson(export));
        json.Should().NotContain("\"bob\"", "the other member is another person and is not in Ann's export");

        await _provider.GetRequiredService<CustomerErasure>().EraseAsync(Ann);

        (await Households.FindAsync(Bob))!.Members.Should().Equal(Bob);
        (await _provider.GetRequiredService<IProfileStore>().GetAsync(Bob))!.Identifiers.Should().Contain(Family);
        (await Gate.CheckAsync(Request(bob, Purpose.Transactional))).IsAllowed.Should().BeTrue("the family's address is Bob's too: the erasure of Ann does not suppress it");
        (await Gate.CheckAsync(Request(bob, Purpose.Marketing))).Code.Should().Be(PermissionReasons.Suppressed, "Ann's opt-out of the address stays with it");
    }

    [Fact]
    public async Task BadInput_MemberOfAnotherTenantOrHouseholdAndAnIdentifierClaimedTwice_AreTypedErrorsThatWriteNothing()
    {
        await FamilyAsync();
        var carl = new CustomerId("carl");
        await Engine.TrackAsync(View(carl, Identifier.Phone("+380673333333")));

        var stranger = await FluentActions.Awaiting(() => Households.CreateAsync("jones", [carl, new CustomerId("tenant-b:dave")], []).AsTask()).Should().ThrowAsync<EngagementValidationException>();
        stranger.Which.Field.Should().Be("members[1]");
        stranger.Which.Rule.Should().Contain("another tenant");
        var twice = await FluentActions.Awaiting(() => Households.CreateAsync("jones", [carl, Bob], []).AsTask()).Should().ThrowAsync<EngagementValidationException>();
        twice.Which.Field.Should().Be("members[1]");
        twice.Which.Rule.Should().Contain("'smiths'");
        var claimed = await FluentActions.Awaiting(() => Households.CreateAsync("jones", [carl], [Identifier.Email("SMITHS@example.com")]).AsTask()).Should().ThrowAsync<EngagementValidationException>();
        claimed.Which.Field.Should().Be("sharedIdentifiers[0]");
        (await FluentActions.Awaiting(() => Households.CreateAsync("smiths", [carl], []).AsTask()).Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("householdId");

        (await Households.FindAsync(carl)).Should().BeNull("nothing was written");
        (await _provider.GetRequiredService<IHouseholdStore>().GetAsync("jones")).Should().BeNull();
    }

    private async Task<(CustomerProfile Ann, CustomerProfile Bob)> FamilyAsync()
    {
        var ann = (await Engine.TrackAsync(View(Ann, Family))).Profile!;
        var bob = (await Engine.TrackAsync(View(Bob, Identifier.Phone("+380672222222")))).Profile!;
        await Households.CreateAsync("smiths", [Ann, Bob], [Family]);
        bob = (await Engine.TrackAsync(View(Bob, Family))).Profile!;
        bob.Id.Should().Be(Bob);
        return (ann with { TimeZone = "Europe/Kyiv" }, bob with { TimeZone = "Europe/Kyiv" });
    }

    private PermissionRequest Request(CustomerProfile profile, Purpose purpose) => new(profile, Channel.Email, purpose, Family, _clock.GetUtcNow());

    private ProductViewed View(CustomerId customer, Identifier identifier)
        => new() { EventId = "e" + Interlocked.Increment(ref _next), CustomerId = customer, Timestamp = _clock.GetUtcNow(), Identifiers = [identifier], ProductId = "boots" };

    private ConsentRecord Grant(string id, CustomerId customer) => new()
    {
        RecordId = id,
        CustomerId = customer,
        Channel = Channel.Email,
        Identifier = Family,
        Purpose = Purpose.Marketing,
        Status = ConsentStatus.Granted,
        Source = "signup-form",
        Evidence = new ConsentEvidence("notice-v1", "signup-form"),
        EffectiveAt = _clock.GetUtcNow().AddMinutes(-5),
    };
}
