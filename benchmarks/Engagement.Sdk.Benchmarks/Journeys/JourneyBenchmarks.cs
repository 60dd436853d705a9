using System.Globalization;
using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Conditions;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Engagement.Sdk.Benchmarks.Journeys;

/// <summary>The journeys the benchmarks run.</summary>
internal static class BenchmarkJourneys
{
    public static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>The four-stage lifecycle with ten rules, two of them windowed event conditions.</summary>
    public static JourneyDefinition TenRules { get; } = JourneyDefinition.FromJson("""
        {"id":"lifecycle","goal":{"when":{"aggregate":"orders","ge":1}},"stages":[
          {"id":"attraction","entry":true},
          {"id":"relationship","entry":{"any":[{"identifier":["email","phone"]},{"aggregate":"itemsInCart","ge":1},{"event":"product_viewed","within":"P7D","count":{"ge":3}}]}},
          {"id":"conversion","entry":{"aggregate":"ordersKept","ge":1},"exit":{"when":{"aggregate":"ordersKept","lt":1}}},
          {"id":"engagement","entry":{"all":[{"aggregate":"ordersKept","ge":2},{"event":"purchased","within":"P90D","count":{"ge":1}}]},"exit":{"when":{"aggregate":"ordersKept","lt":2}}}]}
        """);

    /// <summary>The seed journey with lapse stages (at risk after 90 days without an order, lapsed after 180) and a win-back step.</summary>
    public static JourneyDefinition Lapse { get; } = JourneyDefinition.FromJson("""
        {"id":"lifecycle","stages":[
          {"id":"attraction","entry":true},
          {"id":"relationship","entry":{"identifier":["email","phone"]}},
          {"id":"conversion","entry":{"aggregate":"ordersKept","ge":1},"exit":{"when":{"aggregate":"ordersKept","lt":1}}},
          {"id":"engagement","entry":{"aggregate":"ordersKept","ge":2},"exit":{"when":{"aggregate":"ordersKept","lt":2}}},
          {"id":"at_risk","priority":10,"entry":{"all":[{"aggregate":"ordersKept","ge":1},{"event":"purchased","within":"P90D","count":{"eq":0}}]},
           "exit":{"when":{"event":"purchased","within":"P90D","count":{"ge":1}}},"steps":[{"id":"winback","type":"send","actions":["winback_offer"]}]},
          {"id":"lapsed","priority":11,"entry":{"all":[{"aggregate":"ordersKept","ge":1},{"event":"purchased","within":"P180D","count":{"eq":0}}]},
           "exit":{"when":{"event":"purchased","within":"P180D","count":{"ge":1}}}}]}
        """);

    /// <summary>The lapse journey without its win-back step: the sweep moves customers, nothing is decided or sent.</summary>
    public static JourneyDefinition LapseWithoutSteps { get; } = JourneyDefinition.FromJson(Lapse.ToJson(false).Replace(",\"steps\":[{\"id\":\"winback\",\"type\":\"send\",\"actions\":[\"winback_offer\"]}]", string.Empty, StringComparison.Ordinal));

    public static ActionCatalog Actions { get; } = ActionCatalog.Create([
        new ActionDefinition { Id = "winback_offer", Name = "Win-back", Channels = [Channel.Email], Value = 12m, BasePropensity = 0.05 },
    ]);

    public static CustomerProfile Buyer(CustomerId id) => ProfileUpdater.Apply(
        ProfileUpdater.Apply(CustomerProfile.New(id).WithIdentifier(Identifier.Email(id.Value + "@example.com")), Order(id, "1", Now.AddDays(-200))),
        Order(id, "2", Now.AddDays(-100)));

    public static Purchased Order(CustomerId id, string n, DateTimeOffset at)
        => new() { EventId = id.Value + "-o" + n, CustomerId = id, Timestamp = at, OrderId = id.Value + "-" + n, Lines = [new OrderLine("p" + n, 1, Money.Of(30m, "EUR"))] };
}

/// <summary>
/// Stage evaluation for one event: the four-stage lifecycle with ten rules (two windowed event conditions), on a customer
/// in the engagement stage — the counters updated, due timers caught up, every rule that could move the customer evaluated,
/// the next due time computed. Against the baseline of updating the counters alone.
/// </summary>
[MemoryDiagnoser]
public class JourneyEvaluation
{
    private const int Batch = 1000;
    private const int Events = 1 << 16;
    private readonly EngagementEvent[] _events = new EngagementEvent[Events];
    private readonly long[] _now = new long[Events];
    private JourneyEvaluator _evaluator = null!;
    private JourneyWorkspace _workspace = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var catalog = JourneyCatalog.Create([BenchmarkJourneys.TenRules]);
        var id = new CustomerId("c1");
        _evaluator = new JourneyEvaluator(catalog);
        _workspace = new JourneyWorkspace(catalog, BenchmarkJourneys.Buyer(id));
        _evaluator.Process(_workspace, BenchmarkJourneys.Order(id, "2", BenchmarkJourneys.Now.AddDays(-60)), BenchmarkJourneys.Now.AddDays(-60).UtcTicks);
        if (_workspace.StageId(0) != "engagement")
        {
            throw new InvalidOperationException($"The customer should be in engagement, not {_workspace.StageId(0)}.");
        }

