using System.Collections.Immutable;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Sdk.Benchmarks.Core;

/// <summary>
/// The transactional outbox, both halves. Tracking: 100,000 events over 2,000 customers (90 % product views, a third of them
/// carrying an anonymous id; 10 % carts, which trigger a decision that queues an email) through the engine, against the same
/// events with no decision triggers. Delivery: the <see cref="DispatchWorker"/> claiming, re-checking, sending (to an
/// <see cref="InMemoryChannelSender"/>) and settling 10,000 queued dispatches with their receipts. Every customer has an email
/// address and a marketing grant for it, and the caps allow what the workload sends, so every trigger queues and every
/// dispatch is sent: a run in which one is deferred, denied or left queued fails. Results are per event or per dispatch.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 40, iterationCount: 10, invocationCount: 1)]
public class OutboxBenchmarks
{
    private const int Customers = 2_000;
    private const int Events = 100_000;

    // Each customer's carts fall in blocks of 2,000 events whose number ends in the customer's last digit: 5 carts each.
    private const int Triggers = Events / 10;
    private const int Batch = 1_000;
    private const string ActionId = "cart-reminder";

    private EngagementEvent[] _events = null!;
    private EngagementEvent[] _carts = null!;
    private EngagementEvent[] _customers = null!;
    private ServiceProvider _provider = null!;
    private IEngagementEngine _engine = null!;
    private DispatchWorker _worker = null!;
    private InMemoryChannelSender _channel = null!;
    private string? _directory;
    private int _expectedQueued;
    private int _expectedSent;

    /// <summary>The workload, generated once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var now = DateTimeOffset.UtcNow;
        _events = new EngagementEvent[Events];
        var carts = new List<EngagementEvent>(Triggers);
        for (var i = 0; i < Events; i++)
        {
            var c = i % Customers;
            var customer = new CustomerId(Name("c", c));
            var at = now.AddSeconds(i - Events);
            var product = Name("p", i % 50);
            if (i % 10 == i / Customers % 10)
            {
                _events[i] = new AddedToCart { EventId = Name("e", i), CustomerId = customer, Timestamp = at, ProductId = product };
                carts.Add(_events[i]);
            }
            else
            {
                _events[i] = new ProductViewed
                {
                    EventId = Name("e", i), CustomerId = customer, Timestamp = at, ProductId = product, Category = Name("cat", i % 7),
                    Identifiers = i % 3 == 0 ? [Identifier.Anonymous(Name("cookie-", c))] : [],
                };
            }
        }

        _carts = [.. carts];
        if (_carts.Length != Triggers)
        {
            throw new InvalidOperationException($"The workload has {_carts.Length} carts, not {Triggers}.");
        }

