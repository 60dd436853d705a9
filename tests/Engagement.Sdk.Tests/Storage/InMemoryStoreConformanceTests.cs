using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing.Conformance;

namespace Engagement.Sdk.Tests.Storage;

public sealed class InMemoryProfileStoreTests : ProfileStoreConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    protected override IProfileStore CreateStore() => new InMemoryProfileStore();
}

public sealed class InMemoryEventStoreTests : EventStoreConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    protected override IEventStore CreateStore() => new InMemoryEventStore();
}

public sealed class InMemoryConsentStoreTests : ConsentStoreConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    protected override IConsentStore CreateStore() => new InMemoryConsentStore();
}

public sealed class InMemoryDispatchStoreTests : DispatchStoreConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    protected override IDispatchStore CreateStore() => new InMemoryDispatchStore();
}

public sealed class InMemorySuppressionStoreTests : SuppressionStoreConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    protected override ISuppressionStore CreateStore() => new InMemorySuppressionStore();
}

public sealed class InMemoryEventRetentionTests : EventRetentionConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    protected override IEventRetention CreateStore() => new InMemoryEventStore();
}

/// <summary>An event and its effects are all or nothing on the in-memory stores (their units of work undo what a fault interrupted).</summary>
public sealed class InMemoryEventAtomicityTests : Engagement.Sdk.Testing.Conformance.EventAtomicityConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    protected override void AddStore(Microsoft.Extensions.DependencyInjection.EngagementBuilder builder)
    {
    }
}

/// <summary>The storage items of the bad-input list on the in-memory stores.</summary>
public sealed class InMemoryBadInputTests : Engagement.Sdk.Testing.Conformance.BadInputConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    protected override void AddStore(Microsoft.Extensions.DependencyInjection.EngagementBuilder builder)
    {
    }
}

public sealed class InMemoryPropensityStoreTests : PropensityStoreConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private Engagement.Sdk.Decisioning.InMemoryPropensityStore? _store;

    protected override IStoreTransactions Transactions => InMemoryTransactions.Instance;

    protected override Engagement.Sdk.Decisioning.IPropensityStore CreateStore() => _store = new();

    // In memory, another handle on the same storage is the same store (a restart would start empty).
    protected override Engagement.Sdk.Decisioning.IPropensityStore OpenAgain() => _store!;
}

public sealed class InMemoryActionBudgetStoreTests : ActionBudgetStoreConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private Engagement.Sdk.Decisioning.InMemoryActionBudgetStore? _store;

    protected override IStoreTransactions Transactions => InMemoryTransactions.Instance;

    protected override Engagement.Sdk.Decisioning.IActionBudgetStore CreateStore() => _store = new();

    protected override Engagement.Sdk.Decisioning.IActionBudgetStore OpenAgain() => _store!;
}

public sealed class InMemoryActionContactLogTests : ActionContactLogConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private Engagement.Sdk.Decisioning.InMemoryActionContactLog? _store;

    protected override IStoreTransactions Transactions => InMemoryTransactions.Instance;

    protected override Engagement.Sdk.Decisioning.IActionContactLog CreateStore() => _store = new();

    protected override Engagement.Sdk.Decisioning.IActionContactLog OpenAgain() => _store!;
}

/// <summary>Unmerge restores both sides exactly on the in-memory stores.</summary>
public sealed class InMemoryMergeHistoryTests : Engagement.Sdk.Testing.Conformance.MergeHistoryConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    protected override void AddStore(Microsoft.Extensions.DependencyInjection.EngagementBuilder builder)
    {
    }
}

/// <summary>The household store conformance on the in-memory store.</summary>
public sealed class InMemoryHouseholdStoreTests : Engagement.Sdk.Testing.Conformance.HouseholdStoreConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    protected override Engagement.Sdk.Households.IHouseholdStore CreateStore() => new Engagement.Sdk.Households.InMemoryHouseholdStore();
}

public sealed class InMemoryJourneyStoreTests : JourneyStoreConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    protected override Engagement.Sdk.Journeys.IJourneyStore CreateStore() => new Engagement.Sdk.Journeys.InMemoryJourneyStore();

    protected override IStoreTransactions? TransactionsOf(Engagement.Sdk.Journeys.IJourneyStore store) => InMemoryTransactions.Instance;
}

/// <summary>The segment store conformance on the in-memory store.</summary>
public sealed class InMemorySegmentStoreTests : Engagement.Sdk.Testing.Conformance.SegmentStoreConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    protected override Engagement.Sdk.Segments.ISegmentStore CreateStore() => new Engagement.Sdk.Segments.InMemorySegmentStore();
}
