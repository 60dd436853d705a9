using BenchmarkDotNet.Attributes;
using Engagement.Sdk.Conditions;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Segments;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Sdk.Benchmarks.Core;

/// <summary>
/// Ingestion throughput: 100,000 events (20,000 for the shorter SQLite run; one SQLite run with random ids; product views, carts, some carrying an anonymous
/// id) over 2,000 customers, tracked through the engine with identity resolution, profiles, aggregates and journeys updated
/// (no decisions are triggered), into fresh stores each iteration. Results are per event.
/// </summary>
/// <remarks>
/// Forty warm-up iterations: each iteration's fresh service provider keeps the tiered JIT compiling for about as many rounds
/// (<c>--ingest-cpu</c> prints the methods compiled during each round), and while it does, its thread takes CPU time from
/// the writers. With five, the measured iterations ran before the code had reached its final tier, so a row measured the
/// compiler as much as the engine, and two writers on two cores shared them with it.
/// </remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 40, iterationCount: 10, invocationCount: 1)]
public class IngestBenchmarks
{
    private const int Events = 20_000;

    // Long enough for the write-ahead log to be checkpointed into the database file several times, as in steady operation.
    internal const int SteadyEvents = 100_000;
    private EngagementEvent[] _events = null!;
    private EngagementEvent[] _steady = null!;
    private EngagementEvent[] _randomIds = null!;
    private EngagementEvent[] _firstHalf = null!;
    private EngagementEvent[] _secondHalf = null!;
    private ServiceProvider _provider = null!;
    private IEngagementEngine _engine = null!;
    private string? _directory;

    /// <summary>The workload, generated once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var now = DateTimeOffset.UtcNow;
        _events = new EngagementEvent[Events];
        _steady = new EngagementEvent[SteadyEvents];
        for (var i = 0; i < SteadyEvents; i++)
        {
            var customer = new CustomerId("c" + (i % 2_000).ToString(System.Globalization.CultureInfo.InvariantCulture));
            var at = now.AddSeconds(i - SteadyEvents);
            var product = "p" + (i % 50).ToString(System.Globalization.CultureInfo.InvariantCulture);
            _steady[i] = i % 10 == 0
                ? new AddedToCart { EventId = "e" + i, CustomerId = customer, Timestamp = at, ProductId = product }
                : new ProductViewed
                {
                    EventId = "e" + i, CustomerId = customer, Timestamp = at, ProductId = product, Category = "cat" + (i % 7),
                    Identifiers = i % 3 == 0 ? [Identifier.Anonymous("cookie-" + (i % 2_000))] : [],
                };
        }

        Array.Copy(_steady, _events, Events);
        _firstHalf = [.. _steady.Where((_, i) => i % 2_000 < 1_000)];
        _secondHalf = [.. _steady.Where((_, i) => i % 2_000 >= 1_000)];

