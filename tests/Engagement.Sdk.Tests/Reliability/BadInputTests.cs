using System.Text;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Sdk.Tests.Reliability;

/// <summary>
/// The numbered list of bad inputs and faults of the reliability requirements (section 4), one test per item, on the default
/// (in-memory) stores: each is a typed error naming the field, with nothing written, or the documented behaviour. Items about
/// storage also run on SQLite and PostgreSQL (<see cref="Testing.Conformance.BadInputConformanceTests"/>). Items 36–39 and
/// 43–46 (channels, caps, the outbox) are covered by the test classes named in docs/reliability.md.
/// </summary>
public sealed class BadInputTests : IAsyncDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Ann = new("ann");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");
    private readonly FakeTimeProvider _clock = new(Now);
    private readonly ServiceProvider _services;

    public BadInputTests()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_clock);
        services.AddEngagement();
        _services = services.BuildServiceProvider();
    }

    private IEngagementEngine Engine => _services.GetRequiredService<IEngagementEngine>();

    private ConsentLedger Ledger => _services.GetRequiredService<ConsentLedger>();

    public ValueTask DisposeAsync() => _services.DisposeAsync();

    // A valid purchase as JSON, to be spoiled by each test.
    private static string PurchaseJson(string amount = "12.5", string currency = "\"EUR\"") =>
        $$$"""{"type":"purchased","eventId":"e1","customerId":"ann","timestamp":"2026-06-01T11:00:00Z","orderId":"o1","lines":[{"productId":"boots","quantity":1,"unitPrice":{"amount":{{{amount}}},"currency":{{{currency}}}}}]}""";

    private static EngagementValidationException ParseFails(string json)
    {
        var act = () => EventJson.Deserialize(Encoding.UTF8.GetBytes(json));
        return act.Should().Throw<EngagementValidationException>().Which;
    }

    private async Task<EngagementValidationException> TrackFailsAsync(EngagementEvent e)
    {
        var act = async () => await Engine.TrackAsync(e);
        var error = (await act.Should().ThrowAsync<EngagementValidationException>()).Which;
        await NothingWrittenAsync(e.CustomerId);
        return error;
    }

    private async Task NothingWrittenAsync(CustomerId customer)
    {
        (await _services.GetRequiredService<IEventStore>().ReadAsync(customer).ToListAsync()).Should().BeEmpty("nothing of a rejected input is stored");
        (await _services.GetRequiredService<IProfileStore>().GetAsync(customer)).Should().BeNull();
        (await _services.GetRequiredService<IConsentStore>().ReadAsync(customer)).Should().BeEmpty();
        (await _services.GetRequiredService<IDispatchStore>().ListAsync(customer, DateTimeOffset.MinValue)).Should().BeEmpty();
    }

    private static ProductViewed View(string id = "e1", DateTimeOffset? at = null) => new() { EventId = id, CustomerId = Ann, Timestamp = at ?? Now.AddMinutes(-1), ProductId = "boots" };

    private static Purchased Order(decimal amount, string currency = "EUR", string id = "o1") =>
        new() { EventId = "p-" + id, CustomerId = Ann, Timestamp = Now.AddMinutes(-1), OrderId = id, Lines = [new OrderLine("boots", 1, Money.Of(amount, currency))] };

    private static ConsentRecord Grant(string id, DateTimeOffset at) => new()
    {
        RecordId = id, CustomerId = Ann, Channel = Channel.Email, Purpose = Purpose.Marketing, Identifier = AnnEmail,
        Status = ConsentStatus.Granted, Source = "form", Evidence = new ConsentEvidence("v1", "form"), EffectiveAt = at,
    };

    private static ConsentRecord Withdrawal(string id, DateTimeOffset at) => Grant(id, at) with { Status = ConsentStatus.Withdrawn, Evidence = null };

    private async Task<ConsentVerdict> MarketingEmailAsync(Identifier? address = null, DateTimeOffset? at = null)
        => (await Ledger.GetStateAsync(Ann)).Evaluate(Channel.Email, Purpose.Marketing, address ?? AnnEmail, at ?? _clock.GetUtcNow());

    [Theory]
    [InlineData("{\"type\":\"purchased\",\"eventId\":\"e1\",\"customerId\":\"ann@example.com\"")]
    [InlineData("{\"type\":\"product_viewed\",\"eventId\":\"e1\",\"customerId\":\"ann@example.com\",}")]
    [InlineData("{\"type\":\"product_viewed\",\uFEFF\"eventId\":\"e1\",\"customerId\":\"ann@example.com\"}")]
    public void Item01_MalformedJson_IsATypedErrorWithoutThePayload(string json)
    {
        var error = ParseFails(json);

        error.Message.Should().NotContain("ann@example.com", "an error message holds no personal data from the payload");
    }

    [Fact]
    public void Item02_DuplicateJsonKeys_AreRejectedNotLastWins()
        => ParseFails(PurchaseJson().Replace("\"quantity\":1", "\"quantity\":1,\"quantity\":5", StringComparison.Ordinal)).Field.Should().Contain("quantity");

    [Fact]
    public void Item03_TooDeepTooLongOrTooLarge_IsRejectedBeforeItIsMaterialised()
    {
        ParseFails(PurchaseJson().Replace("\"boots\"", new string('[', 70) + new string(']', 70), StringComparison.Ordinal));
        var act = () => EventJson.Deserialize(Encoding.UTF8.GetBytes(PurchaseJson().Replace("\"boots\"", "[" + string.Join(',', Enumerable.Repeat("0", 1_000_000)) + "]", StringComparison.Ordinal)));
        act.Should().Throw<EngagementValidationException>("a million-element array is far above the size cap");
        var huge = new byte[50 * 1024 * 1024];
        var big = () => EventJson.Deserialize(huge);
        big.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("payload");
    }

    [Theory]
    [InlineData("\"12.50\"", "amount")]
    [InlineData("true", "amount")]
    public void Item04_WrongTypes_AreNotCoerced(string amount, string field)
        => ParseFails(PurchaseJson(amount)).Field.Should().Contain(field);

    [Fact]
    public void Item04_UnknownField_IsRejected()
        => ParseFails(PurchaseJson().Replace("\"orderId\"", "\"coupon\":\"x\",\"orderId\"", StringComparison.Ordinal)).Field.Should().Be("coupon");

    [Fact]
    public async Task Item05_UnknownTypeOrFutureSchema_IsATypedErrorAndTheRestOfTheBatchContinues()
    {
        ParseFails("""{"type":"teleported","eventId":"e1","customerId":"ann","timestamp":"2026-06-01T11:00:00Z"}""");
        ParseFails(PurchaseJson().Replace("{\"type\":\"purchased\",", "{\"type\":\"purchased\",\"schemaVersion\":9,", StringComparison.Ordinal)).Field.Should().Be("schemaVersion");

        var batch = await Engine.TrackBatchAsync([View("ok-1"), View("bad") with { ProductId = "" }, View("ok-2")]);

        batch.Select(r => r.IsSuccess).Should().Equal(true, false, true);
        batch[1].Error.Should().BeOfType<EngagementValidationException>();
    }

    [Theory]
    [InlineData("eventId")]
    [InlineData("customerId")]
    [InlineData("timestamp")]
    public void Item06_MissingIdSubjectOrTimestamp_IsRejected(string field)
    {
        var json = PurchaseJson();
        var start = json.IndexOf($"\"{field}\":", StringComparison.Ordinal);
        var end = json.IndexOf(',', start);

        ParseFails(json.Remove(start, end - start + 1));
    }

    [Theory]
    [InlineData("NaN")]
    [InlineData("\"NaN\"")]
    [InlineData("Infinity")]
    [InlineData("-Infinity")]
    public void Item07_NamedFloatingPointLiterals_AreRejected(string amount)
        => ParseFails(PurchaseJson(amount));

    [Fact]
    public async Task Item08_NegativePurchaseAmount_OrARefundBeyondItsOrder_IsRejected()
    {
        (await TrackFailsAsync(Order(-5m))).Field.Should().Contain("unitPrice");
        await TrackFailsAsync(new Refunded { EventId = "r1", CustomerId = Ann, Timestamp = Now.AddMinutes(-1), OrderId = "never-placed", Amount = Money.Of(5m, "EUR") });
    }

    [Fact]
    public async Task Item09_OverflowAndExcessPrecision_AreRejected()
    {
        ParseFails(PurchaseJson("1e308"));
        await TrackFailsAsync(Order(Money.MaxAmount + 1m));
        await TrackFailsAsync(Order(0.0000001m));
        Money.Of(1.005m, "EUR").Round().Amount.Should().Be(1.01m, "rounding to minor units is half away from zero");
        Money.Of(1.5m, "JPY").Round().Amount.Should().Be(2m);
        Money.Of(1.0005m, "BHD").Round().Amount.Should().Be(1.001m);
    }

    [Fact]
    public async Task Item10_UnknownCurrencyOrAnotherCurrency_IsRejected()
    {
        ParseFails(PurchaseJson(currency: "\"XYZ\"")).Field.Should().Contain("currency");
        ParseFails(PurchaseJson(currency: "null"));
        (await TrackFailsAsync(Order(5m, "USD"))).Field.Should().Be("currency");
    }

    [Fact]
    public async Task Item11_NegativeZeroOrZeroValueOrder_CountsAsAnOrderWithNoValue()
    {
        var result = await Engine.TrackAsync(Order(-0.0m));

        result.Profile!.Behaviour.Orders.Should().Be(1);
        result.Profile.Behaviour.Revenue!.Value.Amount.Should().Be(0m);
        decimal.IsNegative(result.Profile.Behaviour.Revenue!.Value.Amount).Should().BeFalse("-0 is normalised to 0");
    }

    [Fact]
    public async Task Item12_TimestampFarInTheFuture_IsRejected()
    {
        (await TrackFailsAsync(View(at: new DateTimeOffset(9999, 1, 1, 0, 0, 0, TimeSpan.Zero)))).Field.Should().Be("timestamp");
        (await TrackFailsAsync(View(at: Now.AddMinutes(6)))).Field.Should().Be("timestamp");
        var act = async () => await Ledger.RecordAsync(Grant("g", Now.AddYears(1)));
        (await act.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("effectiveAt");
        await NothingWrittenAsync(Ann);
    }

    [Fact]
    public async Task Item13_DefaultOrEpochTimestamp_IsRejected()
    {
        (await TrackFailsAsync(View(at: default(DateTimeOffset)))).Field.Should().Be("timestamp");
        (await TrackFailsAsync(View(at: DateTimeOffset.UnixEpoch))).Field.Should().Be("timestamp");
        var act = async () => await Ledger.RecordAsync(Grant("g", default));
        (await act.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("effectiveAt");
    }

    [Fact]
    public void Item14_TimestampWithoutOffset_IsRejected()
        => ParseFails(PurchaseJson().Replace("2026-06-01T11:00:00Z", "2026-06-01T11:00:00", StringComparison.Ordinal)).Field.Should().Be("timestamp");

    [Fact]
    public async Task Item16_WindowOpeningInTheRepeatedHourOfAFallBack_OpensAtTheEarlierOccurrenceNeverInThePast()
    {
        // New York repeats 01:00-02:00 on 1 November 2026 (EDT -04:00, then EST -05:00). A window from 01:30 opens at the
        // first 01:30; in the second pass of the hour (the recipient's clock reads 01:15 again) it is quiet again until the
        // second 01:30, and the deferral never points to an instant already gone by.
        var policy = new ContactPolicyOptions();
        policy.QuietHours.Clear();
        policy.QuietHours.Add(new QuietHours { Channel = Channel.Sms, Purpose = Purpose.Marketing, Start = new TimeOnly(1, 30), End = new TimeOnly(21, 0) });
        var phone = Identifier.Phone("+12025550123");
        await Ledger.RecordAsync(Grant("g", Now.AddDays(-1)) with { Channel = Channel.Sms, Identifier = phone });
        var gate = new PermissionGate(_services.GetRequiredService<IConsentStore>(), new InMemoryDispatchStore(), Options.Create(policy), new InMemorySuppressionStore());
        var profile = CustomerProfile.New(Ann) with { TimeZone = "America/New_York", Identifiers = [phone] };

        var early = await gate.CheckAsync(new PermissionRequest(profile, Channel.Sms, Purpose.Marketing, phone, new DateTimeOffset(2026, 11, 1, 0, 45, 0, TimeSpan.FromHours(-4))));
        var inTheSecondPass = await gate.CheckAsync(new PermissionRequest(profile, Channel.Sms, Purpose.Marketing, phone, new DateTimeOffset(2026, 11, 1, 1, 15, 0, TimeSpan.FromHours(-5))));

        early.DeferUntil.Should().Be(new DateTimeOffset(2026, 11, 1, 1, 30, 0, TimeSpan.FromHours(-4)));
        inTheSecondPass.DeferUntil.Should().Be(new DateTimeOffset(2026, 11, 1, 1, 30, 0, TimeSpan.FromHours(-5)), "in the second pass of the hour the clock reads 01:15 again: the window opens at the second 01:30, never at an instant gone by");
    }

    [Fact]
    public async Task Item17_UnknownTimeZone_DeniesMarketingSmsNeverFallsBack()
    {
        var phone = Identifier.Phone("+12025550123");
        await Ledger.RecordAsync(Grant("g", Now.AddDays(-1)) with { Channel = Channel.Sms, Identifier = phone });
        var gate = _services.GetRequiredService<IPermissionGate>();

        foreach (var zone in new[] { "Mars/Base", "Pacific Standard Time", "" })
        {
            var profile = CustomerProfile.New(Ann) with { TimeZone = zone, Identifiers = [phone] };
            var decision = await gate.CheckAsync(new PermissionRequest(profile, Channel.Sms, Purpose.Marketing, phone, Now));
            decision.IsAllowed.Should().BeFalse(zone);
        }
    }

    [Theory]
    [InlineData(7, 59, false)]
    [InlineData(8, 0, true)]
    [InlineData(20, 59, true)]
    [InlineData(21, 0, false)]
    public async Task Item19_QuietHourBoundaries_AreHalfOpen(int hour, int minute, bool allowed)
    {
        var phone = Identifier.Phone("+12025550123");
        await Ledger.RecordAsync(Grant("g", Now.AddDays(-1)) with { Channel = Channel.Sms, Identifier = phone });
        var profile = CustomerProfile.New(Ann) with { TimeZone = "Etc/UTC", Identifiers = [phone] };
        var at = new DateTimeOffset(2026, 6, 1, hour, minute, 0, TimeSpan.Zero);

        var decision = await _services.GetRequiredService<IPermissionGate>().CheckAsync(new PermissionRequest(profile, Channel.Sms, Purpose.Marketing, phone, at));

        decision.IsAllowed.Should().Be(allowed);
    }

    [Fact]
    public async Task Item20_ClockSkew_AGrantDatedAheadNeverOverridesALaterWithdrawal()
    {
        await Ledger.RecordAsync(Grant("g", Now.AddMinutes(4)));
        _clock.Advance(TimeSpan.FromSeconds(30));
        await Ledger.RecordAsync(Withdrawal("w", Now.AddMinutes(1)));

        (await MarketingEmailAsync(at: Now.AddMinutes(10))).Code.Should().Be(PermissionReasons.Withdrawn);
    }

    [Fact]
    public async Task Item21_ClockJumpsBack_RecordingOrderStaysMonotonic()
    {
        var clock = new SettableClock(Now);
        var store = new InMemoryConsentStore();
        var ledger = new ConsentLedger(store, new InMemorySuppressionStore(), new InMemoryProfileStore(), clock, Options.Create(new EngagementOptions()));
        await ledger.RecordAsync(Grant("g", Now));
        clock.Now = Now.AddMinutes(-30);
        await ledger.RecordAsync(Withdrawal("w", Now.AddMinutes(-30)));

        var records = await store.ReadAsync(Ann);
        records[1].RecordedAt.Should().BeAfter(records[0].RecordedAt!.Value);
        (await ledger.GetStateAsync(Ann)).Evaluate(Channel.Email, Purpose.Marketing, AnnEmail, Now.AddHours(1)).Code.Should().Be(PermissionReasons.Withdrawn);
    }

    [Fact]
    public async Task Item22_ExpiryOnALeapDay_LapsesAtThatInstant()
    {
        var expiry = new DateTimeOffset(2028, 2, 29, 0, 0, 0, TimeSpan.Zero);
        await Ledger.RecordAsync(Grant("g", Now) with { ExpiresAt = expiry });

        (await MarketingEmailAsync(at: expiry.AddTicks(-1))).IsAllowed.Should().BeTrue();
        (await MarketingEmailAsync(at: expiry)).Code.Should().Be(PermissionReasons.Expired);
    }

    [Fact]
    public async Task Item23_TheSameEventTwiceEvenConcurrently_HasOneEffect()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () => await Engine.TrackAsync(View()))));

        results.Count(r => !r.IsDuplicate).Should().Be(1);
        (await _services.GetRequiredService<IProfileStore>().GetAsync(Ann))!.Behaviour.ProductViews.Should().Be(1);
    }

    [Fact]
    public async Task Item24_SameIdDifferentPayload_IsAConflictAndWritesNothing()
    {
        await Engine.TrackAsync(View());
        var act = async () => await Engine.TrackAsync(View() with { ProductId = "hat" });

        await act.Should().ThrowAsync<EventConflictException>();
        (await _services.GetRequiredService<IProfileStore>().GetAsync(Ann))!.Behaviour.ProductViews.Should().Be(1);
        var consent = async () => await Ledger.RecordAsync(Grant("g", Now));
        await consent();
        var conflicting = async () => await Ledger.RecordAsync(Grant("g", Now) with { Source = "other" });
        await conflicting.Should().ThrowAsync<ConsentConflictException>();
    }

    [Fact]
    public async Task Item25_WithdrawalArrivesBeforeAnOlderGrant_StaysWithdrawn()
    {
        await Ledger.RecordAsync(Withdrawal("w", Now.AddHours(-1)));
        await Ledger.RecordAsync(Grant("g", Now.AddHours(-2)));

        (await MarketingEmailAsync()).Code.Should().Be(PermissionReasons.Withdrawn);
    }

    [Fact]
    public async Task Item26_ReplayAfterErasure_RecreatesNothing()
    {
        await Engine.TrackAsync(View() with { Identifiers = [AnnEmail] });
        await _services.GetRequiredService<CustomerErasure>().EraseAsync(Ann);

        var replay = await Engine.TrackAsync(View());

        replay.IsErasedSubject.Should().BeTrue();
        (await _services.GetRequiredService<IProfileStore>().GetAsync(Ann)).Should().BeNull();
    }

    [Fact]
    public async Task Item27_UnicodeRoundTripsExactly()
    {
        const string text = "Zoë 👩‍👩‍👧 e\u0301 \u202Eevil";
        var e = View() with { Category = text };

        await Engine.TrackAsync(e);

        (await _services.GetRequiredService<IEventStore>().ReadAsync(Ann).ToListAsync()).Single().Should().Be(e);
        Identifier.Email("zoe\u0301@example.com").Value.Should().Be("zo\u00e9@example.com", "identifiers are NFC-normalised");
    }

    [Theory]
    [InlineData("nul")]
    [InlineData("lone surrogate")]
    public async Task Item28_NulOrLoneSurrogate_IsRejected(string kind)
    {
        var bad = kind == "nul" ? "c\u0000" : "c\uD800";

        var id = () => new CustomerId(bad);
        id.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("customerId");
        (await TrackFailsAsync(View() with { ProductId = "boots" + bad })).Field.Should().Be("productId");
    }

    [Fact]
    public async Task Item29_InjectionIsStoredAsDataAndCrLfIsRejected()
    {
        var e = View() with { ProductId = "'; DROP TABLE events; --{{7*7}}../../" };
        await Engine.TrackAsync(e);
        (await _services.GetRequiredService<IEventStore>().ReadAsync(Ann).ToListAsync()).Single().Should().Be(e);

        var crlf = View("e2") with { ProductId = "boots\r\nBcc: x@example.com" };
        var act = async () => await Engine.TrackAsync(crlf);
        (await act.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("productId");
    }

    [Fact]
    public void Item30_CaseAndFormatVariants_NormaliseToOneIdentifier()
    {
        Identifier.Email("Ann@Example.COM").Should().Be(Identifier.Email("Ann@example.com"));
        Identifier.Phone("+1 (202) 555-0123").Should().Be(Identifier.Phone("+12025550123"));
    }

    [Fact]
    public async Task Item31_ChangedAddress_StartsWithoutConsent()
    {
        await Ledger.RecordAsync(Grant("g", Now));

        (await MarketingEmailAsync(Identifier.Email("ann.new@example.com"))).Code.Should().Be(PermissionReasons.NoConsent);
    }

    [Fact]
    public async Task Item32_GrantWithoutEvidenceOrDate_IsRejected()
    {
        var act = async () => await Ledger.RecordAsync(Grant("g", Now) with { Evidence = null });
        (await act.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("evidence");
        var noDate = async () => await Ledger.RecordAsync(Grant("g", default));
        (await noDate.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("effectiveAt");
        await NothingWrittenAsync(Ann);
    }

    [Fact]
    public async Task Item33_DoubleOptInTokenReusedExpiredOrElsewhere_IsRefused()
    {
        var start = await Ledger.StartDoubleOptInAsync(Ann, Channel.Email, Purpose.Marketing, AnnEmail, new ConsentEvidence("v1", "form"), TimeSpan.FromHours(1));

        (await Ledger.ConfirmDoubleOptInAsync(Ann, Identifier.Email("other@example.com"), start.Token)).Should().Be(DoubleOptInOutcome.WrongIdentifier);
        (await MarketingEmailAsync()).Code.Should().Be(PermissionReasons.PendingConfirmation);
        (await Ledger.ConfirmDoubleOptInAsync(Ann, AnnEmail, start.Token)).Should().Be(DoubleOptInOutcome.Confirmed);
        (await Ledger.ConfirmDoubleOptInAsync(Ann, AnnEmail, start.Token)).Should().Be(DoubleOptInOutcome.AlreadyUsed);

        var late = await Ledger.StartDoubleOptInAsync(Ann, Channel.Email, Purpose.Marketing, Identifier.Email("b@example.com"), new ConsentEvidence("v1", "form"), TimeSpan.FromHours(1));
        _clock.Advance(TimeSpan.FromHours(2));
        (await Ledger.ConfirmDoubleOptInAsync(Ann, Identifier.Email("b@example.com"), late.Token)).Should().Be(DoubleOptInOutcome.Expired);
        (await MarketingEmailAsync(Identifier.Email("b@example.com"))).IsAllowed.Should().BeFalse();
    }

    [Theory]
    [InlineData("STOP", InboundSmsOutcome.Withdrawn)]
    [InlineData("stop ", InboundSmsOutcome.Withdrawn)]
    [InlineData("Stop please", InboundSmsOutcome.NotAKeyword)]
    public async Task Item34_OptOutKeywords_ExactWordsWithdraw(string text, InboundSmsOutcome expected)
    {
        var phone = Identifier.Phone("+12025550123");
        await Engine.TrackAsync(View() with { Identifiers = [phone] });

        (await Ledger.HandleInboundSmsAsync(phone, text)).Should().Be(expected);
    }

    [Fact]
    public async Task Item35_BounceAfterUnsubscribe_KeepsTheCustomersChoice()
    {
        await Ledger.RecordAsync(Withdrawal("w", Now));
        await Ledger.SuppressAsync(AnnEmail, SuppressionReason.HardBounce, "provider");

        (await MarketingEmailAsync()).Code.Should().Be(PermissionReasons.Withdrawn, "the bounce did not rewrite what the customer said");
        (await _services.GetRequiredService<ISuppressionStore>().FindAsync(IdentifierHashing.Hash(AnnEmail))).Should().ContainSingle(s => s.Reason == SuppressionReason.HardBounce);
    }

    [Fact]
    public async Task Item40_PartialStoreFailure_LeavesNothingOfTheEvent()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_clock);
        services.AddSingleton<IProfileStore>(new FailingProfileStore(new InMemoryProfileStore(), Ann, ProfileSaveFailure.StoreFault));
        services.AddEngagement();
        await using var provider = services.BuildServiceProvider();

        var act = async () => await provider.GetRequiredService<IEngagementEngine>().TrackAsync(new ConsentChanged { EventId = "c1", CustomerId = Ann, Timestamp = Now, Record = Grant("g", Now) });

        await act.Should().ThrowAsync<IOException>();
        (await provider.GetRequiredService<IEventStore>().ReadAsync(Ann).ToListAsync()).Should().BeEmpty();
        (await provider.GetRequiredService<IConsentStore>().ReadAsync(Ann)).Should().BeEmpty("no ledger entry without its event, and the retry is not a duplicate");
    }

    [Fact]
    public async Task Item40_FailedEventsBetweenGoodOnes_UndoOnlyTheirOwnWrites()
    {
        // Each event's unit of work is reused by the next event on the thread: a unit that undid a failed event, or that
        // recorded more writes than usual (a consent change writes the ledger, the event and the profile), must start empty.
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_clock);
        services.AddSingleton<IProfileStore>(new FailingProfileStore(new InMemoryProfileStore(), Ann, ProfileSaveFailure.StoreFault));
        services.AddEngagement();
        await using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        var bob = new CustomerId("bob");
        var bobGrant = Grant("g-bob", Now) with { CustomerId = bob, Identifier = Identifier.Email("bob@example.com") };

        await engine.TrackAsync(new ConsentChanged { EventId = "b1", CustomerId = bob, Timestamp = Now, Record = bobGrant });
        for (var i = 0; i < 3; i++)
        {
            var act = async () => await engine.TrackAsync(new ConsentChanged { EventId = "a" + i, CustomerId = Ann, Timestamp = Now, Record = Grant("g" + i, Now) });
            await act.Should().ThrowAsync<IOException>();
            await engine.TrackAsync(View("b-view" + i) with { CustomerId = bob });
        }

        (await provider.GetRequiredService<IEventStore>().ReadAsync(Ann).ToListAsync()).Should().BeEmpty();
        (await provider.GetRequiredService<IConsentStore>().ReadAsync(Ann)).Should().BeEmpty();
        (await provider.GetRequiredService<IEventStore>().ReadAsync(bob).ToListAsync()).Select(e => e.EventId).Should().BeEquivalentTo("b1", "b-view0", "b-view1", "b-view2");
        (await provider.GetRequiredService<IConsentStore>().ReadAsync(bob)).Should().ContainSingle(r => r.RecordId == "g-bob");
        (await provider.GetRequiredService<IProfileStore>().GetAsync(bob))!.Behaviour.ProductViews.Should().Be(3);
    }

    [Fact]
    public async Task Item41_ConsentStoreUnavailable_FailsClosed()
    {
        var gate = new PermissionGate(new UnavailableConsentStore(), new InMemoryDispatchStore(), Options.Create(new ContactPolicyOptions()));

        var decision = await gate.CheckAsync(new PermissionRequest(CustomerProfile.New(Ann), Channel.Email, Purpose.Marketing, AnnEmail, Now));

        decision.IsAllowed.Should().BeFalse();
        decision.Code.Should().Be(PermissionReasons.StoreUnavailable);
    }

    [Fact]
    public async Task Item42_TwoWritersOnOneProfile_TheSecondGetsAConflict()
    {
        var store = new InMemoryProfileStore();
        var first = await store.SaveAsync(CustomerProfile.New(Ann));
        await store.SaveAsync(first with { TimeZone = "Europe/Paris" });

        var act = async () => await store.SaveAsync(first with { TimeZone = "Europe/Rome" });

        await act.Should().ThrowAsync<ConcurrencyConflictException>();
        (await store.GetAsync(Ann))!.TimeZone.Should().Be("Europe/Paris");
    }

    [Fact]
    public async Task Item47_CancelledToken_ThrowsAndWritesNothing()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var act = async () => await Engine.TrackAsync(View(), cancelled.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
        await NothingWrittenAsync(Ann);
    }

    [Fact]
    public async Task Item48_GlobalPrivacyControlOnAnAnonymousProfile_CarriesOverOnLogin()
    {
        var anonymous = new CustomerId("anon-1");
        var cookie = Identifier.Anonymous("cookie-1");
        await Engine.TrackAsync(new ProductViewed { EventId = "v1", CustomerId = anonymous, Timestamp = Now.AddMinutes(-5), ProductId = "boots", Identifiers = [cookie] });
        await Ledger.RecordGlobalPrivacyControlAsync(anonymous, "Sec-GPC header");
        _clock.Advance(TimeSpan.FromMinutes(1));

        var login = await Engine.TrackAsync(new ProductViewed { EventId = "v2", CustomerId = Ann, Timestamp = Now, ProductId = "boots", Identifiers = [cookie, AnnEmail] });

        var survivor = login.Profile!.Id;
        (await Ledger.GetStateAsync(survivor)).Evaluate(Channel.Email, Purpose.SaleSharing, AnnEmail, _clock.GetUtcNow()).Code.Should().Be(PermissionReasons.Objected);
    }

    [Fact]
    public void Item49_TransactionalActionWithAnOffer_FailsValidation()
    {
        var act = () => Engagement.Sdk.Decisioning.ActionCatalog.Create([new Engagement.Sdk.Decisioning.ActionDefinition
        {
            Id = "shipping-note", Name = "Shipping note", Channels = [Channel.Email], Value = 1m, Purpose = Purpose.Transactional, Kind = Engagement.Sdk.Decisioning.ActionKind.Offer,
        }]);

        act.Should().Throw<EngagementValidationException>();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Item50_AbsurdFrequencyCap_FailsAtStartUp(int limit)
    {
        var services = new ServiceCollection();
        services.AddEngagement();
        services.Configure<ContactPolicyOptions>(o => o.Caps.Add(new FrequencyCap { Limit = limit }));
        using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IOptions<ContactPolicyOptions>>().Value;

        act.Should().Throw<OptionsValidationException>();
    }

    private sealed class SettableClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private sealed class UnavailableConsentStore : IConsentStore
    {
        public ValueTask<AppendOutcome> AppendAsync(ConsentRecord record, CancellationToken cancellationToken = default) => throw new IOException("down");

        public ValueTask<IReadOnlyList<ConsentRecord>> ReadAsync(CustomerId customerId, CancellationToken cancellationToken = default) => throw new IOException("down");
    }
}
