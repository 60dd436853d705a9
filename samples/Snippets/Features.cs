using System.Collections.Immutable;
using Engagement.Sdk;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Conditions;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Diagnostics;
using Engagement.Sdk.Events;
using Engagement.Sdk.Hosting;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Segments;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing.Journeys;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Snippets;

/// <summary>The snippets of docs/decisioning.md, docs/journeys.md, docs/profiles-and-events.md and docs/segments.md.</summary>
public static class FeatureSnippets
{
    public static async Task DecisionsWiringAsync()
    {
        var springStart = new DateTimeOffset(2026, 3, 20, 0, 0, 0, TimeSpan.Zero);
        var springEnd = springStart.AddDays(30);
        var services = new ServiceCollection();
        #region decisioning-wiring
        services.AddEngagement()
            .UseSqlite("Data Source=shop.db")                       // propensities, contact history and budgets are stored too
            .AddChannel<MyEmailSender>()
            .UseActions(ActionCatalog.Create([
                new ActionDefinition
                {
                    Id = "spring-sale", Name = "Spring sale", Channels = [Channel.Email, Channel.Push], Value = 12m, Cost = 0.02m,
                    BasePropensity = 0.04, ValidFrom = springStart, ValidUntil = springEnd,
                    ContactPolicy = new ActionContactPolicy { MaxSends = 1, Window = TimeSpan.FromDays(7), MinGapAfterDismissal = TimeSpan.FromDays(30) },
                    Budget = new ActionBudget { Limit = 500, Period = BudgetPeriod.Day },
                    ContextBoosts = [new ContextBoost(DecisionContext.IntentKey, "shoes", 30)],
                },
                new ActionDefinition { Id = "refill", Name = "Coffee refill", ProductId = "sku-coffee", ReplenishAfter = TimeSpan.FromDays(30), Channels = [Channel.Sms], Value = 4m },
            ]))
            .ConfigureDecisions(o => { o.ExplorationFloor = 0.05; o.GlobalControlShare = 0.02; });
        #endregion
        await using var provider = services.BuildServiceProvider();
        _ = provider.GetRequiredService<NextBestActionDecider>();
    }

    public static async Task DecideDirectlyAsync()
    {
        await using var provider = new ServiceCollection().AddEngagement()
            .UseActions(ActionCatalog.Create([new ActionDefinition { Id = "shoes", Name = "Shoes", Channels = [Channel.Web], Value = 5m }]))
            .Services.BuildServiceProvider();
        var decider = provider.GetRequiredService<NextBestActionDecider>();
        var now = DateTimeOffset.UtcNow;
        var profile = CustomerProfile.New(new CustomerId("ann"));
        var placement = ImmutableDictionary<string, string>.Empty.Add("slot", "home-hero");
        #region decisioning-decide
        var decision = await decider.DecideAsync(new DecisionRequest(profile, now)
        {
            Context = new DecisionContext { Intent = "shoes", CartOpen = true, Attributes = placement },
        });
        #endregion
        _ = decision.Explain();
    }

    public static async Task JourneyFromJsonAsync()
    {
        var actions = ActionCatalog.Create([
            new ActionDefinition { Id = "cart_reminder", Name = "Cart reminder", Channels = [Channel.Email], Value = 2m },
            new ActionDefinition { Id = "winback_offer", Name = "Win-back offer", Channels = [Channel.Email], Value = 5m },
        ]);
        var folder = Directory.CreateTempSubdirectory("engagement-snippet-");
        var previous = Environment.CurrentDirectory;
        Environment.CurrentDirectory = folder.FullName;
        try
        {
            await File.WriteAllTextAsync("lifecycle-with-lapse.json", JourneyDefinition.Lifecycle.ToJson());
            var services = new ServiceCollection();
            #region journeys-from-json
            services.AddEngagement()
                .UseActions(actions)                                   // cart_reminder and winback_offer must be actions of the catalogue
                .AddJourney(JourneyDefinition.FromJson(File.ReadAllText("lifecycle-with-lapse.json")));
            #endregion
            await using var provider = services.BuildServiceProvider();
            _ = provider.GetRequiredService<IEngagementEngine>();
        }
        finally
        {
            Environment.CurrentDirectory = previous;
            folder.Delete(recursive: true);
        }
    }