        // The same events with random 128-bit ids (as GUIDs from most producers), seeded so that every run sees the same ids.
        var random = new Random(20261204);
        Span<byte> bytes = stackalloc byte[16];
        _randomIds = new EngagementEvent[SteadyEvents];
        for (var i = 0; i < SteadyEvents; i++)
        {
            random.NextBytes(bytes);
            _randomIds[i] = _steady[i] with { EventId = new Guid(bytes).ToString() };
        }
    }

    /// <summary>Fresh in-memory stores.</summary>
    [IterationSetup(Targets = [nameof(InMemoryOneByOne), nameof(InMemoryTwoWriters), nameof(InMemoryTwoWritersSplit)])]
    public void InMemoryStores() => Build(null);

    /// <summary>Fresh in-memory stores and ten segments (<see cref="TenSegments"/>).</summary>
    [IterationSetup(Targets = [nameof(InMemoryOneByOneTenSegments)])]
    public void InMemoryStoresWithSegments() => Build(null, TenSegments);

    /// <summary>A fresh SQLite file.</summary>
    [IterationSetup(Targets = [nameof(SqliteBatches), nameof(SqliteBatchesSteady), nameof(SqliteBatchesSteadyRandomIds)])]
    public void SqliteStore()
    {
        _directory = Directory.CreateTempSubdirectory("engagement-bench-").FullName;
        Build(Path.Combine(_directory, "shop.db"));
    }

    /// <summary>Disposes the stores.</summary>
    [IterationCleanup]
    public void Cleanup()
    {
        _provider.Dispose();
        if (_directory is not null)
        {
            Directory.Delete(_directory, recursive: true);
            _directory = null;
        }
    }

    /// <summary>In memory, one writer, one event at a time (100,000 events: long enough for the code to reach its optimised tier).</summary>
    /// <returns>A task.</returns>
    [Benchmark(Baseline = true, OperationsPerInvoke = SteadyEvents)]
    public async Task InMemoryOneByOne()
    {
        foreach (var e in _steady)
        {
            await _engine.TrackAsync(e).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// As <see cref="InMemoryOneByOne"/>, with ten segments kept as the events arrive: aggregates, an identifier, and three
    /// windowed counts (which every counted event updates and saves).
    /// </summary>
    /// <returns>A task.</returns>
    [Benchmark(OperationsPerInvoke = SteadyEvents)]
    public async Task InMemoryOneByOneTenSegments()
    {
        foreach (var e in _steady)
        {
            await _engine.TrackAsync(e).ConfigureAwait(false);
        }
    }

    /// <summary>The ten segments of <see cref="InMemoryOneByOneTenSegments"/>.</summary>
    public static IReadOnlyList<SegmentDefinition> TenSegments { get; } =
    [
        new("viewers", Condition.Aggregate(ProfileAggregate.ProductViews, ComparisonOperator.Ge, 1)),
        new("heavy_viewers", Condition.Aggregate(ProfileAggregate.ProductViews, ComparisonOperator.Ge, 40)),
        new("cart_open", Condition.Aggregate(ProfileAggregate.ItemsInCart, ComparisonOperator.Ge, 1)),
        new("buyers", Condition.Aggregate(ProfileAggregate.Orders, ComparisonOperator.Ge, 1)),
        new("big_spenders", Condition.Aggregate(ProfileAggregate.Revenue, ComparisonOperator.Ge, 500)),
        new("wide_browsers", Condition.Aggregate(ProfileAggregate.ItemsViewed, ComparisonOperator.Ge, 10)),
        new("cookie_known", Condition.HasIdentifier(IdentifierKind.Anonymous)),
        new("browsing_now", Condition.EventCount("product_viewed", TimeSpan.FromHours(1), ComparisonOperator.Ge, 3)),
        new("carted_this_week", Condition.EventCount("added_to_cart", TimeSpan.FromDays(7), ComparisonOperator.Ge, 1)),
        new("quiet_month", Condition.All(Condition.Aggregate(ProfileAggregate.ProductViews, ComparisonOperator.Ge, 1), Condition.NoEvent("product_viewed", TimeSpan.FromDays(30)))),
    ];

    /// <summary>In memory, two writers (one per core), customers split between them.</summary>
    /// <returns>A task.</returns>
    [Benchmark(OperationsPerInvoke = SteadyEvents)]
    public Task InMemoryTwoWriters()
        => Task.WhenAll(Enumerable.Range(0, 2).Select(writer => Task.Run(async () =>
        {
            for (var i = writer; i < _steady.Length; i += 2)
            {
                await _engine.TrackAsync(_steady[i]).ConfigureAwait(false);
            }
        })));

    /// <summary>
    /// In memory, two writers (one per core), each with its own half of the customers (the first 1,000 and the last 1,000), in
    /// the order of the stream: two request threads serving unrelated customers. In <see cref="InMemoryTwoWriters"/> the
    /// writers take alternate events, so at every step they work on neighbouring customers, whose entries in the stores' tables
    /// sit side by side.
    /// </summary>
    /// <returns>A task.</returns>
    [Benchmark(OperationsPerInvoke = SteadyEvents)]
    public Task InMemoryTwoWritersSplit()
        => Task.WhenAll(Enumerable.Range(0, 2).Select(writer => Task.Run(async () =>
        {
            foreach (var e in writer == 0 ? _firstHalf : _secondHalf)
            {
                await _engine.TrackAsync(e).ConfigureAwait(false);
            }
        })));

    /// <summary>SQLite, batches of 1,000 events (one transaction per batch, a savepoint per event).</summary>
    /// <returns>A task.</returns>
    [Benchmark(OperationsPerInvoke = Events)]
    public async Task SqliteBatches()
    {
        for (var start = 0; start < _events.Length; start += 1_000)
        {
            RequireAllAccepted(await _engine.TrackBatchAsync(new ArraySegment<EngagementEvent>(_events, start, 1_000)).ConfigureAwait(false));
        }
    }

    /// <summary>SQLite, batches of 1,000, 100,000 events into one file (the log checkpointed several times).</summary>
    /// <returns>A task.</returns>
    [Benchmark(OperationsPerInvoke = SteadyEvents)]
    public async Task SqliteBatchesSteady()
    {
        for (var start = 0; start < _steady.Length; start += 1_000)
        {
            RequireAllAccepted(await _engine.TrackBatchAsync(new ArraySegment<EngagementEvent>(_steady, start, 1_000)).ConfigureAwait(false));
        }
    }

    /// <summary>
    /// As <see cref="SqliteBatchesSteady"/>, with random event ids: every insert lands on a different page of the id index, so
    /// a batch dirties (and writes to the log) about one more page per event than with ids that grow.
    /// </summary>
    /// <returns>A task.</returns>
    [Benchmark(OperationsPerInvoke = SteadyEvents)]
    public async Task SqliteBatchesSteadyRandomIds()
    {
        for (var start = 0; start < _randomIds.Length; start += 1_000)
        {
            RequireAllAccepted(await _engine.TrackBatchAsync(new ArraySegment<EngagementEvent>(_randomIds, start, 1_000)).ConfigureAwait(false));
        }
    }

    // A rejected event is cheap: a benchmark whose events were rejected would measure nothing.
    private static void RequireAllAccepted(System.Collections.Immutable.ImmutableArray<BatchItemResult> results)
    {
        foreach (var result in results)
        {
            if (!result.IsSuccess || result.Result!.IsDuplicate)
            {
                throw new InvalidOperationException($"Event {result.Index} of a batch was not applied: {result.Error?.Message ?? "a duplicate"}");
            }
        }
    }

    private void Build(string? sqlitePath, IReadOnlyList<SegmentDefinition>? segments = null)
    {
        var services = new ServiceCollection();
        var builder = services.AddEngagement(o => o.DecisionTriggers.Clear());
        foreach (var segment in segments ?? [])
        {
            builder.AddSegment(segment);
        }

        if (sqlitePath is not null)
        {
            builder.UseSqlite($"Data Source={sqlitePath}");
        }

        _provider = services.BuildServiceProvider();
        _engine = _provider.GetRequiredService<IEngagementEngine>();
    }
}
