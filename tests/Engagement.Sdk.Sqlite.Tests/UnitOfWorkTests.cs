using System.Collections.Immutable;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing.Conformance;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Sdk.Sqlite.Tests;

/// <summary>An event, its effect on the profile and the dispatch log are written together on SQLite, and a batch is one transaction.</summary>
public sealed class UnitOfWorkTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly string _directory = Directory.CreateTempSubdirectory("engagement-uow-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Track_ProfileSaveFails_TheEventIsNotStoredEither()
    {
        await using var provider = Provider(failFor: "doomed");
        var engine = provider.GetRequiredService<IEngagementEngine>();

        var act = () => engine.TrackAsync(View("e1", "doomed")).AsTask();

        await act.Should().ThrowAsync<IOException>();
        (await provider.GetRequiredService<IEventStore>().ReadAsync(new CustomerId("doomed")).ToListAsync()).Should().BeEmpty("the append was rolled back with the failed profile save");
        (await engine.TrackAsync(View("e1", "fine-after-all") with { CustomerId = new CustomerId("doomed-2") })).IsDuplicate.Should().BeFalse("the event id was never taken");
    }

    [Fact]
    public async Task TrackBatch_OneEventRejectedAfterItsAppend_OnlyThatEventIsUndone()
    {
        await using var provider = Provider(failFor: "doomed", rejection: true);
        var engine = provider.GetRequiredService<IEngagementEngine>();

        var results = await engine.TrackBatchAsync([View("a", "ann"), View("b", "doomed"), View("c", "bob"), View("d", "ann")]);

        results.Select(r => r.IsSuccess).Should().Equal(true, false, true, true);
        var events = provider.GetRequiredService<IEventStore>();
        (await events.ReadAsync(new CustomerId("ann")).ToListAsync()).Should().HaveCount(2);
        (await events.ReadAsync(new CustomerId("doomed")).ToListAsync()).Should().BeEmpty();
        (await provider.GetRequiredService<IProfileStore>().GetAsync(new CustomerId("ann")))!.Behaviour.ProductViews.Should().Be(2);
        (await provider.GetRequiredService<IProfileStore>().GetAsync(new CustomerId("bob")))!.Behaviour.ProductViews.Should().Be(1);
    }

    [Fact]
    public async Task TrackBatch_EveryEventSucceeds_RunsWithoutASavepointAnEvent()
    {
        await using var provider = Provider();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        var database = provider.GetRequiredService<SqliteDatabase>();

        var results = await engine.TrackBatchAsync([View("a", "ann"), View("b", "bob"), View("c", "ann"), View("a", "ann")]);

        results.Select(r => r.IsSuccess).Should().Equal(true, true, true, true);
        results[3].Result!.IsDuplicate.Should().BeTrue();
        database.SavepointsBegun.Should().Be(0, "no event failed, so the batch ran in one optimistic unit");
        (await provider.GetRequiredService<IProfileStore>().GetAsync(new CustomerId("ann")))!.Behaviour.ProductViews.Should().Be(2);
        (await provider.GetRequiredService<IEventStore>().ReadAsync(new CustomerId("ann")).ToListAsync()).Should().HaveCount(2);
    }

    [Fact]
    public async Task TrackBatch_AnEventRejectedBeforeItsUnit_IsReportedWithoutRunningTheBatchAgain()
    {
        await using var provider = Provider();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        var database = provider.GetRequiredService<SqliteDatabase>();

        var results = await engine.TrackBatchAsync([View("a", "ann"), View("b", "ann") with { ProductId = "" }, null!, View("c", "ann")]);

        results.Select(r => r.IsSuccess).Should().Equal(true, false, false, true);
        results[1].Error.Should().BeOfType<EngagementValidationException>();
        results[2].Error.Should().BeOfType<EngagementValidationException>().Which.Field.Should().Be("events[2]");
        database.SavepointsBegun.Should().Be(0, "the checks before an event's unit write nothing, so the attempt stands");
        (await provider.GetRequiredService<IProfileStore>().GetAsync(new CustomerId("ann")))!.Behaviour.ProductViews.Should().Be(2);
    }

    [Fact]
    public async Task TrackBatch_AnEventConflictsAfterItsUnitBegan_TheAttemptIsUndoneAndTheBatchRunsAgainWithSavepoints()
    {
        await using var provider = Provider();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        var database = provider.GetRequiredService<SqliteDatabase>();
        (await engine.TrackAsync(View("taken", "bob"))).IsDuplicate.Should().BeFalse();

        var results = await engine.TrackBatchAsync([View("a", "ann"), View("taken", "bob") with { ProductId = "hat" }, View("c", "ann")]);

        results.Select(r => r.IsSuccess).Should().Equal(true, false, true);
        results[1].Error.Should().BeOfType<EventConflictException>();
        database.SavepointsBegun.Should().Be(3, "the attempt was rolled back and each event of the batch ran again in a savepoint");
        var events = provider.GetRequiredService<IEventStore>();
        (await events.ReadAsync(new CustomerId("ann")).ToListAsync()).Select(e => e.EventId).Should().BeEquivalentTo(["a", "c"], "the rolled-back attempt left nothing, and the second run wrote each event once");
        (await provider.GetRequiredService<IProfileStore>().GetAsync(new CustomerId("ann")))!.Behaviour.ProductViews.Should().Be(2);
        (await provider.GetRequiredService<IProfileStore>().GetAsync(new CustomerId("bob")))!.Behaviour.ProductViews.Should().Be(1);
    }

    [Fact]
    public async Task TrackBatch_InsideTheCallersUnit_KeepsASavepointAnEvent_SoARejectedOneLeavesTheCallersWrites()
    {
        await using var provider = Provider();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        var database = provider.GetRequiredService<SqliteDatabase>();
        (await engine.TrackAsync(View("taken", "bob"))).IsDuplicate.Should().BeFalse();

        var unit = database.Begin();
        await using (unit)
        {
            await unit.StartAsync();
            await engine.TrackAsync(View("mine", "cy"));
            var results = await engine.TrackBatchAsync([View("a", "ann"), View("taken", "bob") with { ProductId = "hat" }]);
            results.Select(r => r.IsSuccess).Should().Equal(true, false);
            await unit.CompleteAsync();
        }

        database.SavepointsBegun.Should().BeGreaterThanOrEqualTo(3);
        (await provider.GetRequiredService<IEventStore>().ReadAsync(new CustomerId("cy")).ToListAsync()).Should().ContainSingle();
        (await provider.GetRequiredService<IEventStore>().ReadAsync(new CustomerId("ann")).ToListAsync()).Should().ContainSingle();
    }

    [Fact]
    public async Task OptimisticUnit_ANestedUnitEndsWithoutCompleting_TheUnitCannotComplete()
    {
        await using var provider = Provider();
        var database = provider.GetRequiredService<SqliteDatabase>();
        var profiles = provider.GetRequiredService<IProfileStore>();

        var unit = database.TryBeginOptimistic()!;
        await using (unit)
        {
            await unit.StartAsync();
            var nested = database.Begin();
            await using (nested)
            {
                await profiles.SaveAsync(CustomerProfile.New(new CustomerId("ann")));
            }

            unit.MustRollBack.Should().BeTrue();
            var complete = () => unit.CompleteAsync().AsTask();
            await complete.Should().ThrowAsync<InvalidOperationException>();
        }

        (await profiles.GetAsync(new CustomerId("ann"))).Should().BeNull("the optimistic unit was rolled back as a whole");
        var next = database.TryBeginOptimistic();
        next.Should().NotBeNull("the unit ended, so none is current");
        await next!.DisposeAsync();
    }

    [Fact]
    public async Task Track_ConcurrentCallersOnManyCustomers_NeitherDeadlockNorLoseUpdates()
    {
        await using var provider = Provider();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        var ledger = provider.GetRequiredService<ConsentLedger>();

        var work = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                var customer = "c" + (i % 5);
                if (i % 10 == 0)
                {
                    await engine.RecordConsentAsync(new ConsentRecord
                    {
                        RecordId = $"w{worker}-{i}", CustomerId = new CustomerId(customer), Channel = Channel.Email, Purpose = Purpose.Marketing,
                        Status = ConsentStatus.Withdrawn, Source = "test", EffectiveAt = Now.AddMinutes(-i),
                    });
                }

                await engine.TrackBatchAsync([View($"w{worker}-{i}", customer)]);
                await engine.DecideAsync(new CustomerId(customer));
            }
        }));
        var all = Task.WhenAll(work);

        (await Task.WhenAny(all, Task.Delay(TimeSpan.FromMinutes(2)))).Should().BeSameAs(all, "no caller may wait forever");
        await all;
        var views = 0;
        for (var c = 0; c < 5; c++)
        {
            views += (await provider.GetRequiredService<IProfileStore>().GetAsync(new CustomerId("c" + c)))!.Behaviour.ProductViews;
        }

        views.Should().Be(400);
        _ = ledger;
    }

    [Fact]
    public async Task Dispatch_QueuedWithTheEventAndLeasedDurablyBeforeTheChannelIsCalled()
    {
        var path = Path.Combine(_directory, "durable.db");
        var observer = new ObservingSender(path);
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(Now));
        services.AddEngagement().UseSqlite($"Data Source={path}").AddChannel(observer).UseActions(ActionCatalog.Create([
            new ActionDefinition { Id = "welcome", Name = "Welcome", Channels = [Channel.Email], Value = 10m, BasePropensity = 0.5 },
        ]));
        await using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        var email = Identifier.Email("ann@example.com");
        await engine.RecordConsentAsync(new ConsentRecord
        {
            RecordId = "g1", CustomerId = new CustomerId("ann"), Channel = Channel.Email, Identifier = email, Purpose = Purpose.Marketing,
            Status = ConsentStatus.Granted, Source = "form", Evidence = new ConsentEvidence("v1", "form"), EffectiveAt = Now.AddDays(-1),
        });

        var result = await engine.TrackAsync(new AddedToCart { EventId = "cart-1", CustomerId = new CustomerId("ann"), Timestamp = Now, Identifiers = [email], ProductId = "boots" });

        result.Dispatch!.Result.Status.Should().Be(DispatchStatus.Queued);
        observer.SeenFromAnotherConnection.Should().BeEmpty("tracking only queues the message");
        var settled = await provider.GetRequiredService<DispatchWorker>().DeliverDueAsync();

        settled.Should().ContainSingle().Which.Status.Should().Be(DispatchStatus.Sent);
        observer.SeenFromAnotherConnection.Should().ContainSingle().Which.Should().Be(DispatchStatus.Sending,
            "while the channel is called, another connection already sees the leased entry and the event that caused it");
        observer.EventSeenFromAnotherConnection.Should().BeTrue();
        var events = await provider.GetRequiredService<IEventStore>().ReadAsync(new CustomerId("ann")).ToListAsync();
        events.OfType<MessageSent>().Should().ContainSingle().Which.DispatchId.Should().Be(result.Dispatch.Result.DispatchId, "the receipt is written with the settlement");
    }

    [Fact]
    public async Task Worker_AReceiptRefusedAfterItsUnitBegan_ThePassIsWrittenAgainWithSavepoints_AndOnlyThatReceiptIsLeftOut()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(Now));
        var channel = new InMemoryChannelSender(Channel.Email);
        services.AddEngagement(o => o.DecideOnStageChange = false).UseSqlite($"Data Source={Path.Combine(_directory, "receipts.db")}").AddChannel(channel)
            .ConfigureDecisions(static o => o.Exploration = ExplorationMode.Greedy)
            .UseActions(ActionCatalog.Create([new ActionDefinition { Id = "welcome", Name = "Welcome", Channels = [Channel.Email], Value = 10m, BasePropensity = 0.5 }]));
        await using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        var database = provider.GetRequiredService<SqliteDatabase>();
        var queued = new List<string>();
        foreach (var name in new[] { "ann", "bob", "cy" })
        {
            var email = Identifier.Email(name + "@example.com");
            await engine.RecordConsentAsync(new ConsentRecord
            {
                RecordId = "g-" + name, CustomerId = new CustomerId(name), Channel = Channel.Email, Identifier = email, Purpose = Purpose.Marketing,
                Status = ConsentStatus.Granted, Source = "form", Evidence = new ConsentEvidence("v1", "form"), EffectiveAt = Now.AddDays(-1),
            });
            var cart = await engine.TrackAsync(new AddedToCart { EventId = "cart-" + name, CustomerId = new CustomerId(name), Timestamp = Now, Identifiers = [email], ProductId = "boots" });
            queued.Add(cart.Dispatch!.Result.DispatchId);
        }

        // Bob's receipt id is taken by another event: his receipt conflicts once its unit has begun.
        (await engine.TrackAsync(View("sent-" + queued[1], "bob"))).IsDuplicate.Should().BeFalse();
        var before = database.SavepointsBegun;

        var settled = await provider.GetRequiredService<DispatchWorker>().DeliverDueAsync();

        settled.Select(d => d.Status).Should().Equal(DispatchStatus.Sent, DispatchStatus.Sent, DispatchStatus.Sent);
        database.SavepointsBegun.Should().Be(before + 3, "the optimistic attempt was rolled back and the pass written again, a savepoint a receipt");
        var events = provider.GetRequiredService<IEventStore>();
        foreach (var (name, id) in new[] { ("ann", queued[0]), ("cy", queued[2]) })
        {
            (await events.ReadAsync(new CustomerId(name)).ToListAsync()).OfType<MessageSent>().Should().ContainSingle("the rolled-back attempt left nothing").Which.DispatchId.Should().Be(id);
            (await provider.GetRequiredService<IProfileStore>().GetAsync(new CustomerId(name)))!.Behaviour.MessagesSent[Channel.Email].Should().Be(1);
        }

        (await events.ReadAsync(new CustomerId("bob")).ToListAsync()).OfType<MessageSent>().Should().BeEmpty("his receipt was refused, and the dispatch stays sent");
        (await provider.GetRequiredService<IDispatchStore>().GetAsync(queued[1]))!.Status.Should().Be(DispatchStatus.Sent);
        channel.Messages.Should().HaveCount(3);

        // A pass whose receipts are all stored runs without a savepoint a receipt.
        var dee = Identifier.Email("dee@example.com");
        await engine.RecordConsentAsync(new ConsentRecord
        {
            RecordId = "g-dee", CustomerId = new CustomerId("dee"), Channel = Channel.Email, Identifier = dee, Purpose = Purpose.Marketing,
            Status = ConsentStatus.Granted, Source = "form", Evidence = new ConsentEvidence("v1", "form"), EffectiveAt = Now.AddDays(-1),
        });
        (await engine.TrackAsync(new AddedToCart { EventId = "cart-dee", CustomerId = new CustomerId("dee"), Timestamp = Now, Identifiers = [dee], ProductId = "boots" })).Dispatch!.Result.Status.Should().Be(DispatchStatus.Queued);
        var quiet = database.SavepointsBegun;
        (await provider.GetRequiredService<DispatchWorker>().DeliverDueAsync()).Should().ContainSingle().Which.Status.Should().Be(DispatchStatus.Sent);
        database.SavepointsBegun.Should().Be(quiet);
        (await events.ReadAsync(new CustomerId("dee")).ToListAsync()).OfType<MessageSent>().Should().ContainSingle();
    }

    [Fact]
    public async Task TrackBatch_StorageFailsMidway_NothingOfTheBatchIsWritten()
    {
        await using var provider = Provider(failFor: "doomed");
        var engine = provider.GetRequiredService<IEngagementEngine>();

        var act = () => engine.TrackBatchAsync([View("a", "ann"), View("b", "doomed"), View("c", "bob")]).AsTask();

        await act.Should().ThrowAsync<IOException>();
        (await provider.GetRequiredService<IEventStore>().ReadRangeAsync(Now.AddDays(-1), Now.AddDays(1)).ToListAsync()).Should().BeEmpty();
        (await provider.GetRequiredService<IProfileStore>().GetAsync(new CustomerId("ann"))).Should().BeNull();
    }

    [Fact]
    public async Task TrackBatch_ViewOrderPastTheMoneyLimitView_RejectsOnlyTheOrderAndIngestsTheViews()
    {
        await using var provider = Provider();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        await engine.TrackAsync(Order("o1", 6e17m));

        var results = await engine.TrackBatchAsync([View("v1", "ann"), Order("o2", 6e17m), View("v2", "ann"), Order("o3", decimal.MaxValue / 2)]);

        results.Select(r => r.IsSuccess).Should().Equal(true, false, true, false);
        results[1].Error.Should().BeOfType<EngagementValidationException>().Which.Rule.Should().Contain("Money.MaxAmount");
        results[3].Error.Should().BeOfType<EngagementValidationException>().Which.Field.Should().Be("lines[0].unitPrice");
        (await provider.GetRequiredService<IEventStore>().ReadAsync(new CustomerId("ann")).ToListAsync()).Select(e => e.EventId).Should().BeEquivalentTo(["o1", "v1", "v2"]);
        var profile = (await provider.GetRequiredService<IProfileStore>().GetAsync(new CustomerId("ann")))!;
        profile.Behaviour.ProductViews.Should().Be(2);
        profile.Behaviour.Revenue.Should().Be(Money.Of(6e17m, "EUR"));
    }

    [Fact]
    public async Task Import_AConflictFoundOnlyWhileWriting_UndoesTheWholeImport()
    {
        await using var source = Provider();
        await source.GetRequiredService<IEngagementEngine>().TrackAsync(View("shared-id", "ann"));
        var export = await source.GetRequiredService<CustomerDataPortability>().ExportAsync(new CustomerId("ann"));

        // The target holds the event id already, for another customer: the import learns it only when it appends the event,
        // after the profile was written.
        await using var target = Provider();
        await target.GetRequiredService<IEngagementEngine>().TrackAsync(View("shared-id", "bob"));
        var act = async () => await target.GetRequiredService<CustomerDataPortability>().ImportAsync(export);

        await act.Should().ThrowAsync<EventConflictException>();
        (await target.GetRequiredService<IProfileStore>().GetAsync(new CustomerId("ann"))).Should().BeNull("the profile written before the conflict is undone with the rest");
    }

    private ServiceProvider Provider(string? failFor = null, bool rejection = false)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(Now));
        services.AddEngagement(o => o.DecisionTriggers.Clear()).UseSqlite($"Data Source={Path.Combine(_directory, Guid.NewGuid().ToString("N") + ".db")}");
        if (failFor is not null)
        {
            services.AddSingleton<IProfileStore>(sp => new FailingProfileStore(new SqliteProfileStore(sp.GetRequiredService<SqliteDatabase>()), new CustomerId(failFor), rejection ? ProfileSaveFailure.Rejection : ProfileSaveFailure.StoreFault));
        }

        return services.BuildServiceProvider();
    }

    private static ProductViewed View(string id, string customer)
        => new() { EventId = id, CustomerId = new CustomerId(customer), Timestamp = Now.AddMinutes(-1), ProductId = "boots" };

    private static Purchased Order(string id, decimal price)
        => new() { EventId = id, CustomerId = new CustomerId("ann"), Timestamp = Now.AddMinutes(-1), OrderId = id, Lines = [new OrderLine("boots", 1, Money.Of(price, "EUR"))] };

    private sealed class ObservingSender(string path) : IChannelSender
    {
        public List<DispatchStatus> SeenFromAnotherConnection { get; } = [];

        public bool EventSeenFromAnotherConnection { get; private set; }

        public Channel Channel => Channel.Email;

        public async ValueTask<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            using var other = new SqliteDatabase(Options.Create(new SqliteStoreOptions { ConnectionString = $"Data Source={path}" }));
            foreach (var dispatch in await new SqliteDispatchStore(other).ListAsync(message.CustomerId, DateTimeOffset.MinValue, cancellationToken))
            {
                SeenFromAnotherConnection.Add(dispatch.Status);
            }

            EventSeenFromAnotherConnection = (await new SqliteEventStore(other).ReadAsync(message.CustomerId).ToListAsync(cancellationToken)).Any(e => e.EventId == "cart-1");
            return new SendResult(SendOutcome.Accepted, null);
        }
    }
}

