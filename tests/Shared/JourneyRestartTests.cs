using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Testing.Journeys;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Sdk.SharedTests;

/// <summary>
/// Journeys through the whole engine on a database: a customer's place in the steps and their timer survive a restart, the
/// step runs once after it, and an erased customer leaves no timer behind. This file is shared by the SQLite and PostgreSQL tests.
/// </summary>
public abstract class JourneyRestartTests
{
    private static readonly DateTimeOffset T0 = JourneyTestHost.DefaultStart;
    private static readonly CustomerId Ann = new("ann");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");

    private static readonly JourneyDefinition Journey = JourneyDefinition.FromJson("""
        {"id":"cart","stages":[{"id":"carted","entry":{"aggregate":"itemsInCart","ge":1},"steps":[
          {"id":"wait","type":"waitForEvent","events":["purchased"],"timeout":"P2D","onEvent":"end"},
          {"id":"remind","type":"send","actions":["cart_reminder"]}]}]}
        """);

    private static readonly ActionCatalog Actions = ActionCatalog.Create([
        new ActionDefinition { Id = "cart_reminder", Name = "Cart reminder", Kind = ActionKind.Message, Channels = [Channel.Email], Value = 5m, BasePropensity = 0.2 },
    ]);

    /// <summary>Puts the engine's stores on the test's database (the same one on every call within a test).</summary>
    protected abstract void UseStorage(EngagementBuilder builder);

    [Fact]
    public async Task Steps_WaitingAcrossARestart_RunOnceWhenDue()
    {
        await using (var before = Host(T0))
        {
            await before.ConsentAsync(new ConsentRecord
            {
                RecordId = "g1", CustomerId = Ann, Channel = Channel.Email, Purpose = Purpose.Marketing, Identifier = AnnEmail,
                Status = ConsentStatus.Granted, Source = "test", Evidence = new ConsentEvidence("v1", "signup"), EffectiveAt = T0.AddDays(-1),
            });
            await before.TrackAsync(new AddedToCart { EventId = "c1", CustomerId = Ann, Timestamp = T0, ProductId = "boots", Identifiers = [AnnEmail] });
            (await before.PathAsync(Ann, "cart")).Steps.Should().Equal("carted/wait");
            (await before.Store.GetAsync(Ann))!.DueAt.Should().Be(T0.AddDays(2));
        }

        await using var after = Host(T0.AddDays(3));
        var first = await after.SweepAsync();
        var second = await after.SweepAsync();

        first.Customers.Should().Be(1);
        second.Customers.Should().Be(0);
        var path = await after.PathAsync(Ann, "cart");
        path.Steps.Should().Equal("carted/wait", "carted/remind");
        path.Sends.Should().Equal("cart_reminder");
        after.Sent.Should().ContainSingle(m => m.ActionId == "cart_reminder");
        (await after.Store.GetAsync(Ann))!.DueAt.Should().BeNull();
    }

    [Fact]
    public async Task Erasure_CustomerWaitingInAStep_LeavesNoTimerOrHistory()
    {
        await using var host = Host(T0);
        await host.TrackAsync(new AddedToCart { EventId = "c1", CustomerId = Ann, Timestamp = T0, ProductId = "boots", Identifiers = [AnnEmail] });

        await host.Services.GetRequiredService<CustomerErasure>().EraseAsync(Ann);
        host.Clock.SetUtcNow(T0.AddDays(5));

        (await host.Store.ListDueAsync(T0.AddDays(5), 10)).Should().BeEmpty();
        (await host.SweepAsync()).Customers.Should().Be(0);
        (await host.PathAsync(Ann, "cart")).Entries.Should().BeEmpty();
    }

    private JourneyTestHost Host(DateTimeOffset start) => JourneyTestHost.Create(
        b =>
        {
            UseStorage(b);
            b.AddJourney(Journey).UseActions(Actions);
        },
        o =>
        {
            o.DecisionTriggers.Clear();
            o.DecideOnStageChange = false;
        },
        start);
}