    public static void JourneyInCode()
    {
        #region journeys-in-code
        var cart = JourneyDefinition.Create("cart", version: 3)
            .ControlGroup(10, salt: "2026")
            .AllowReEntry(TimeSpan.FromDays(30))
            .Goal(Condition.Aggregate(ProfileAggregate.Orders, ComparisonOperator.Ge, 1), exitOnGoal: true)
            .Stage("carted", s => s
                .Entry(Condition.Aggregate(ProfileAggregate.ItemsInCart, ComparisonOperator.Ge, 1))
                .Wait("w", TimeSpan.FromHours(2))
                .Send("r", "cart_reminder")
                .ExitJourney("x"))
            .Migrate(from: 2, [new("basket", "carted")])
            .Build();
        string json = cart.ToJson();                 // and JourneyDefinition.FromJson(json) gives the same definition back
        #endregion
        if (JourneyDefinition.FromJson(json).ToJson() != json)
        {
            throw new InvalidOperationException("the journey did not round-trip through JSON");
        }
    }

    public static async Task JourneyTestKitAsync()
    {
        var journey = JourneyDefinition.Lifecycle;
        var actions = ActionCatalog.Create([new ActionDefinition { Id = "cart_reminder", Name = "Cart reminder", Channels = [Channel.Email], Value = 2m }]);
        var ann = new CustomerId("ann");
        #region journeys-test-kit
        await using var host = JourneyTestHost.Create(b => b.AddJourney(journey).UseActions(actions));   // in-memory stores, a manual clock, in-memory senders
        await host.TrackAsync(new AddedToCart { EventId = "c1", CustomerId = ann, Timestamp = host.Clock.GetUtcNow(), ProductId = "boots" });
        await host.AdvanceAsync(TimeSpan.FromDays(3));                        // moves the clock and sweeps
        var path = await host.PathAsync(ann, "lifecycle");
        Console.WriteLine(string.Join(", ", path.Stages));                    // relationship
        Console.WriteLine(string.Join(", ", path.Sends));                     // what it sent, in order

        var eventLog = new EngagementEvent[] { new AddedToCart { EventId = "c2", CustomerId = ann, Timestamp = host.Clock.GetUtcNow(), ProductId = "boots" } };
        var script = JourneyScript.FromEvents(eventLog, sweepEvery: TimeSpan.FromDays(1));
        var (first, second) = await script.RunTwiceAsync(() => JourneyTestHost.Create(b => b.AddJourney(journey).UseActions(actions)));
        // the same log and clock give the same history: compare first with second, or with a golden file of your tests
        #endregion
        if (first != second)
        {
            throw new InvalidOperationException("two replays of one log differed");
        }
    }

    public static async Task IdentityAsync()
    {
        await using var provider = new ServiceCollection().AddEngagement().Services.BuildServiceProvider();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        var t1 = DateTimeOffset.UtcNow.AddMinutes(-2);
        var t2 = t1.AddMinutes(1);
        #region profiles-identity
        await engine.TrackAsync(new ProductViewed { EventId = "e1", CustomerId = new("anon-1"), Timestamp = t1,
            Identifiers = [Identifier.Anonymous("c-1")], ProductId = "boots" });
        var login = await engine.TrackAsync(new PageViewed { EventId = "e2", CustomerId = new("ann"), Timestamp = t2, Url = "/login",
            Identifiers = [Identifier.Email("ann@example.com"), Identifier.Anonymous("c-1")] });
        // login.Identity.Merges: anon-1 → ann, matched on anonymous:c-1; ann's profile now counts the boots view.
        // A later event that still names anon-1 is applied to ann.
        #endregion
    }

    public static async Task SharedEmailAsync()
    {
        var services = new ServiceCollection();
        #region profiles-shared-email
        services.AddEngagement(o => o.Identity.Identifiers[IdentifierKind.Email] = new IdentifierRule { MergeOnMatch = false });
        #endregion
        await using var provider = services.BuildServiceProvider();
        _ = provider.GetRequiredService<IEngagementEngine>();
    }

    public static async Task CountEventsAsync()
    {
        await using var provider = new ServiceCollection().AddEngagement().Services.BuildServiceProvider();
        var events = provider.GetRequiredService<IEventStore>();
        var customerId = new CustomerId("ann");
        var now = DateTimeOffset.UtcNow;
        #region profiles-count-events
        var views = await events.CountAsync(customerId, e => e is ProductViewed { ProductId: "boots" }, TimeSpan.FromDays(7), now);
        #endregion
        _ = views;
    }