/// <summary>Two processes sharing one SQLite file never both take the last slot of a frequency cap.</summary>
public sealed class CrossProcessCapTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly string _directory = Directory.CreateTempSubdirectory("engagement-caps-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Track_TwoEnginesOnOneFileRacingForTheLastSlot_SendExactlyOneMessage()
    {
        var path = Path.Combine(_directory, "shared.db");
        var senders = new[] { new InMemoryChannelSender(Channel.Email), new InMemoryChannelSender(Channel.Email) };
        var providers = senders.Select(sender =>
        {
            var services = new ServiceCollection();
            services.AddSingleton<TimeProvider>(new FakeTimeProvider(Now));
            services.AddEngagement().UseSqlite(o => (o.ConnectionString, o.BusyTimeout) = ($"Data Source={path}", TimeSpan.FromSeconds(30)))
                .AddChannel(sender)
                .UseActions(ActionCatalog.Create([new ActionDefinition { Id = "offer", Name = "Offer", Channels = [Channel.Email], Value = 5m, BasePropensity = 0.5 }]));
            return services.BuildServiceProvider();
        }).ToArray();
        try
        {
            var email = Identifier.Email("ann@example.com");
            await DeliveringEngine.From(providers[0]).RecordConsentAsync(new ConsentRecord
            {
                RecordId = "g1", CustomerId = new CustomerId("ann"), Channel = Channel.Email, Identifier = email, Purpose = Purpose.Marketing,
                Status = ConsentStatus.Granted, Source = "form", Evidence = new ConsentEvidence("v1", "form"), EffectiveAt = Now.AddDays(-1),
            });

            var carts = Enumerable.Range(0, 24).Select(i => Task.Run(async () =>
                await DeliveringEngine.From(providers[i % 2]).TrackAsync(new AddedToCart
                {
                    EventId = "cart-" + i, CustomerId = new CustomerId("ann"), Timestamp = Now, Identifiers = [email], ProductId = "sku-" + i,
                })));
            await Task.WhenAll(carts);

            (senders[0].Messages.Count + senders[1].Messages.Count).Should().Be(1, "the default cap is one marketing email per day, across processes too");
        }
        finally
        {
            foreach (var provider in providers)
            {
                await provider.DisposeAsync();
            }
        }
    }
}

