using System.Text;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Sdk.Tests.Profiles;

public sealed class CustomerExportTests
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.FromHours(3));
    private static readonly CustomerId Ann = new("ann");

    [Fact]
    public async Task ExportThenImport_IntoAnEmptyStore_ReproducesEverythingAboutTheCustomer()
    {
        await using var source = Provider();
        var engine = source.GetRequiredService<IEngagementEngine>();
        var email = Identifier.Email("ann@example.com");
        await engine.TrackAsync(new ProductViewed { EventId = "v1", CustomerId = new("anon-1"), Timestamp = Now.AddHours(-5), Identifiers = [Identifier.Anonymous("c-1")], ProductId = "boots" });
        await engine.TrackAsync(new PageViewed { EventId = "login", Url = "/account", CustomerId = Ann, Timestamp = Now.AddHours(-4), Identifiers = [email, Identifier.Anonymous("c-1")] });
        await engine.RecordConsentAsync(new ConsentRecord
        {
            RecordId = "g1", CustomerId = Ann, Channel = Channel.Email, Identifier = email, Purpose = Purpose.Marketing, Status = ConsentStatus.Granted,
            Source = "signup", Evidence = new ConsentEvidence("v3", "signup"), EffectiveAt = Now.AddHours(-3),
        });
        var dispatches = source.GetRequiredService<IDispatchStore>();
        await dispatches.TryBeginAsync(new DispatchRecord { DispatchId = "d1", CustomerId = Ann, Channel = Channel.Email, Purpose = Purpose.Marketing, ActionId = "welcome", CreatedAt = Now.AddHours(-2), Status = DispatchStatus.Sent, Attempts = 1, CompletedAt = Now.AddHours(-2) });
        await engine.TrackAsync(new ProductViewed { EventId = "someone-else", CustomerId = new("bob"), Timestamp = Now.AddHours(-1), ProductId = "hat" });

        var exported = await source.GetRequiredService<CustomerDataPortability>().ExportAsync(new CustomerId("anon-1"));
        var json = CustomerDataPortability.ToJson(exported);

        exported.Profiles.Select(p => p.Id.Value).Should().Equal("ann", "anon-1");
        exported.Events.Select(e => e.EventId).Should().Equal("v1", "login");
        exported.Consent.Should().ContainSingle();
        exported.Dispatches.Should().ContainSingle().Which.Status.Should().Be(DispatchStatus.Sent);

        await using var target = Provider();
        var counts = await target.GetRequiredService<CustomerDataPortability>().ImportAsync(CustomerDataPortability.FromJson(json));

        counts.Should().Be(new ImportCounts(2, 2, 1, 1));
        var again = await target.GetRequiredService<CustomerDataPortability>().ExportAsync(new CustomerId("anon-1"));
        Encoding.UTF8.GetString(CustomerDataPortability.ToJson(again)).Should().Be(Encoding.UTF8.GetString(json), "the import reproduces the export exactly");
        (await target.GetRequiredService<IdentityResolver>().FindAsync(Identifier.Anonymous("c-1")))!.Id.Should().Be(Ann);
        (await target.GetRequiredService<ConsentLedger>().GetStateAsync(Ann)).Evaluate(Channel.Email, Purpose.Marketing, email, Now).IsAllowed.Should().BeTrue();
    }

    [Fact]
    public async Task Import_IntoAStoreThatKnowsTheCustomer_IsRejectedAndWritesNothing()
    {
        await using var source = Provider();
        await source.GetRequiredService<IEngagementEngine>().TrackAsync(new PageViewed { EventId = "p1", Url = "/account", CustomerId = Ann, Timestamp = Now });
        var export = await source.GetRequiredService<CustomerDataPortability>().ExportAsync(Ann);

        await using var target = Provider();
        await target.GetRequiredService<IEngagementEngine>().TrackAsync(new PageViewed { EventId = "p2", Url = "/account", CustomerId = Ann, Timestamp = Now });
        var act = () => target.GetRequiredService<CustomerDataPortability>().ImportAsync(export).AsTask();

        (await act.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("profiles.id");
        (await target.GetRequiredService<IEventStore>().ReadAsync(Ann).ToListAsync()).Select(e => e.EventId).Should().Equal("p2");
    }

    [Fact]
    public async Task Import_OfAnErasedCustomer_IsRejectedAndWritesNothing()
    {
        await using var provider = Provider();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        await engine.TrackAsync(new PageViewed { EventId = "p1", Url = "/account", CustomerId = Ann, Timestamp = Now, Identifiers = [Identifier.Email("ann@example.com")] });
        var export = await provider.GetRequiredService<CustomerDataPortability>().ExportAsync(Ann);
        await provider.GetRequiredService<CustomerErasure>().EraseAsync(Ann);

        var act = async () => await provider.GetRequiredService<CustomerDataPortability>().ImportAsync(export);

        var error = (await act.Should().ThrowAsync<EngagementValidationException>()).Which;
        error.Field.Should().Be("customerId");
        error.Rule.Should().Contain("erased");
        (await provider.GetRequiredService<IProfileStore>().GetAsync(Ann)).Should().BeNull();
        (await provider.GetRequiredService<IEventStore>().ReadAsync(Ann).ToListAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task Import_UnderAnotherIdOfAnErasedAddress_IsRejectedAndWritesNothing()
    {
        await using var provider = Provider();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        await engine.TrackAsync(new PageViewed { EventId = "p1", Url = "/account", CustomerId = Ann, Timestamp = Now, Identifiers = [Identifier.Email("ann@example.com")] });
        var export = await provider.GetRequiredService<CustomerDataPortability>().ExportAsync(Ann);
        await provider.GetRequiredService<CustomerErasure>().EraseAsync(Ann);
        var renamed = export with
        {
            CustomerId = new("ann-2"),
            Profiles = [.. export.Profiles.Select(p => p with { Id = new("ann-2") })],
            Events = [.. export.Events.Select(e => e with { CustomerId = new("ann-2") })],
        };

        var act = async () => await provider.GetRequiredService<CustomerDataPortability>().ImportAsync(renamed);

        (await act.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("profiles.identifiers");
        (await provider.GetRequiredService<IProfileStore>().GetAsync(new CustomerId("ann-2"))).Should().BeNull();
    }

    [Fact]
    public async Task Import_ABadRecordLateInTheDocument_WritesNothingAtAll()
    {
        await using var source = Provider();
        var engine = source.GetRequiredService<IEngagementEngine>();
        await engine.TrackAsync(new PageViewed { EventId = "p1", Url = "/account", CustomerId = Ann, Timestamp = Now });
        var export = await source.GetRequiredService<CustomerDataPortability>().ExportAsync(Ann);
        var grant = new ConsentRecord
        {
            RecordId = "g1", CustomerId = Ann, Channel = Channel.Email, Identifier = Identifier.Email("ann@example.com"), Purpose = Purpose.Marketing,
            Status = ConsentStatus.Granted, Source = "signup", Evidence = new ConsentEvidence("v3", "signup"), EffectiveAt = Now.AddHours(-1),
        };
        var broken = export with { Consent = [grant, grant with { RecordId = "g2", Evidence = null }] };

        await using var target = Provider();
        var act = async () => await target.GetRequiredService<CustomerDataPortability>().ImportAsync(broken);

        (await act.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("consent[1].evidence");
        (await target.GetRequiredService<IProfileStore>().GetAsync(Ann)).Should().BeNull();
        (await target.GetRequiredService<IEventStore>().ReadAsync(Ann).ToListAsync()).Should().BeEmpty();
        (await target.GetRequiredService<IConsentStore>().ReadAsync(Ann)).Should().BeEmpty();
    }

    [Fact]
    public async Task Import_AnEventWithAControlCharacter_NamesItsPositionAndWritesNothing()
    {
        await using var source = Provider();
        await source.GetRequiredService<IEngagementEngine>().TrackAsync(new PageViewed { EventId = "p1", Url = "/account", CustomerId = Ann, Timestamp = Now });
        var export = await source.GetRequiredService<CustomerDataPortability>().ExportAsync(Ann);
        var broken = export with { Events = [export.Events[0], new ProductViewed { EventId = "v\r\n1", CustomerId = Ann, Timestamp = Now, ProductId = "boots" }] };

        await using var target = Provider();
        var act = async () => await target.GetRequiredService<CustomerDataPortability>().ImportAsync(broken);

        (await act.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("events[1].eventId");
        (await target.GetRequiredService<IProfileStore>().GetAsync(Ann)).Should().BeNull();
    }

    [Theory]
    [InlineData("""{"schemaVersion":2,"customerId":"a","exportedAt":"2026-01-01T00:00:00Z","profiles":[],"events":[],"consent":[],"dispatches":[]}""", "schemaVersion")]
    [InlineData("""{"schemaVersion":1,"customerId":"a","exportedAt":"2026-01-01T00:00:00Z","profiles":[],"events":[{"type":"page_viewed","url":"/","eventId":"e","customerId":"b","timestamp":"2026-01-01T00:00:00Z"}],"consent":[],"dispatches":[]}""", "events.customerId")]
    public async Task Import_InvalidDocument_NamesTheField(string json, string field)
    {
        await using var target = Provider();
        var act = async () => await target.GetRequiredService<CustomerDataPortability>().ImportAsync(CustomerDataPortability.FromJson(Encoding.UTF8.GetBytes(json)));

        (await act.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be(field);
    }

    [Fact]
    public void FromJson_UnknownProperty_NamesIt()
        => FluentActions.Invoking(() => CustomerDataPortability.FromJson("""{"schemaVersion":1,"shoeSize":44}"""u8))
            .Should().Throw<EngagementValidationException>().Which.Field.Should().Be("shoeSize");

    private static ServiceProvider Provider()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(Now));
        services.AddEngagement();
        return services.BuildServiceProvider();
    }
}