    public static async Task SegmentsAsync()
    {
        var services = new ServiceCollection();
        #region profiles-segment
        services.AddEngagement()
            .AddSegment(new SegmentDefinition("lapsed", Condition.All(
                Condition.Aggregate(ProfileAggregate.Orders, ComparisonOperator.Ge, 1),
                Condition.NoEvent("purchased", TimeSpan.FromDays(90)))));
        #endregion
        await using var provider = services.BuildServiceProvider();
        _ = provider.GetRequiredService<IEngagementEngine>();

        var more = new ServiceCollection();
        #region segments-wiring
        more.AddEngagement(o => o.Traits["tier"] = TraitKind.String)
            .AddSegment(new SegmentDefinition("vip", Condition.Trait("tier", TraitOperator.Eq, TraitValue.Of("gold"))))
            .AddSegment(new SegmentDefinition("cart_open", Condition.Aggregate(ProfileAggregate.ItemsInCart, ComparisonOperator.Ge, 1)))
            .AddSegment(new SegmentDefinition("lapsed", Condition.All(
                Condition.Aggregate(ProfileAggregate.Orders, ComparisonOperator.Ge, 1),
                Condition.NoEvent("purchased", TimeSpan.FromDays(90))))
            {
                Description = "bought before, but not in the last 90 days",
            });
        #endregion
        await using var second = more.BuildServiceProvider();
        var store = second.GetRequiredService<ISegmentStore>();
        var customerId = new CustomerId("ann");
        #region segments-counts
        long lapsed = await store.CountAsync("lapsed");
        await foreach (var customer in store.ListMembersAsync("lapsed"))   // by customer id, in pages
        {
            // …
        }
        var history = store.ReadHistoryAsync(customerId);                  // entries and exits, in order
        #endregion
    }

    public static async Task SegmentsFromJsonAsync()
    {
        var folder = Directory.CreateTempSubdirectory("engagement-snippet-");
        var previous = Environment.CurrentDirectory;
        Environment.CurrentDirectory = folder.FullName;
        try
        {
            await File.WriteAllTextAsync("segments.json", """[ { "name": "cart_open", "condition": { "aggregate": "itemsInCart", "ge": 1 } } ]""");
            var builder = new ServiceCollection().AddEngagement();
            #region segments-from-json
            foreach (var segment in SegmentDefinition.ListFromJson(File.ReadAllText("segments.json")))
            {
                builder.AddSegment(segment);
            }
            #endregion
            await using var provider = builder.Services.BuildServiceProvider();
            _ = provider.GetRequiredService<IEngagementEngine>();
        }
        finally
        {
            Environment.CurrentDirectory = previous;
            folder.Delete(recursive: true);
        }
    }

    public static void WinbackJourney()
    {
        #region segments-winback
        var winback = JourneyDefinition.Create("winback")
            .CustomEvent("lapsed-entered")
            .Stage("watching", s => s.Entry(Condition.Always))
            .Stage("win_back", s => s.Entry(Condition.EventCount("lapsed-entered", TimeSpan.FromDays(30), ComparisonOperator.Ge, 1))
                .Send("winback", "winback_offer"))
            .Build();
        #endregion
        _ = winback;
    }

    public static void Hosting()
    {
        var builder = Host.CreateApplicationBuilder();
        #region hosting-wiring
        builder.Services.AddEngagement().UseSqlite("Data Source=shop.db").AddChannel<MyEmailSender>();
        builder.Services.AddEngagementBackgroundServices(o => o.HeldReleaseInterval = TimeSpan.FromMinutes(1));
        builder.Services.AddHealthChecks().AddEngagementHealthChecks("ready");
        // ASP.NET Core: app.MapHealthChecks("/health");
        #endregion
        builder.Services.AddEngagementBackgroundWork<NightlyReport>();
        using var host = builder.Build();
    }

    public static void Telemetry()
    {
        #region telemetry-wiring
        using var tracing = Sdk.CreateTracerProviderBuilder().AddEngagementInstrumentation().AddConsoleExporter().Build();
        using var metrics = Sdk.CreateMeterProviderBuilder().AddEngagementInstrumentation().AddConsoleExporter().Build();
        // In a host with OpenTelemetry.Extensions.Hosting: builder.Services.AddOpenTelemetry()
        //     .WithTracing(t => t.AddEngagementInstrumentation()).WithMetrics(m => m.AddEngagementInstrumentation());
        #endregion
    }

    public static async Task RedactionAsync()
    {
        var services = new ServiceCollection();
        #region telemetry-redaction
        services.AddRedaction(r => r.SetRedactor<MyRedactor>(EngagementDataClassifications.PersonalData));
        #endregion
        services.AddEngagement();
        await using var provider = services.BuildServiceProvider();
        _ = provider.GetRequiredService<IEngagementEngine>();
    }
}

#region hosting-background-work
public sealed class NightlyReport(IEngagementEngine engine) : IEngagementBackgroundWork
{
    public string Name => "nightly-report";
    public TimeSpan Interval => TimeSpan.FromHours(24);
    public async ValueTask<int> RunOnceAsync(CancellationToken cancellationToken) { /* ... */ return 0; }
}

// builder.Services.AddEngagementBackgroundWork<NightlyReport>();
#endregion