        // Views, page views and carts a minute apart (the timestamps wrap every 65,536 events).
        for (var i = 0; i < Events; i++)
        {
            var at = BenchmarkJourneys.Now.AddMinutes(i);
            _events[i] = (i % 4) switch
            {
                0 or 2 => new ProductViewed { EventId = "v" + i, CustomerId = id, Timestamp = at, ProductId = "p" + (i % 50) },
                1 => new PageViewed { EventId = "p" + i, CustomerId = id, Timestamp = at, Url = "/" },
                _ => new AddedToCart { EventId = "c" + i, CustomerId = id, Timestamp = at, ProductId = "p" + (i % 50) },
            };
            _now[i] = at.UtcTicks;
        }

        _workspace.Effects.Clear();
    }

    /// <summary>The windowed counters updated for each event, nothing evaluated.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public void CountersOnly()
    {
        for (var i = 0; i < Batch; i++)
        {
            var n = _next++ & (Events - 1);
            _workspace.Windows.Record(_events[n], _now[n]);
        }
    }

    /// <summary>Stage evaluation per event.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public void Evaluate()
    {
        for (var i = 0; i < Batch; i++)
        {
            var n = _next++ & (Events - 1);
            _evaluator.Process(_workspace, _events[n], _now[n]);
        }

        _workspace.Effects.Clear();
    }
}

/// <summary>
/// The sweep of due journey timers through the engine: 1,000,000 customers in the journey store, 1 % of them (10,000) due —
/// 90 days without an order, so they move to at risk; with <see cref="Send"/>, the at-risk stage's win-back step runs too
/// (next-best-action and the permission gate; without consent nothing is sent). Each iteration starts from the same 10,000
/// due customers. Server GC, as ASP.NET Core hosts run (a million customers' state makes every workstation gen-0 collection
/// scan a large heap's cards).
/// </summary>
[MemoryDiagnoser]
[GcServer(true)]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 2, iterationCount: 10)]
public class JourneySweep
{
    private readonly List<CustomerId> _due = [];
    private readonly Dictionary<CustomerId, JourneyRecord> _original = [];
    private ServiceProvider _provider = null!;
    private IEngagementEngine _engine = null!;
    private IJourneyStore _store = null!;
    private IStoreTransactions _transactions = null!;
    private string? _file;

    /// <summary>The customers in the store.</summary>
    [Params(1_000_000)]
    public int Customers { get; set; }

    /// <summary>Where the journeys' state is kept.</summary>
    [Params("memory", "sqlite")]
    public string Store { get; set; } = "memory";

    /// <summary>Whether the at-risk stage runs its win-back send step (a decision and a permission check per customer).</summary>
    [Params(false, true)]
    public bool Send { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FixedClock(BenchmarkJourneys.Now));
        var builder = services.AddEngagement(o =>
        {
            o.Journeys.Clear();
            o.DecisionTriggers.Clear();
            o.DecideOnStageChange = false;
        }).AddChannel(new InMemoryChannelSender(Channel.Email)).UseActions(BenchmarkJourneys.Actions).AddJourney(Send ? BenchmarkJourneys.Lapse : BenchmarkJourneys.LapseWithoutSteps);
        if (Store == "sqlite")
        {
            _file = Path.Combine(Path.GetTempPath(), "journey-sweep-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + ".db");
            builder.UseSqlite("Data Source=" + _file);
        }

        _provider = services.BuildServiceProvider();
        _engine = _provider.GetRequiredService<IEngagementEngine>();
        _store = _provider.GetRequiredService<IJourneyStore>();
        _transactions = _provider.GetRequiredService<IStoreTransactions>();
        var catalog = _provider.GetRequiredService<JourneyCatalog>();
        var profiles = _provider.GetRequiredService<IProfileStore>();
        var lapse = catalog.Latest("lifecycle");
        Run(async () =>
        {
            const int Chunk = 10_000;
            for (var start = 0; start < Customers; start += Chunk)
            {
                var unit = _transactions.Begin();
                await using (unit)
                {
                    await unit.StartAsync();
                    for (var i = start; i < Math.Min(Customers, start + Chunk); i++)
                    {
                        var id = new CustomerId("c" + i.ToString("D7", CultureInfo.InvariantCulture));
                        var due = i % 100 == 0;
                        var record = Record(catalog, lapse, id, lastOrder: BenchmarkJourneys.Now.AddDays(due ? -100 : -10));
                        await _store.SaveAsync(record);
                        if (due)
                        {
                            _due.Add(id);
                            _original[id] = record;
                            await profiles.SaveAsync(BenchmarkJourneys.Buyer(id));
                        }
                    }

                    await unit.CompleteAsync();
                }
            }
        });
    }

