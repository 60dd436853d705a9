using CustomStore;
using Engagement.Sdk.Households;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Segments;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing.Conformance;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Sdk.Testing.XunitV3.Tests;

// The kit's suites on the in-memory stores under xUnit v3, each check one test, in the few lines an adapter's author writes.

public sealed class InMemoryProfileStoreTests : ProfileStoreConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks), MemberType = typeof(ProfileStoreConformanceTests))]
    public Task Conforms(string check) => RunAsync(check);

    protected override IProfileStore CreateStore() => new InMemoryProfileStore();
}

public sealed class InMemoryEventStoreTests : EventStoreConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks), MemberType = typeof(EventStoreConformanceTests))]
    public Task Conforms(string check) => RunAsync(check);

    protected override IEventStore CreateStore() => new InMemoryEventStore();
}

public sealed class InMemoryConsentStoreTests : ConsentStoreConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks), MemberType = typeof(ConsentStoreConformanceTests))]
    public Task Conforms(string check) => RunAsync(check);

    protected override IConsentStore CreateStore() => new InMemoryConsentStore();
}

public sealed class InMemoryDispatchStoreTests : DispatchStoreConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks), MemberType = typeof(DispatchStoreConformanceTests))]
    public Task Conforms(string check) => RunAsync(check);

    protected override IDispatchStore CreateStore() => new InMemoryDispatchStore();
}

public sealed class InMemoryJourneyStoreTests : JourneyStoreConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks), MemberType = typeof(JourneyStoreConformanceTests))]
    public Task Conforms(string check) => RunAsync(check);

    protected override IJourneyStore CreateStore() => new InMemoryJourneyStore();

    protected override IStoreTransactions? TransactionsOf(IJourneyStore store) => InMemoryTransactions.Instance;
}

public sealed class InMemorySegmentStoreTests : SegmentStoreConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks), MemberType = typeof(SegmentStoreConformanceTests))]
    public Task Conforms(string check) => RunAsync(check);

    protected override ISegmentStore CreateStore() => new InMemorySegmentStore();
}

public sealed class InMemoryHouseholdStoreTests : HouseholdStoreConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks), MemberType = typeof(HouseholdStoreConformanceTests))]
    public Task Conforms(string check) => RunAsync(check);

    protected override IHouseholdStore CreateStore() => new InMemoryHouseholdStore();
}

public sealed class InMemoryEventAtomicityTests : EventAtomicityConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks), MemberType = typeof(EventAtomicityConformanceTests))]
    public Task Conforms(string check) => RunAsync(check);

    protected override void AddStore(EngagementBuilder builder)
    {
    }
}

/// <summary>The sample's JSON-lines event store, written from scratch, passes the kit under xUnit v3 too.</summary>
public sealed class JsonLinesEventStoreTests : EventStoreConformanceTests, IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("jsonl-v3-");
    private int _stores;

    [Theory]
    [MemberData(nameof(Checks), MemberType = typeof(EventStoreConformanceTests))]
    public Task Conforms(string check) => RunAsync(check);

    public void Dispose() => _folder.Delete(recursive: true);

    protected override IEventStore CreateStore() => new JsonLinesEventStore(Path.Combine(_folder.FullName, $"events-{++_stores}.jsonl"));
}
