using System.Collections.Immutable;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Sdk.Tests.Events;

public sealed class EventValidatorTests : IAsyncDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Ann = new("ann");
    private readonly ServiceProvider _provider;

    public EventValidatorTests()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(Now));
        services.AddEngagement();
        _provider = services.BuildServiceProvider();
    }

    private IEngagementEngine Engine => _provider.GetRequiredService<IEngagementEngine>();

    public static TheoryData<string> Controls => ["\r", "\n", "\r\n", "\0", "\t", "\u001B", "\u007F", "\u0085", "\u009B"];

    public static TheoryData<string, string> FieldsThatReachAChannel()
    {
        var data = new TheoryData<string, string>();
        foreach (var field in new[] { "eventId", "locale", "traits.nickname", "identifier.email", "identifier.device", "productId", "orderId", "dispatchId", "actionId", "url", "query" })
        {
            foreach (var control in new[] { "\r\n", "\0", "\u0085" })
            {
                data.Add(field, control);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(FieldsThatReachAChannel))]
    public async Task Track_ControlCharacterInAFieldThatReachesAChannel_IsRejectedNamingTheField_AndNothingIsWritten(string field, string control)
    {
        var bad = "x" + control + "Bcc: all@example.com";
        Func<EngagementEvent> make = field switch
        {
            "eventId" => () => View() with { EventId = bad },
            "locale" => () => Update() with { Locale = "uk" + control + "UA" },
            "traits.nickname" => () => Update() with { Traits = ImmutableDictionary<string, TraitValue>.Empty.Add("nickname", TraitValue.Of(bad)) },
            "identifier.email" => () => View() with { Identifiers = [Identifier.Email("ann" + control + "@example.com")] },
            "identifier.device" => () => View() with { Identifiers = [Identifier.Device(bad)] },
            "productId" => () => View() with { ProductId = bad },
            "orderId" => () => Order(9.99m) with { OrderId = bad },
            "dispatchId" => () => Sent() with { DispatchId = bad },
            "actionId" => () => Sent() with { ActionId = bad },
            "url" => () => new PageViewed { EventId = "p1", CustomerId = Ann, Timestamp = Now, Url = "/boots" + control + "Set-Cookie: a=b" },
            "query" => () => new Searched { EventId = "s1", CustomerId = Ann, Timestamp = Now, Query = bad },
            _ => throw new ArgumentOutOfRangeException(nameof(field)),
        };

        // Some values are refused as they are built (a trait value, an identifier), the others when tracked.
        var act = async () => await Engine.TrackAsync(make());

        var error = (await act.Should().ThrowAsync<EngagementValidationException>()).Which;
        error.Field.Should().Be(field is "traits.nickname" ? "trait" : field);
        error.Rule.Should().Contain("control characters");
        error.Message.Should().NotContain("\r").And.NotContain("\n").And.NotContain("\0", "the message escapes what it shows");
        await NothingWrittenAsync();
    }

    [Theory]
    [MemberData(nameof(Controls))]
    public void CustomerId_ControlCharacter_IsRejected(string control)
    {
        var act = () => new CustomerId("ann" + control + "x");

        act.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("customerId");
    }

    [Theory]
    [MemberData(nameof(Controls))]
    public async Task RecordConsent_ControlCharacterInRecordIdSourceOrEvidence_IsRejectedNamingTheField_AndNothingIsWritten(string control)
    {
        var grant = new ConsentRecord
        {
            RecordId = "c1", CustomerId = Ann, Channel = Channel.Email, Purpose = Purpose.Marketing, Identifier = Identifier.Email("ann@example.com"),
            Status = ConsentStatus.Granted, Source = "form", Evidence = new ConsentEvidence("v1", "signup"), EffectiveAt = Now,
        };

        foreach (var (field, record) in new (string, ConsentRecord)[]
        {
            ("recordId", grant with { RecordId = "c" + control + "1" }),
            ("source", grant with { Source = "form" + control + "x" }),
            ("evidence.noticeVersion", grant with { Evidence = new ConsentEvidence("v" + control, "signup") }),
            ("evidence.collectionPoint", grant with { Evidence = new ConsentEvidence("v1", "sign" + control + "up") }),
            ("evidence.userAgent", grant with { Evidence = new ConsentEvidence("v1", "signup", "203.0.113.9", "Mozilla" + control + "X-Injected: 1") }),
            ("evidence.ipAddress", grant with { Evidence = new ConsentEvidence("v1", "signup", "203.0.113.9" + control) }),
        })
        {
            var act = async () => await Engine.RecordConsentAsync(record);
            (await act.Should().ThrowAsync<EngagementValidationException>(field)).Which.Field.Should().Be(field);
        }

        (await _provider.GetRequiredService<IConsentStore>().ReadAsync(Ann)).Should().BeEmpty();
    }

    [Fact]
    public async Task Track_EventFrom1970_IsRejectedByTheDefaultLatenessWindow_AndNothingIsWritten()
    {
        new EngagementOptions().LatenessWindow.Should().Be(TimeSpan.FromDays(30));

        var act = async () => await Engine.TrackAsync(View() with { Timestamp = DateTimeOffset.UnixEpoch });

        var error = (await act.Should().ThrowAsync<EngagementValidationException>()).Which;
        error.Field.Should().Be("timestamp");
        error.Rule.Should().Contain("lateness window");
        await NothingWrittenAsync();
    }

    [Fact]
    public async Task Track_EventWithinTheDefaultLatenessWindow_IsAccepted()
    {
        var result = await Engine.TrackAsync(View() with { Timestamp = Now.AddDays(-29) });

        result.Profile!.Behaviour.ProductViews.Should().Be(1);
    }

    [Fact]
    public async Task Track_NoLatenessWindow_AcceptsAnOldEvent()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(Now));
        services.AddEngagement(o => o.LatenessWindow = null);
        await using var provider = services.BuildServiceProvider();

        var result = await provider.GetRequiredService<IEngagementEngine>().TrackAsync(View() with { Timestamp = DateTimeOffset.UnixEpoch.AddDays(1) });

        result.IsDuplicate.Should().BeFalse();
    }

    [Theory]
    [InlineData("0.001", "EUR", 2)]
    [InlineData("9.999", "EUR", 2)]
    [InlineData("0.0000001", "USD", 2)]
    [InlineData("1.5", "JPY", 0)]
    [InlineData("0.0005", "BHD", 3)]
    public void Validate_AmountBeyondTheCurrencysMinorUnits_IsRejectedNamingTheFieldAndTheDecimals(string amount, string currency, int decimals)
    {
        var price = Money.Of(decimal.Parse(amount, System.Globalization.CultureInfo.InvariantCulture), currency);
        var validator = new EventValidator(new FakeTimeProvider(Now), TimeSpan.FromMinutes(5));

        foreach (var (field, engagementEvent) in new (string, EngagementEvent)[]
        {
            ("lines[0].unitPrice", Order(1m) with { Lines = [new OrderLine("boots", 1, price)] }),
            ("unitPrice", new AddedToCart { EventId = "a1", CustomerId = Ann, Timestamp = Now, ProductId = "boots", UnitPrice = price }),
            ("amount", new Refunded { EventId = "r1", CustomerId = Ann, Timestamp = Now, OrderId = "o1", Amount = price }),
            ("cartValue", new CheckoutStarted { EventId = "k1", CustomerId = Ann, Timestamp = Now, CartValue = price }),
        })
        {
            var act = () => validator.Validate(engagementEvent);
            var error = act.Should().Throw<EngagementValidationException>(field).Which;
            error.Field.Should().Be(field);
            error.Value.Should().Be(amount + " " + currency);
            error.Rule.Should().Contain($"at most {decimals} decimals");
        }
    }

    [Theory]
    [InlineData("12.50", "EUR")]
    [InlineData("12.500", "EUR")]
    [InlineData("1500", "JPY")]
    [InlineData("1500.00", "JPY")]
    [InlineData("0.125", "BHD")]
    [InlineData("0", "EUR")]
    public void Validate_AmountWithinTheCurrencysMinorUnits_IsAcceptedUnchanged(string amount, string currency)
    {
        var price = Money.Of(decimal.Parse(amount, System.Globalization.CultureInfo.InvariantCulture), currency);
        var order = Order(1m) with { Lines = [new OrderLine("boots", 1, price)] };

        new EventValidator(new FakeTimeProvider(Now), TimeSpan.FromMinutes(5)).Validate(order);

        order.Lines[0].UnitPrice.Amount.Should().Be(price.Amount);
    }

    public ValueTask DisposeAsync() => _provider.DisposeAsync();

    private static ProductViewed View() => new() { EventId = "v1", CustomerId = Ann, Timestamp = Now, ProductId = "boots" };

    private static ProfileUpdated Update() => new() { EventId = "u1", CustomerId = Ann, Timestamp = Now };

    private static Purchased Order(decimal price) => new() { EventId = "o1", CustomerId = Ann, Timestamp = Now, OrderId = "o1", Lines = [new OrderLine("boots", 1, Money.Of(price, "EUR"))] };

    private static MessageSent Sent() => new() { EventId = "m1", CustomerId = Ann, Timestamp = Now, Channel = Channel.Email, DispatchId = "d1", ActionId = "welcome" };

    private async Task NothingWrittenAsync()
    {
        (await _provider.GetRequiredService<IEventStore>().ReadAsync(Ann).ToListAsync()).Should().BeEmpty();
        (await _provider.GetRequiredService<IProfileStore>().GetAsync(Ann)).Should().BeNull();
    }
}
