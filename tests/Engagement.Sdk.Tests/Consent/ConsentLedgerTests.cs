using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Tests.Consent;

public sealed class ConsentLedgerTests
{
    private static readonly DateTimeOffset Now = new(2026, 4, 1, 10, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Ann = new("ann");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");
    private static readonly Identifier AnnPhone = Identifier.Phone("+44 20 7946 0018");
    private readonly LedgerClock _clock = new(Now);
    private readonly InMemoryConsentStore _store = new();
    private readonly InMemorySuppressionStore _suppressions = new();
    private readonly InMemoryProfileStore _profiles = new();
    private readonly EngagementOptions _options = new();

    private ConsentLedger Ledger => new(_store, _suppressions, _profiles, _clock, Options.Create(_options));

    [Fact]
    public async Task RecordAsync_GrantWithoutEvidence_IsRejectedAndNothingIsStored()
    {
        var act = async () => await Ledger.RecordAsync(Grant("g1") with { Evidence = null });

        (await act.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("evidence");
        (await _store.ReadAsync(Ann)).Should().BeEmpty();
    }

    [Fact]
    public async Task RecordAsync_GrantOnEmailWithoutAddress_IsRejected()
    {
        var act = async () => await Ledger.RecordAsync(Grant("g1") with { Identifier = null });

        (await act.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("identifier");
    }

    [Theory]
    [InlineData("future")]
    [InlineData("default")]
    public async Task RecordAsync_GrantAtAnImpossibleTime_IsRejected(string when)
    {
        var at = when == "future" ? Now.AddDays(1) : default;

        var act = async () => await Ledger.RecordAsync(Grant("g1") with { EffectiveAt = at });

        (await act.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("effectiveAt");
    }

    [Fact]
    public async Task RecordAsync_UnregisteredPurposeOrChannel_IsRejectedUntilRegistered()
    {
        var surveys = Grant("g1") with { Purpose = new Purpose("surveys") };
        var whatsapp = Grant("g2") with { Channel = new Channel("whatsapp"), Identifier = null };

        (await FluentActions.Awaiting(async () => await Ledger.RecordAsync(surveys)).Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("purpose");
        (await FluentActions.Awaiting(async () => await Ledger.RecordAsync(whatsapp)).Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("channel");

        _options.CustomPurposes.Add("surveys");
        _options.CustomChannels.Add("whatsapp");
        (await Ledger.RecordAsync(surveys)).Should().Be(AppendOutcome.Appended);
        (await Ledger.RecordAsync(whatsapp)).Should().Be(AppendOutcome.Appended);
    }

    [Fact]
    public async Task RecordAsync_SoftOptInWithoutOrderReference_IsRejected()
    {
        var record = Grant("g1") with { LawfulBasis = LawfulBasis.SoftOptIn };

        (await FluentActions.Awaiting(async () => await Ledger.RecordAsync(record)).Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("evidence.orderReference");
        (await Ledger.RecordAsync(record with { Evidence = record.Evidence! with { OrderReference = "order-17" } })).Should().Be(AppendOutcome.Appended);
    }

    [Fact]
    public async Task RecordAsync_SameRecordTwice_IsOneEntryAndAChangedReuseIsAConflict()
    {
        (await Ledger.RecordAsync(Grant("g1"))).Should().Be(AppendOutcome.Appended);
        (await Ledger.RecordAsync(Grant("g1"))).Should().Be(AppendOutcome.Duplicate);
        await FluentActions.Awaiting(async () => await Ledger.RecordAsync(Grant("g1") with { Source = "other" })).Should().ThrowAsync<ConsentConflictException>();
        (await _store.ReadAsync(Ann)).Should().ContainSingle();
    }

    [Fact]
    public async Task DoubleOptIn_ConfirmedOnce_GrantsAndTheTokenCannotBeReused()
    {
        var start = await Ledger.StartDoubleOptInAsync(Ann, Channel.Email, Purpose.Marketing, AnnEmail, new ConsentEvidence("v1", "newsletter-form"), TimeSpan.FromDays(2));
        (await Ledger.GetStateAsync(Ann)).Evaluate(Channel.Email, Purpose.Marketing, AnnEmail, Now).IsAllowed.Should().BeFalse();

        _clock.Now = Now.AddHours(3);
        (await Ledger.ConfirmDoubleOptInAsync(Ann, AnnEmail, start.Token)).Should().Be(DoubleOptInOutcome.Confirmed);
        (await Ledger.ConfirmDoubleOptInAsync(Ann, AnnEmail, start.Token)).Should().Be(DoubleOptInOutcome.AlreadyUsed);

        var state = await Ledger.GetStateAsync(Ann);
        var verdict = state.Evaluate(Channel.Email, Purpose.Marketing, AnnEmail, _clock.Now);
        verdict.IsAllowed.Should().BeTrue();
        verdict.Record!.Evidence!.ConfirmedAt.Should().Be(_clock.Now);
        verdict.Record.Evidence.ConfirmsRecordId.Should().Be(start.RecordId);
        state.Records.Should().NotContain(r => r.Evidence != null && r.Evidence.TokenHash == start.Token, "only the token's hash is stored");
    }

    [Fact]
    public async Task DoubleOptIn_WrongAddressExpiredOrUnknownToken_DoesNotGrant()
    {
        var start = await Ledger.StartDoubleOptInAsync(Ann, Channel.Email, Purpose.Marketing, AnnEmail, new ConsentEvidence("v1", "form"), TimeSpan.FromHours(1));

        (await Ledger.ConfirmDoubleOptInAsync(Ann, Identifier.Email("mallory@example.com"), start.Token)).Should().Be(DoubleOptInOutcome.WrongIdentifier);
        (await Ledger.ConfirmDoubleOptInAsync(Ann, AnnEmail, "not-a-token")).Should().Be(DoubleOptInOutcome.UnknownToken);
        _clock.Now = Now.AddHours(2);
        (await Ledger.ConfirmDoubleOptInAsync(Ann, AnnEmail, start.Token)).Should().Be(DoubleOptInOutcome.Expired);
        (await Ledger.GetStateAsync(Ann)).Evaluate(Channel.Email, Purpose.Marketing, AnnEmail, _clock.Now).IsAllowed.Should().BeFalse();
    }

    [Fact]
    public async Task DoubleOptIn_WithdrawnBeforeConfirmation_IsSuperseded()
    {
        var start = await Ledger.StartDoubleOptInAsync(Ann, Channel.Email, Purpose.Marketing, AnnEmail, new ConsentEvidence("v1", "form"), TimeSpan.FromDays(1));
        _clock.Now = Now.AddMinutes(5);
        await Ledger.RecordAsync(Grant("w1") with { Status = ConsentStatus.Withdrawn, Evidence = null, EffectiveAt = _clock.Now });
        _clock.Now = Now.AddMinutes(10);

        (await Ledger.ConfirmDoubleOptInAsync(Ann, AnnEmail, start.Token)).Should().Be(DoubleOptInOutcome.Superseded);
    }

    [Theory]
    [InlineData("STOP")]
    [InlineData("  stop ")]
    [InlineData("Unsubscribe")]
    [InlineData("cancel")]
    [InlineData("END")]
    [InlineData("quit")]
    [InlineData("Stop.")]
    public async Task HandleInboundSmsAsync_OptOutKeyword_WithdrawsSmsMarketingForThatNumberAtOnce(string text)
    {
        await _profiles.SaveAsync(CustomerProfile.New(Ann).WithIdentifier(AnnPhone));
        await Ledger.RecordAsync(Grant("g-sms") with { Channel = Channel.Sms, Identifier = AnnPhone });

        (await Ledger.HandleInboundSmsAsync(AnnPhone, text)).Should().Be(InboundSmsOutcome.Withdrawn);

        var verdict = (await Ledger.GetStateAsync(Ann)).Evaluate(Channel.Sms, Purpose.Marketing, AnnPhone, Now);
        verdict.Code.Should().Be(PermissionReasons.Withdrawn);
    }

    [Theory]
    [InlineData("STOP sending me the blue one")]
    [InlineData("yes")]
    [InlineData("")]
    public async Task HandleInboundSmsAsync_OtherText_ChangesNothing(string text)
    {
        (await Ledger.HandleInboundSmsAsync(AnnPhone, text)).Should().Be(InboundSmsOutcome.NotAKeyword);
        (await _store.ReadAsync(Ann)).Should().BeEmpty();
    }

    [Fact]
    public async Task HandleInboundSmsAsync_UnknownNumber_SuppressesItForMarketingOnly()
    {
        (await Ledger.HandleInboundSmsAsync(AnnPhone, "STOP")).Should().Be(InboundSmsOutcome.Suppressed);

        var gate = Gate();
        var profile = CustomerProfile.New(Ann).WithIdentifier(AnnPhone) with { TimeZone = "Europe/London" };
        await Ledger.RecordAsync(Grant("g-sms") with { Channel = Channel.Sms, Identifier = AnnPhone });
        (await gate.CheckAsync(new PermissionRequest(profile, Channel.Sms, Purpose.Marketing, AnnPhone, Now))).Code.Should().Be(PermissionReasons.Suppressed);
        (await gate.CheckAsync(new PermissionRequest(profile, Channel.Sms, Purpose.Transactional, AnnPhone, Now))).IsAllowed.Should().BeTrue();
    }

    [Fact]
    public async Task SuppressAsync_HardBounce_BlocksEvenTransactionalButLeavesTheCustomersOwnRecordsAlone()
    {
        await Ledger.RecordAsync(Grant("g1"));
        _clock.Now = Now.AddMinutes(1);
        await Ledger.SuppressAsync(AnnEmail, SuppressionReason.HardBounce, "email-provider");

        var profile = CustomerProfile.New(Ann).WithIdentifier(AnnEmail);
        (await Gate().CheckAsync(new PermissionRequest(profile, Channel.Email, Purpose.Transactional, AnnEmail, _clock.Now))).Code.Should().Be(PermissionReasons.Suppressed);
        (await _store.ReadAsync(Ann)).Should().ContainSingle().Which.Status.Should().Be(ConsentStatus.Granted);
    }

    [Fact]
    public async Task RecordGlobalPrivacyControlAsync_ObjectsToSaleAndSharingOnEveryChannel()
    {
        await Ledger.RecordGlobalPrivacyControlAsync(Ann, "Sec-GPC header");

        var state = await Ledger.GetStateAsync(Ann);
        state.Evaluate(Channel.Web, Purpose.SaleSharing, null, Now).Code.Should().Be(PermissionReasons.Objected);
        state.Evaluate(Channel.Email, Purpose.SaleSharing, AnnEmail, Now).Code.Should().Be(PermissionReasons.Objected);
    }

    [Fact]
    public async Task ExportThenImport_IntoAnEmptyStore_ReproducesTheLedger()
    {
        await Ledger.RecordAsync(Grant("g1"));
        _clock.Now = Now.AddHours(1);
        await Ledger.RecordAsync(Grant("w1") with { Status = ConsentStatus.Withdrawn, Evidence = null, EffectiveAt = _clock.Now });
        var json = ConsentLedger.ToJson(await Ledger.ExportAsync(Ann));

        var fresh = new ConsentLedger(new InMemoryConsentStore(), new InMemorySuppressionStore(), new InMemoryProfileStore(), _clock, Options.Create(new EngagementOptions()));
        (await fresh.ImportAsync(ConsentLedger.FromJson(json))).Should().Be(2);

        (await fresh.GetStateAsync(Ann)).Records.Should().BeEquivalentTo((await Ledger.GetStateAsync(Ann)).Records);
        System.Text.Encoding.UTF8.GetString(json).Should().Contain("\"schemaVersion\":1").And.Contain("\"records\"");
    }

    [Fact]
    public void Decide_SameQuestionOnOneState_ReusesTheExplanationAndADifferentOneGetsItsOwn()
    {
        var state = ConsentState.Fold(Ann, [Grant("g1")]);
        var profile = CustomerProfile.New(Ann).WithIdentifier(AnnEmail).WithIdentifier(AnnPhone);
        var email = new PermissionRequest(profile, Channel.Email, Purpose.Marketing, AnnEmail, Now);

        var first = ConsentDecision.Decide(state, email);
        var again = ConsentDecision.Decide(state, email with { At = Now.AddMinutes(5) });
        var sms = ConsentDecision.Decide(state, new PermissionRequest(profile, Channel.Sms, Purpose.Marketing, AnnPhone, Now));
        var emailAfterSms = ConsentDecision.Decide(state, email);

        again.Should().BeSameAs(first, "the same verdict on the same channel and purpose has the same explanation");
        first.IsAllowed.Should().BeTrue();
        first.Reasons.Single().Detail.Should().Contain("'g1'");
        sms.IsAllowed.Should().BeFalse();
        sms.Code.Should().Be(PermissionReasons.NoConsent);
        sms.Reasons.Single().Detail.Should().Contain("on sms");
        emailAfterSms.Should().BeEquivalentTo(first);
    }

    private PermissionGate Gate() => new(_store, new InMemoryDispatchStore(), Options.Create(new ContactPolicyOptions()), _suppressions);

    private static ConsentRecord Grant(string id) => new()
    {
        RecordId = id,
        CustomerId = Ann,
        Channel = Channel.Email,
        Purpose = Purpose.Marketing,
        Identifier = AnnEmail,
        Status = ConsentStatus.Granted,
        Source = "signup-form",
        Evidence = new ConsentEvidence("notice-v3", "signup-form"),
        EffectiveAt = Now.AddMinutes(-1),
    };
}

/// <summary>A clock the tests set by hand.</summary>
internal sealed class LedgerClock(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}
