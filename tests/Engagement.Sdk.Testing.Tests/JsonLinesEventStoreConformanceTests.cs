using CustomStore;
using Engagement.Sdk.Events;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing.Conformance;

namespace Engagement.Sdk.Testing.Tests;

/// <summary>The conformance kit, used as an adapter's author uses it: the sample's JSON-lines event store, written from scratch, passes it.</summary>
public sealed class JsonLinesEventStoreConformanceTests : EventStoreConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("jsonl-store-");
    private int _stores;

    protected override IEventStore CreateStore() => new JsonLinesEventStore(Path.Combine(_folder.FullName, $"events-{++_stores}.jsonl"));

    [Fact]
    public async Task Reopen_AfterAppendsAndAnErasure_ReadsWhatWasLeft()
    {
        var path = Path.Combine(_folder.FullName, "reopen.jsonl");
        var at = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
        var store = new JsonLinesEventStore(path);
        await store.AppendAsync(new ProductViewed { EventId = "e1", CustomerId = new CustomerId("c1"), Timestamp = at, ProductId = "a" });
        await store.AppendAsync(new ProductViewed { EventId = "e2", CustomerId = new CustomerId("c2"), Timestamp = at, ProductId = "b" });
        await store.EraseSubjectAsync(new CustomerId("c1"));

        var reopened = new JsonLinesEventStore(path);

        (await reopened.ReadRangeAsync(at.AddDays(-1), at.AddDays(1)).ToListAsync()).Select(e => e.EventId).Should().Equal("e2");
    }

    [Fact]
    public async Task Reopen_LastLineCutShortByACrash_DropsItAndKeepsTheRest()
    {
        var path = Path.Combine(_folder.FullName, "torn.jsonl");
        var at = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
        await new JsonLinesEventStore(path).AppendAsync(new ProductViewed { EventId = "e1", CustomerId = new CustomerId("c1"), Timestamp = at, ProductId = "a" });
        await File.AppendAllTextAsync(path, "{\"type\":\"product_viewed\",\"eventId\":\"e2");

        var reopened = new JsonLinesEventStore(path);

        (await reopened.ReadAsync(new CustomerId("c1")).ToListAsync()).Select(e => e.EventId).Should().Equal("e1");
        (await reopened.AppendAsync(new ProductViewed { EventId = "e2", CustomerId = new CustomerId("c1"), Timestamp = at, ProductId = "b" })).Should().Be(AppendOutcome.Appended);
        (await new JsonLinesEventStore(path).ReadAsync(new CustomerId("c1")).ToListAsync()).Should().HaveCount(2);
    }

    public void Dispose() => _folder.Delete(recursive: true);
}

/// <summary>The kit's retention checks on the same store.</summary>
public sealed class JsonLinesEventRetentionConformanceTests : EventRetentionConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("jsonl-retention-");

    protected override IEventRetention CreateStore() => new JsonLinesEventStore(Path.Combine(_folder.FullName, "events.jsonl"));

    public void Dispose() => _folder.Delete(recursive: true);
}
