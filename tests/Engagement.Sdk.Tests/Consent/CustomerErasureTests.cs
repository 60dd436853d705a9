using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Sdk.Tests.Consent;

public sealed class CustomerErasureTests
{
    private static readonly DateTimeOffset Now = new(2026, 5, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Ann = new("ann");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");

    [Fact]
    public async Task EraseAsync_KnownCustomer_RemovesEverythingAndKeepsOnlyHashedSuppressions()
    {
        await using var provider = Build(out _);
        var engine = provider.GetRequiredService<IEngagementEngine>();
        await engine.RecordConsentAsync(Grant());
        await engine.TrackAsync(View("e1"));
        var ledger = provider.GetRequiredService<ConsentLedger>();
        var export = await ledger.ExportAsync(Ann);

        var report = await provider.GetRequiredService<CustomerErasure>().EraseAsync(Ann);

        report.IdentifiersSuppressed.Should().Be(1);
        (await provider.GetRequiredService<IProfileStore>().GetAsync(Ann)).Should().BeNull();
        (await provider.GetRequiredService<IProfileStore>().FindByIdentifierAsync(AnnEmail)).Should().BeNull();
        (await provider.GetRequiredService<IConsentStore>().ReadAsync(Ann)).Should().BeEmpty();
        (await ToListAsync(provider.GetRequiredService<IEventStore>().ReadAsync(Ann))).Should().BeEmpty();
        var suppressions = await provider.GetRequiredService<ISuppressionStore>().FindAsync(IdentifierHashing.Hash(AnnEmail));
        suppressions.Should().ContainSingle().Which.Reason.Should().Be(SuppressionReason.Erasure);
        suppressions[0].IdentifierHash.Should().StartWith("sha256:").And.NotContain("ann");

        var reimport = async () => await ledger.ImportAsync(export);
        await reimport.Should().ThrowAsync<EngagementValidationException>("a re-import must not resurrect an erased subject");
    }

    [Fact]
    public async Task TrackAsync_ReplayedEventOfAnErasedCustomer_IsIgnoredAndDoesNotRecreateThem()
    {
        await using var provider = Build(out _);
        var engine = provider.GetRequiredService<IEngagementEngine>();
        await engine.TrackAsync(View("e1"));
        await provider.GetRequiredService<CustomerErasure>().EraseAsync(Ann);

        var replay = await engine.TrackAsync(View("e1"));
        var late = await engine.TrackAsync(View("e2"));

        replay.IsErasedSubject.Should().BeTrue();
        late.IsErasedSubject.Should().BeTrue();
        (await provider.GetRequiredService<IProfileStore>().GetAsync(Ann)).Should().BeNull();
    }

    [Fact]
    public async Task ErasedAddress_UnderANewCustomerId_CannotBeGrantedConsentAgain()
    {
        await using var provider = Build(out _);
        var engine = provider.GetRequiredService<IEngagementEngine>();
        await engine.RecordConsentAsync(Grant());
        await provider.GetRequiredService<CustomerErasure>().EraseAsync(Ann);

        var act = async () => await engine.RecordConsentAsync(Grant() with { RecordId = "g2", CustomerId = new CustomerId("ann-again") });

        (await act.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("identifier");
    }

    [Fact]
    public async Task EraseAsync_StoreThatCannotErase_FailsBeforeErasingAnything()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new LedgerClock(Now));
        services.AddSingleton<IEventStore, AppendOnlyEventStore>();
        services.AddEngagement();
        await using var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<IProfileStore>().SaveAsync(CustomerProfile.New(Ann).WithIdentifier(AnnEmail));

        var act = async () => await provider.GetRequiredService<CustomerErasure>().EraseAsync(Ann);

        (await act.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain(nameof(AppendOnlyEventStore));
        (await provider.GetRequiredService<IProfileStore>().GetAsync(Ann)).Should().NotBeNull();
    }

    private static ServiceProvider Build(out LedgerClock clock)
    {
        clock = new LedgerClock(Now);
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.AddEngagement();
        return services.BuildServiceProvider();
    }

    private static ProductViewed View(string id) => new() { EventId = id, CustomerId = Ann, Timestamp = Now.AddMinutes(-1), Identifiers = [AnnEmail], ProductId = "sku-1" };

    private static ConsentRecord Grant() => new()
    {
        RecordId = "g1",
        CustomerId = Ann,
        Channel = Channel.Email,
        Purpose = Purpose.Marketing,
        Identifier = AnnEmail,
        Status = ConsentStatus.Granted,
        Source = "form",
        Evidence = new ConsentEvidence("v1", "form"),
        EffectiveAt = Now.AddMinutes(-10),
    };

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }

    /// <summary>An event store that cannot erase, standing in for an adapter that forgot to implement it.</summary>
    private sealed class AppendOnlyEventStore : IEventStore
    {
        private readonly InMemoryEventStore _inner = new();

        public ValueTask<AppendOutcome> AppendAsync(EngagementEvent engagementEvent, CancellationToken cancellationToken = default) => _inner.AppendAsync(engagementEvent, cancellationToken);

        public IAsyncEnumerable<EngagementEvent> ReadAsync(CustomerId customerId, DateTimeOffset? from = null, DateTimeOffset? to = null, CancellationToken cancellationToken = default) => _inner.ReadAsync(customerId, from, to, cancellationToken);

        public IAsyncEnumerable<EngagementEvent> ReadRangeAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default) => _inner.ReadRangeAsync(from, to, cancellationToken);
    }
}