/// <summary>The outbox's fault guarantees on SQLite: two processes (two providers, two connections) on one file.</summary>
public sealed class SqliteOutboxFaultTests(Xunit.Abstractions.ITestOutputHelper output) : OutboxFaultConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    protected override void Report(string line) => output.WriteLine(line);

    private readonly string _directory = Directory.CreateTempSubdirectory("engagement-outbox-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    protected override IReadOnlyList<IServiceProvider> CreateProcesses(TimeProvider clock, IChannelSender sender, int count)
    {
        var path = Path.Combine(_directory, "outbox.db");
        return [.. Enumerable.Range(0, count).Select(_ =>
        {
            var services = new ServiceCollection();
            AddShop(services, clock, sender).UseSqlite(o => (o.ConnectionString, o.BusyTimeout) = ($"Data Source={path}", TimeSpan.FromSeconds(30)));
            return services.BuildServiceProvider();
        })];
    }
}

/// <summary>An event and its effects are all or nothing on SQLite.</summary>
public sealed class SqliteEventAtomicityTests : EventAtomicityConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly string _directory = Directory.CreateTempSubdirectory("engagement-atomic-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    protected override void AddStore(EngagementBuilder builder)
        => builder.UseSqlite(o => o.ConnectionString = $"Data Source={Path.Combine(_directory, Guid.NewGuid().ToString("N") + ".db")}");
}

/// <summary>The storage items of the bad-input list on SQLite.</summary>
public sealed class SqliteBadInputTests : BadInputConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly string _directory = Directory.CreateTempSubdirectory("engagement-bad-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    protected override void AddStore(EngagementBuilder builder)
        => builder.UseSqlite(o => o.ConnectionString = $"Data Source={Path.Combine(_directory, Guid.NewGuid().ToString("N") + ".db")}");
}

/// <summary>Unmerge restores both sides exactly on SQLite.</summary>
public sealed class SqliteMergeHistoryTests : MergeHistoryConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly string _directory = Directory.CreateTempSubdirectory("engagement-merges-").FullName;

    protected override int Histories => 25;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    protected override void AddStore(EngagementBuilder builder)
        => builder.UseSqlite(o => o.ConnectionString = $"Data Source={Path.Combine(_directory, Guid.NewGuid().ToString("N") + ".db")}");
}
