using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Sdk.PostgreSql.Tests;

/// <summary>Units of work on PostgreSQL: an event and its effects are atomic, and caps hold across processes.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlUnitOfWorkTests(PostgreSqlServerFixture server)
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Track_ProfileSaveFails_TheEventIsNotStoredEither()
    {
        var schema = "t_" + Guid.NewGuid().ToString("N");
        await using var provider = Provider(schema, failFor: "doomed");
        var engine = DeliveringEngine.From(provider);

        var act = () => engine.TrackAsync(View("e1", "doomed")).AsTask();

        await act.Should().ThrowAsync<IOException>();
        (await provider.GetRequiredService<IEventStore>().ReadAsync(new CustomerId("doomed")).ToListAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task TrackBatch_OneEventRejectedAfterItsAppend_OnlyThatEventIsUndone()
    {
        var schema = "t_" + Guid.NewGuid().ToString("N");
        await using var provider = Provider(schema, failFor: "doomed", rejection: true);
        var engine = DeliveringEngine.From(provider);

        var results = await engine.TrackBatchAsync([View("a", "ann"), View("b", "doomed"), View("c", "ann")]);

        results.Select(r => r.IsSuccess).Should().Equal(true, false, true);
        (await provider.GetRequiredService<IEventStore>().ReadAsync(new CustomerId("ann")).ToListAsync()).Should().HaveCount(2);
        (await provider.GetRequiredService<IEventStore>().ReadAsync(new CustomerId("doomed")).ToListAsync()).Should().BeEmpty();
        (await provider.GetRequiredService<IProfileStore>().GetAsync(new CustomerId("ann")))!.Behaviour.ProductViews.Should().Be(2);
    }

    [Fact]
    public async Task TrackBatch_EveryEventSucceeds_RunsWithoutASavepointAnEvent()
    {
        var schema = "t_" + Guid.NewGuid().ToString("N");
        await using var provider = Provider(schema);
        var engine = DeliveringEngine.From(provider);
        var database = provider.GetRequiredService<PostgreSqlDatabase>();

        var results = await engine.TrackBatchAsync([View("a", "ann"), View("b", "bob"), View("c", "ann"), View("a", "ann")]);

        results.Select(r => r.IsSuccess).Should().Equal(true, true, true, true);
        results[3].Result!.IsDuplicate.Should().BeTrue();
        database.SavepointsBegun.Should().Be(0, "no event failed, so the batch ran in one optimistic unit");
        (await provider.GetRequiredService<IProfileStore>().GetAsync(new CustomerId("ann")))!.Behaviour.ProductViews.Should().Be(2);
    }

    [Fact]
    public async Task TrackBatch_AnEventConflictsAfterItsUnitBegan_TheAttemptIsUndoneAndTheBatchRunsAgainWithSavepoints()
    {
        var schema = "t_" + Guid.NewGuid().ToString("N");
        await using var provider = Provider(schema);
        var engine = DeliveringEngine.From(provider);
        var database = provider.GetRequiredService<PostgreSqlDatabase>();
        (await engine.TrackAsync(View("taken", "bob"))).IsDuplicate.Should().BeFalse();

        var results = await engine.TrackBatchAsync([View("a", "ann"), View("taken", "bob") with { ProductId = "hat" }, View("c", "ann")]);

        results.Select(r => r.IsSuccess).Should().Equal(true, false, true);
        results[1].Error.Should().BeOfType<EventConflictException>();
        database.SavepointsBegun.Should().Be(3, "the attempt was rolled back and each event of the batch ran again in a savepoint");
        (await provider.GetRequiredService<IEventStore>().ReadAsync(new CustomerId("ann")).ToListAsync()).Select(e => e.EventId).Should().BeEquivalentTo(["a", "c"]);
        (await provider.GetRequiredService<IProfileStore>().GetAsync(new CustomerId("ann")))!.Behaviour.ProductViews.Should().Be(2);
        (await provider.GetRequiredService<IProfileStore>().GetAsync(new CustomerId("bob")))!.Behaviour.ProductViews.Should().Be(1);
    }

    [Fact]
    public async Task Track_SixProcessesRacingOnOneCustomer_AllEventsApplyAndExactlyOneMessageIsSent()
    {
        // Six engines on separate connection pools stand for six processes. Each event's unit of work holds the customer's
        // advisory lock (and, once the profile is saved, its row lock) until it commits, so the cap check and the dispatch log
        // entry of one unit are never interleaved with another's.
        var schema = "t_" + Guid.NewGuid().ToString("N");
        var senders = Enumerable.Range(0, 6).Select(_ => new InMemoryChannelSender(Channel.Email)).ToArray();
        var providers = senders.Select(sender => Provider(schema, sender: sender)).ToArray();
        try
        {
            var email = Identifier.Email("ann@example.com");
            await DeliveringEngine.From(providers[0]).RecordConsentAsync(new ConsentRecord
            {
                RecordId = "g1", CustomerId = new CustomerId("ann"), Channel = Channel.Email, Identifier = email, Purpose = Purpose.Marketing,
                Status = ConsentStatus.Granted, Source = "form", Evidence = new ConsentEvidence("v1", "form"), EffectiveAt = Now.AddDays(-1),
            });

            await Task.WhenAll(Enumerable.Range(0, 48).Select(i => Task.Run(async () =>
                await DeliveringEngine.From(providers[i % providers.Length]).TrackAsync(new AddedToCart
                {
                    EventId = "cart-" + i, CustomerId = new CustomerId("ann"), Timestamp = Now, Identifiers = [email], ProductId = "sku-" + i,
                }))));

            senders.Sum(s => s.Messages.Count).Should().Be(1, "the default cap is one marketing email per day, across processes too");
            (await providers[1].GetRequiredService<IEventStore>().ReadAsync(new CustomerId("ann")).ToListAsync()).OfType<AddedToCart>().Should().HaveCount(48);
            (await providers[2].GetRequiredService<IProfileStore>().GetAsync(new CustomerId("ann")))!.Behaviour.ItemsInCart.Should().HaveCount(48);
        }
        finally
        {
            foreach (var provider in providers)
            {
                await provider.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task TrackBatch_ViewOrderPastTheMoneyLimitView_RejectsOnlyTheOrderAndIngestsTheViews()
    {
        await using var provider = Provider("t_" + Guid.NewGuid().ToString("N"));
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

    private ServiceProvider Provider(string schema, string? failFor = null, bool rejection = false, InMemoryChannelSender? sender = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(Now));
        var builder = services.AddEngagement(o =>
        {
            if (sender is null)
            {
                o.DecisionTriggers.Clear();
            }
        }).UsePostgreSql(o => (o.ConnectionString, o.Schema) = (server.ConnectionString, schema));
        if (sender is not null)
        {
            builder.AddChannel(sender).UseActions(ActionCatalog.Create([new ActionDefinition { Id = "offer", Name = "Offer", Channels = [Channel.Email], Value = 5m, BasePropensity = 0.5 }]));
        }

        if (failFor is not null)
        {
            services.AddSingleton<IProfileStore>(sp => new FailingProfileStore(new PostgreSqlProfileStore(sp.GetRequiredService<PostgreSqlDatabase>()), new CustomerId(failFor), rejection ? ProfileSaveFailure.Rejection : ProfileSaveFailure.StoreFault));
        }

        return services.BuildServiceProvider();
    }

    private static ProductViewed View(string id, string customer)
        => new() { EventId = id, CustomerId = new CustomerId(customer), Timestamp = Now.AddMinutes(-1), ProductId = "boots" };

    private static Purchased Order(string id, decimal price)
        => new() { EventId = id, CustomerId = new CustomerId("ann"), Timestamp = Now.AddMinutes(-1), OrderId = id, Lines = [new OrderLine("boots", 1, Money.Of(price, "EUR"))] };
}

/// <summary>The outbox's fault guarantees on PostgreSQL: two processes (two providers, two connection pools) on one schema.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlOutboxFaultTests(PostgreSqlServerFixture server, Xunit.Abstractions.ITestOutputHelper output) : Engagement.Sdk.Testing.Conformance.OutboxFaultConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    protected override void Report(string line) => output.WriteLine(line);

    protected override IReadOnlyList<IServiceProvider> CreateProcesses(TimeProvider clock, IChannelSender sender, int count)
    {
        var schema = "t_" + Guid.NewGuid().ToString("N");
        return [.. Enumerable.Range(0, count).Select(_ =>
        {
            var services = new ServiceCollection();
            AddShop(services, clock, sender).UsePostgreSql(o => (o.ConnectionString, o.Schema) = (server.ConnectionString, schema));
            return services.BuildServiceProvider();
        })];
    }
}

/// <summary>An event and its effects are all or nothing on PostgreSQL.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlEventAtomicityTests(PostgreSqlServerFixture server) : Engagement.Sdk.Testing.Conformance.EventAtomicityConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    protected override void AddStore(EngagementBuilder builder)
        => builder.UsePostgreSql(o => (o.ConnectionString, o.Schema) = (server.ConnectionString, "t_" + Guid.NewGuid().ToString("N")));
}

/// <summary>The storage items of the bad-input list on PostgreSQL.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlBadInputTests(PostgreSqlServerFixture server) : Engagement.Sdk.Testing.Conformance.BadInputConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    protected override void AddStore(EngagementBuilder builder)
        => builder.UsePostgreSql(o => (o.ConnectionString, o.Schema) = (server.ConnectionString, "t_" + Guid.NewGuid().ToString("N")));
}

/// <summary>Unmerge restores both sides exactly on PostgreSQL.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlMergeHistoryTests(PostgreSqlServerFixture server) : Engagement.Sdk.Testing.Conformance.MergeHistoryConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    protected override int Histories => 15;

    protected override void AddStore(EngagementBuilder builder)
        => builder.UsePostgreSql(o => (o.ConnectionString, o.Schema) = (server.ConnectionString, "t_" + Guid.NewGuid().ToString("N")));
}