        // Before the workload: each customer's email address and a marketing grant for it.
        _customers = new EngagementEvent[2 * Customers];
        for (var c = 0; c < Customers; c++)
        {
            var customer = new CustomerId(Name("c", c));
            var email = Identifier.Email(Name("c", c) + "@example.com");
            var at = now.AddSeconds(-Events - 60);
            _customers[2 * c] = new ProfileUpdated { EventId = Name("profile-", c), CustomerId = customer, Timestamp = at, Identifiers = [email] };
            _customers[(2 * c) + 1] = new ConsentChanged
            {
                EventId = Name("consent-", c), CustomerId = customer, Timestamp = at,
                Record = new ConsentRecord
                {
                    RecordId = Name("grant-", c), CustomerId = customer, Channel = Channel.Email, Purpose = Purpose.Marketing, Identifier = email,
                    Status = ConsentStatus.Granted, Source = "signup", Evidence = new ConsentEvidence("v1", "signup form"), EffectiveAt = at,
                },
            };
        }
    }

    /// <summary>Fresh in-memory stores with the customers; carts trigger no decision.</summary>
    [IterationSetup(Target = nameof(InMemoryTrackWithoutTriggers))]
    public void InMemoryWithoutTriggers() => Build(sqlite: false, triggers: false, queued: 0);

    /// <summary>Fresh in-memory stores with the customers.</summary>
    [IterationSetup(Target = nameof(InMemoryTrackQueuing))]
    public void InMemoryQueuing() => Build(sqlite: false, triggers: true, queued: Triggers);

    /// <summary>A fresh SQLite file with the customers; carts trigger no decision.</summary>
    [IterationSetup(Target = nameof(SqliteBatchesWithoutTriggers))]
    public void SqliteWithoutTriggers() => Build(sqlite: true, triggers: false, queued: 0);

    /// <summary>A fresh SQLite file with the customers.</summary>
    [IterationSetup(Target = nameof(SqliteBatchesQueuing))]
    public void SqliteQueuing() => Build(sqlite: true, triggers: true, queued: Triggers);

    /// <summary>Fresh in-memory stores with the customers and 10,000 queued dispatches.</summary>
    [IterationSetup(Target = nameof(InMemoryDeliver))]
    public void InMemoryQueued() => BuildQueued(sqlite: false);

    /// <summary>A fresh SQLite file with the customers and 10,000 queued dispatches.</summary>
    [IterationSetup(Target = nameof(SqliteDeliver))]
    public void SqliteQueued() => BuildQueued(sqlite: true);

    /// <summary>A fresh SQLite file with the customers and 10,000 queued dispatches; the worker claims up to 100 a pass.</summary>
    [IterationSetup(Target = nameof(SqliteDeliverPassesOf100))]
    public void SqliteQueuedPassesOf100() => BuildQueued(sqlite: true, batchSize: 100);

    /// <summary>Checks what the iteration left in the stores, then disposes them.</summary>
    [IterationCleanup]
    public void Cleanup()
    {
        try
        {
            Require(DispatchStatus.Queued, _expectedQueued);
            Require(DispatchStatus.Sent, _expectedSent);
            if (_channel.Messages.Count != _expectedSent)
            {
                throw new InvalidOperationException($"The channel accepted {_channel.Messages.Count} messages, not {_expectedSent}.");
            }
        }
        finally
        {
            _provider.Dispose();
            if (_directory is not null)
            {
                Directory.Delete(_directory, recursive: true);
                _directory = null;
            }
        }
    }

    /// <summary>In memory, one event at a time, no decision triggers: plain ingestion of the same events, for comparison.</summary>
    /// <returns>A task.</returns>
    [Benchmark(Baseline = true, OperationsPerInvoke = Events)]
    public async Task InMemoryTrackWithoutTriggers()
    {
        var queued = 0;
        foreach (var e in _events)
        {
            queued += Queued(await _engine.TrackAsync(e).ConfigureAwait(false));
        }

        RequireQueued(queued);
    }

    /// <summary>In memory, one event at a time; each cart decides and queues an email (10,000 of the 100,000 events).</summary>
    /// <returns>A task.</returns>
    [Benchmark(OperationsPerInvoke = Events)]
    public async Task InMemoryTrackQueuing()
    {
        var queued = 0;
        foreach (var e in _events)
        {
            queued += Queued(await _engine.TrackAsync(e).ConfigureAwait(false));
        }

        RequireQueued(queued);
    }

    /// <summary>SQLite, batches of 1,000 (one transaction per batch, a savepoint per event), no decision triggers.</summary>
    /// <returns>A task.</returns>
    [Benchmark(OperationsPerInvoke = Events)]
    public async Task SqliteBatchesWithoutTriggers() => RequireQueued(await TrackBatchesAsync(_events).ConfigureAwait(false));

    /// <summary>SQLite, batches of 1,000; each cart decides and queues an email in its event's savepoint.</summary>
    /// <returns>A task.</returns>
    [Benchmark(OperationsPerInvoke = Events)]
    public async Task SqliteBatchesQueuing() => RequireQueued(await TrackBatchesAsync(_events).ConfigureAwait(false));

    /// <summary>In memory: the worker delivers 10,000 queued dispatches (passes of 500, the default batch).</summary>
    /// <returns>A task.</returns>
    [Benchmark(OperationsPerInvoke = Triggers)]
    public async Task InMemoryDeliver() => RequireSent(await _worker.DeliverDueAsync().ConfigureAwait(false));

    /// <summary>SQLite: the worker delivers 10,000 queued dispatches (passes of 500, the default batch; one transaction each).</summary>
    /// <returns>A task.</returns>
    [Benchmark(OperationsPerInvoke = Triggers)]
    public async Task SqliteDeliver() => RequireSent(await _worker.DeliverDueAsync().ConfigureAwait(false));

    /// <summary>
    /// SQLite: as <see cref="SqliteDeliver"/> with passes of 100 (<see cref="DispatchOptions.BatchSize"/>, the default before
    /// 0.2): a pass's commit writes each page it changed once, however many of its dispatches changed it, so smaller passes
    /// write shared pages (indexes, the learning counts) more often.
    /// </summary>
    /// <returns>A task.</returns>
    [Benchmark(OperationsPerInvoke = Triggers)]
    public async Task SqliteDeliverPassesOf100() => RequireSent(await _worker.DeliverDueAsync().ConfigureAwait(false));

    private static string Name(string prefix, int i) => prefix + i.ToString(CultureInfo.InvariantCulture);

    private static int Queued(TrackResult result)
        => result.IsDuplicate ? throw new InvalidOperationException($"{result.Event.EventId} was a duplicate.")
        : result.Dispatch is { Result: { Status: DispatchStatus.Queued, WasReplay: false } } ? 1 : 0;

    private async Task<int> TrackBatchesAsync(EngagementEvent[] events)
    {
        var queued = 0;
        for (var start = 0; start < events.Length; start += Batch)
        {
            queued += Applied(await _engine.TrackBatchAsync(new ArraySegment<EngagementEvent>(events, start, Math.Min(Batch, events.Length - start))).ConfigureAwait(false));
        }

        return queued;
    }

    // A rejected or duplicate event fails the run; returns how many dispatches the batch queued.
    private static int Applied(ImmutableArray<BatchItemResult> results)
    {
        var queued = 0;
        foreach (var result in results)
        {
            if (!result.IsSuccess)
            {
                throw new InvalidOperationException($"Event {result.Index} of a batch was rejected: {result.Error?.Message}");
            }

            queued += Queued(result.Result!);
        }

        return queued;
    }

    private void RequireQueued(int queued)
    {
        if (queued != _expectedQueued)
        {
            throw new InvalidOperationException($"{queued} dispatches were queued, not {_expectedQueued}: the run measured deferrals or rejections.");
        }
    }

    private void RequireSent(ImmutableArray<DispatchRecord> settled)
    {
        var sent = settled.Count(d => d.Status == DispatchStatus.Sent);
        if (sent != _expectedSent || settled.Length != _expectedSent)
        {
            throw new InvalidOperationException($"{sent} of {settled.Length} settled dispatches were sent, not {_expectedSent}.");
        }
    }

    private void Require(DispatchStatus status, int expected)
    {
        var count = 0;
        var records = _provider.GetRequiredService<IDispatchStore>().ListByStatusAsync(status).GetAsyncEnumerator();
        try
        {
            while (records.MoveNextAsync().AsTask().GetAwaiter().GetResult())
            {
                count++;
            }
        }
        finally
        {
            records.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        if (count != expected)
        {
            throw new InvalidOperationException($"The store holds {count} {status} dispatches, not {expected}.");
        }
    }

    private void BuildQueued(bool sqlite, int? batchSize = null)
    {
        Build(sqlite, triggers: true, queued: 0, batchSize);
        var queued = TrackBatchesAsync(_carts).GetAwaiter().GetResult();
        if (queued != Triggers)
        {
            throw new InvalidOperationException($"Setup queued {queued} dispatches, not {Triggers}.");
        }

        Require(DispatchStatus.Queued, Triggers);
        _expectedSent = Triggers;
    }

    private void Build(bool sqlite, bool triggers, int queued, int? batchSize = null)
    {
        var services = new ServiceCollection();
        var builder = services.AddEngagement(o =>
        {
            o.DecisionTriggers.Clear();
            if (triggers)
            {
                o.DecisionTriggers.Add("added_to_cart");
            }

            // Only carts decide: a stage change deciding too would make the count of queued messages depend on the journey.
            o.DecideOnStageChange = false;
        });

        // One marketing email a day per customer would defer all but the first cart: the caps allow the workload's five each,
        // and are still checked (the gate reads each customer's dispatch log on every decision and hand-off).
        services.Configure<ContactPolicyOptions>(o =>
        {
            o.Caps.Clear();
            o.Caps.Add(new FrequencyCap { Channel = Channel.Email, Limit = 10, Window = TimeSpan.FromDays(1) });
            o.Caps.Add(new FrequencyCap { Channel = null, Limit = 20, Window = TimeSpan.FromDays(7) });
        });

        if (batchSize is { } size)
        {
            services.Configure<DispatchOptions>(o => o.BatchSize = size);
        }

        _channel = new InMemoryChannelSender(Channel.Email);
        // Greedy decisions, so that every cart queues and the run can check the count exactly (exploration would make a few
        // carts do nothing; its ε-greedy draw costs one random number).
        builder.AddChannel(_channel).ConfigureDecisions(static o => o.Exploration = ExplorationMode.Greedy).UseActions(ActionCatalog.Create([
            new ActionDefinition { Id = ActionId, Name = "Cart reminder", Channels = [Channel.Email], Value = 10m, BasePropensity = 0.1 },
        ]));
        if (sqlite)
        {
            _directory = Directory.CreateTempSubdirectory("engagement-bench-").FullName;
            builder.UseSqlite($"Data Source={Path.Combine(_directory, "shop.db")}");
        }

        _provider = services.BuildServiceProvider();
        _engine = _provider.GetRequiredService<IEngagementEngine>();
        _worker = _provider.GetRequiredService<DispatchWorker>();
        _expectedQueued = queued;
        _expectedSent = 0;
        if (TrackBatchesAsync(_customers).GetAwaiter().GetResult() != 0)
        {
            throw new InvalidOperationException("Setting up the customers queued a dispatch.");
        }
    }
}
