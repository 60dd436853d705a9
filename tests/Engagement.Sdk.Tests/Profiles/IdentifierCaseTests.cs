using System.Text.Json;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Serialization;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Sdk.Tests.Profiles;

/// <summary>E-mail addresses are compared without regard to case, keep their spelling, and the rule is configurable per kind.</summary>
public sealed class IdentifierCaseTests
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Email_LocalPartInAnotherCase_IsTheSameIdentifierAndKeepsItsSpelling()
    {
        var given = Identifier.Email("Ann.Smith@Example.COM");
        var lower = Identifier.Email("ann.smith@example.com");

        given.Should().Be(lower);
        given.GetHashCode().Should().Be(lower.GetHashCode());
        given.Value.Should().Be("Ann.Smith@example.com", "the local part is kept as given for sending; the domain is lower-cased");
        given.Key.Should().Be("ann.smith@example.com");
        IdentifierHashing.Hash(given).Should().Be(IdentifierHashing.Hash(lower));
    }

    [Fact]
    public void OtherKinds_ByDefault_CompareExactly()
    {
        Identifier.Device("Tablet-7").Should().NotBe(Identifier.Device("tablet-7"));
        new Identifier(new IdentifierKind("username"), "Ann").Should().NotBe(new Identifier(new IdentifierKind("username"), "ann"));
    }

    [Fact]
    public void Rule_PerKind_TurnsCaseInsensitivityOnOrOff()
    {
        var options = new IdentityOptions();
        var username = new IdentifierKind("username");
        options.Identifiers[username] = new IdentifierRule { IgnoreCase = true };
        options.Identifiers[IdentifierKind.Email] = new IdentifierRule { Exclusive = true, IgnoreCase = false };

        options.HasCaseOverrides.Should().BeTrue();
        options.Normalise(new Identifier(username, "Ann")).Should().Be(options.Normalise(new Identifier(username, "ANN")));
        options.Normalise(Identifier.Email("Ann@example.com")).Should().NotBe(options.Normalise(Identifier.Email("ann@example.com")));
        options.Normalise(Identifier.Email("Ann@example.com")).Value.Should().Be("Ann@example.com");
        new IdentityOptions().HasCaseOverrides.Should().BeFalse("the defaults need no normalisation step");
    }

    [Theory]
    [InlineData("email", "Ann@example.com", false)]
    [InlineData("username", "Ann", true)]
    public void Json_IdentifierUnderANonDefaultRule_ReadsBackEqualWithItsRule(string kind, string value, bool ignoreCase)
    {
        var identifier = new Identifier(new IdentifierKind(kind), value).WithCaseRule(ignoreCase);
        var record = Record("r1") with { Identifier = identifier };

        var json = JsonSerializer.Serialize(record, EngagementJsonContext.Default.ConsentRecord);
        var read = JsonSerializer.Deserialize(json, EngagementJsonContext.Default.ConsentRecord)!;

        json.Should().Contain("\"key\":");
        read.Identifier.Should().Be(identifier);
        read.Identifier!.Key.Should().Be(identifier.Key);
        read.Identifier.Value.Should().Be(value);
    }

    [Fact]
    public void Json_DefaultRule_WritesNoKeyAndRefusesAForeignKey()
    {
        var json = JsonSerializer.Serialize(Record("r1") with { Identifier = Identifier.Email("Ann@example.com") }, EngagementJsonContext.Default.ConsentRecord);

        json.Should().Contain("{\"kind\":\"email\",\"value\":\"Ann@example.com\"}");
        var forged = json.Replace("\"value\":\"Ann@example.com\"}", "\"value\":\"Ann@example.com\",\"key\":\"bob@example.com\"}", StringComparison.Ordinal);
        FluentActions.Invoking(() => JsonSerializer.Deserialize(forged, EngagementJsonContext.Default.ConsentRecord)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("identifier.key");
        var unknown = json.Replace("\"value\":\"Ann@example.com\"}", "\"value\":\"Ann@example.com\",\"colour\":\"red\"}", StringComparison.Ordinal);
        FluentActions.Invoking(() => JsonSerializer.Deserialize(unknown, EngagementJsonContext.Default.ConsentRecord)).Should().Throw<JsonException>();
    }

    [Fact]
    public async Task Track_TheSameAddressInTwoCases_IsOnePersonAndTheFirstSpellingIsKept()
    {
        await using var provider = Provider();
        var engine = provider.GetRequiredService<IEngagementEngine>();

        await engine.TrackAsync(View("v1", new CustomerId("ann"), Identifier.Email("Ann.Smith@example.com")));
        var second = await engine.TrackAsync(View("v2", new CustomerId("anon-1"), Identifier.Email("ann.smith@EXAMPLE.com")));

        second.Profile!.Id.Should().Be(new CustomerId("ann"));
        second.Profile.Identifiers.Should().ContainSingle().Which.Value.Should().Be("Ann.Smith@example.com");
        (await provider.GetRequiredService<IProfileStore>().FindByIdentifierAsync(Identifier.Email("ANN.SMITH@example.com")))!.Id.Should().Be(new CustomerId("ann"));
    }

    [Fact]
    public async Task HardBounceAndOptOut_ReportedInAnotherCase_ApplyToTheAddress()
    {
        await using var provider = Provider();
        var ledger = provider.GetRequiredService<ConsentLedger>();
        var gate = provider.GetRequiredService<IPermissionGate>();
        var ann = CustomerProfile.New(new CustomerId("ann")).WithIdentifier(Identifier.Email("Ann.Smith@example.com"));
        var bob = CustomerProfile.New(new CustomerId("bob")).WithIdentifier(Identifier.Email("Bob@example.com"));
        await ledger.RecordAsync(Record("g-ann") with { Identifier = Identifier.Email("ann.smith@example.com") });
        await ledger.RecordAsync(Record("g-bob") with { CustomerId = bob.Id, Identifier = Identifier.Email("bob@example.com") });
        (await gate.CheckAsync(new PermissionRequest(ann, Channel.Email, Purpose.Marketing, ann.Identifiers[0], Now))).IsAllowed.Should().BeTrue("a grant for the address in another case applies to it");

        await ledger.SuppressAsync(Identifier.Email("ANN.SMITH@example.com"), SuppressionReason.HardBounce, "esp");
        await ledger.RecordAsync(Record("w-bob") with { CustomerId = bob.Id, Identifier = Identifier.Email("BOB@example.com"), Status = ConsentStatus.Withdrawn, Evidence = null });

        (await gate.CheckAsync(new PermissionRequest(ann, Channel.Email, Purpose.Transactional, ann.Identifiers[0], Now))).Code.Should().Be(PermissionReasons.Suppressed);
        (await gate.CheckAsync(new PermissionRequest(bob, Channel.Email, Purpose.Marketing, bob.Identifiers[0], Now))).Code.Should().Be(PermissionReasons.Withdrawn);
    }

    [Fact]
    public async Task Suppression_RecordedUnderTheSpellingHashBeforeKeys_IsStillFoundInThatSpelling()
    {
        var suppressions = new InMemorySuppressionStore();
        var spelled = Identifier.Email("Ann.Smith@example.com");
        await suppressions.AddAsync(new Suppression(IdentifierHashing.SpellingHash(spelled)!, SuppressionReason.Erasure, Now, "erasure"));

        (await suppressions.FindAsync(spelled)).Should().ContainSingle().Which.Reason.Should().Be(SuppressionReason.Erasure);
        (await suppressions.FindAsync(Identifier.Email("ann.smith@example.com"))).Should().BeEmpty("only the hash of the key is known for another spelling");
    }

    [Fact]
    public async Task Track_EmailConfiguredCaseSensitive_KeepsTwoPeopleApartOnEveryPath()
    {
        await using var provider = Provider(o => o.Identity.Identifiers[IdentifierKind.Email] = new IdentifierRule { Exclusive = true, IgnoreCase = false });
        var engine = provider.GetRequiredService<IEngagementEngine>();
        var identity = provider.GetRequiredService<IdentityResolver>();

        await engine.TrackAsync(View("v1", new CustomerId("ann"), Identifier.Email("Ann@example.com")));
        var second = await engine.TrackAsync(View("v2", new CustomerId("anon-1"), Identifier.Email("ann@example.com")));

        second.Profile!.Id.Should().Be(new CustomerId("anon-1"), "the two spellings are two addresses under this rule");
        (await identity.FindAsync(Identifier.Email("Ann@example.com")))!.Id.Should().Be(new CustomerId("ann"));
        (await identity.FindAsync(Identifier.Email("ann@example.com")))!.Id.Should().Be(new CustomerId("anon-1"));
        var stored = await provider.GetRequiredService<IProfileStore>().GetAsync(new CustomerId("ann"));
        stored!.Identifiers.Should().ContainSingle().Which.Should().NotBe(Identifier.Email("ann@example.com").WithCaseRule(false));
    }

    private static ServiceProvider Provider(Action<EngagementOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new ManualTimeProvider(Now));
        services.AddEngagement(configure ?? (_ => { }));
        return services.BuildServiceProvider();
    }

    private static ProductViewed View(string id, CustomerId customer, Identifier identifier)
        => new() { EventId = id, CustomerId = customer, Timestamp = Now, ProductId = "boots", Identifiers = [identifier] };

    private static ConsentRecord Record(string id) => new()
    {
        RecordId = id,
        CustomerId = new CustomerId("ann"),
        Channel = Channel.Email,
        Purpose = Purpose.Marketing,
        Identifier = Identifier.Email("ann@example.com"),
        Status = ConsentStatus.Granted,
        Source = "form",
        Evidence = new ConsentEvidence("v1", "signup-form"),
        EffectiveAt = Now,
    };
}