    [IterationSetup]
    public void Reset() => Run(async () =>
    {
        var unit = _transactions.Begin();
        await using (unit)
        {
            await unit.StartAsync();
            foreach (var id in _due)
            {
                var current = await _store.GetAsync(id);
                await _store.SaveAsync(_original[id] with { Version = current!.Version });
            }

            await unit.CompleteAsync();
        }

        if ((await _store.ListDueAsync(BenchmarkJourneys.Now, _due.Count + 1)).Count != _due.Count)
        {
            throw new InvalidOperationException("The due customers were not reset.");
        }
    });

    /// <summary>One sweep: every due customer evaluated, moved and its step run, each in its own unit of work.</summary>
    [Benchmark]
    public async Task<int> Sweep()
    {
        var result = await _engine.SweepJourneysAsync();
        return result.Customers == _due.Count ? result.Customers : throw new InvalidOperationException($"Swept {result.Customers}, not {_due.Count}.");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _provider.Dispose();
        if (_file is not null)
        {
            foreach (var suffix in new[] { string.Empty, "-wal", "-shm" })
            {
                File.Delete(_file + suffix);
            }
        }
    }

    // A customer in engagement whose last order was at `lastOrder`: due 90 days after it (at risk).
    internal static JourneyRecord Record(JourneyCatalog catalog, JourneyDefinition lapse, CustomerId id, DateTimeOffset lastOrder)
    {
        var windows = catalog.NewWindows();
        windows.Record(BenchmarkJourneys.Order(id, "1", lastOrder.AddDays(-100)), lastOrder.UtcTicks);
        windows.Record(BenchmarkJourneys.Order(id, "2", lastOrder), lastOrder.UtcTicks);
        return new JourneyRecord
        {
            CustomerId = id,
            Tracks =
            [
                new JourneyTrack
                {
                    JourneyId = lapse.Id,
                    Version = lapse.Version,
                    Fingerprint = lapse.Fingerprint,
                    StageIndex = lapse.IndexOf("engagement"),
                    StepIndex = -1,
                    Visits = 3,
                    JourneyEnteredAt = lastOrder.AddDays(-100),
                    StageEnteredAt = lastOrder,
                    StepStartedAt = lastOrder,
                    DueAt = lastOrder.AddDays(90),
                },
            ],
            Windows = windows,
        };
    }

    private static void Run(Func<Task> work) => Task.Run(work).GetAwaiter().GetResult();

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}

/// <summary>
/// Retained memory of the journeys' state in the in-memory store: <c>count</c> customers in the lifecycle journey (with their
/// windowed counters and a due time), then the same with four journeys each; the difference per extra journey is the cost
/// of a track. Run with <c>-- --journey-memory [count]</c>.
/// </summary>
public static class JourneyMemory
{
    /// <summary>Measures and prints the result.</summary>
    /// <param name="count">How many customers.</param>
    public static void Run(int count)
    {
        var one = Measure(count, 1);
        var four = Measure(count, 4);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"JourneyTrack: {Unsafe.SizeOf<JourneyTrack>()} bytes"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{count:N0} customers in 1 journey: {one / (double)count:N0} bytes per customer (record, track, windowed counters, store entry, due index)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{count:N0} customers in 4 journeys: {four / (double)count:N0} bytes per customer, {four / (double)count / 4:N0} per customer per journey; each journey beyond the first adds {(four - one) / (double)count / 3:N0} bytes"));
    }

    private static long Measure(int count, int journeys)
    {
        var definitions = Enumerable.Range(0, journeys).Select(j => JourneyDefinition.FromJson(BenchmarkJourneys.Lapse.ToJson().Replace("\"lifecycle\"", $"\"lifecycle{j}\"", StringComparison.Ordinal))).ToList();
        var catalog = JourneyCatalog.Create(definitions, BenchmarkJourneys.Actions);
        var before = Collect();
        var store = new InMemoryJourneyStore();
        for (var i = 0; i < count; i++)
        {
            var id = new CustomerId("c" + i.ToString("D7", CultureInfo.InvariantCulture));
            var record = JourneySweep.Record(catalog, definitions[0], id, BenchmarkJourneys.Now.AddDays(-(i % 60)));
            record = record with { Tracks = [.. definitions.Select(d => record.Tracks[0] with { JourneyId = d.Id, Fingerprint = d.Fingerprint })] };
            store.SaveAsync(record).AsTask().GetAwaiter().GetResult();
        }

        var after = Collect();
        GC.KeepAlive(store);
        return after - before;
    }

    private static long Collect()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
