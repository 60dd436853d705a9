using System.Diagnostics;
using Engagement.Sdk;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.Options;
using Quickstart;
using WebShop.Insights;

namespace WebShop.Demo;

/// <summary>
/// Seeds the demo shop on the first start (when the store holds no profile): the quickstart's seeded simulator generates
/// customers who browse, cart, buy, sign up and give or withdraw consent over <see cref="WebShopOptions.DemoDays"/> days up
/// to last midnight, and every event runs through the engine with the clock replaying the simulated time; messages are
/// delivered as they are queued and some of them clicked. Then the dashboard's figures are computed. It runs before the
/// server accepts requests and before the SDK's background service starts.
/// </summary>
public sealed partial class DemoSeeder(
    IServiceProvider services,
    DemoClock clock,
    ShopInsights insights,
    DecisionLog decisions,
    IOptions<WebShopOptions> options,
    ILogger<DemoSeeder> logger) : IHostedService
{
    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var profiles = services.GetRequiredService<IProfileStore>();
        var empty = true;
        await foreach (var _ in profiles.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            empty = false;
            break;
        }

        if (empty && settings.DemoCustomers > 0)
        {
            await SeedAsync(settings, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            LogReused(logger, settings.Database.ToString());
        }

        try
        {
            var snapshot = await insights.RefreshAsync(force: true, cancellationToken).ConfigureAwait(false);
            LogFigures(logger, snapshot.Customers, snapshot.Events, snapshot.ComputeMilliseconds);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The shop works without its dashboard; the background refresh tries again.
            LogFiguresFailed(logger, ex.GetType().Name);
        }
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task SeedAsync(WebShopOptions settings, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var today = clock.GetUtcNow().UtcDateTime.Date;
        var end = new DateTimeOffset(today, TimeSpan.Zero);
        var simulator = new ShopSimulator(settings.DemoSeed, settings.DemoCustomers, settings.DemoDays, end.AddDays(-settings.DemoDays));
        var timeline = simulator.Generate();
        LogSeeding(logger, settings.DemoCustomers, settings.DemoDays, timeline.Count);

        var engine = services.GetRequiredService<IEngagementEngine>();
        var worker = services.GetRequiredService<DispatchWorker>();
        var transactions = services.GetRequiredService<IStoreTransactions>();
        var clicks = new PriorityQueue<MessageClicked, (DateTimeOffset, long)>();
        long clickSequence = 0;
        var day = DateOnly.FromDateTime(simulator.Start.UtcDateTime);
        clock.ReplayTo(simulator.Start);

        // One unit of work (one transaction) per simulated day rather than one per event.
        var unit = transactions.Begin();
        try
        {
            await unit.StartAsync(cancellationToken).ConfigureAwait(false);
            foreach (var happening in timeline)
            {
                var happeningDay = DateOnly.FromDateTime(happening.At.UtcDateTime);
                if (happeningDay != day)
                {
                    await unit.CompleteAsync(cancellationToken).ConfigureAwait(false);
                    await unit.DisposeAsync().ConfigureAwait(false);
                    if (happeningDay.DayNumber / 10 != day.DayNumber / 10)
                    {
                        LogProgress(logger, happeningDay.DayNumber - DateOnly.FromDateTime(simulator.Start.UtcDateTime).DayNumber, settings.DemoDays);
                    }

                    day = happeningDay;
                    unit = transactions.Begin();
                    await unit.StartAsync(cancellationToken).ConfigureAwait(false);
                }

                while (clicks.TryPeek(out var click, out var key) && key.Item1 <= happening.At)
                {
                    clicks.Dequeue();
                    clock.ReplayTo(click.Timestamp);
                    decisions.Record(await engine.TrackAsync(click, cancellationToken).ConfigureAwait(false));
                }

                clock.ReplayTo(happening.At);
                if (happening.Consent is { } consent)
                {
                    foreach (var record in PerMessageType(consent))
                    {
                        await engine.RecordConsentAsync(record, cancellationToken).ConfigureAwait(false);
                    }

                    continue;
                }

                var result = await engine.TrackAsync(happening.Event!, cancellationToken).ConfigureAwait(false);
                decisions.Record(result);
                if (result.Dispatch is null && result.HeldMessages.IsDefaultOrEmpty)
                {
                    continue;
                }

                foreach (var sent in await worker.DeliverDueAsync(cancellationToken).ConfigureAwait(false))
                {
                    var at = happening.At.AddHours(2);
                    if (sent.Status == DispatchStatus.Sent && at < simulator.End
                        && ShopSimulator.Clicks(settings.DemoSeed, sent.DispatchId, ShopCatalogue.ClickProbability(sent.ActionId)))
                    {
                        clicks.Enqueue(
                            new MessageClicked { EventId = "click-" + sent.DispatchId, CustomerId = sent.CustomerId, Timestamp = at, Channel = sent.Channel, DispatchId = sent.DispatchId, ActionId = sent.ActionId },
                            (at, clickSequence++));
                    }
                }
            }

            await unit.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await unit.DisposeAsync().ConfigureAwait(false);
            clock.EndReplay();
        }

        LogSeeded(logger, Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    /// <summary>
    /// The simulator records marketing consent per channel; the shop asks per channel and message type, so each record
    /// becomes one per marketing message type.
    /// </summary>
    private static IEnumerable<ConsentRecord> PerMessageType(ConsentRecord record)
    {
        if (record.Purpose != Purpose.Marketing)
        {
            yield return record;
            yield break;
        }

        foreach (var type in ShopCatalogue.MarketingTypes)
        {
            yield return record with { RecordId = record.RecordId + "-" + type.Id, Purpose = type.Purpose };
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Seeding the demo shop: {Customers} customers over {Days} days ({Happenings} events and consent records); the shop opens when it is done.")]
    private static partial void LogSeeding(ILogger logger, int customers, int days, int happenings);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Seeding: day {Day} of {Days}.")]
    private static partial void LogProgress(ILogger logger, int day, int days);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Seeded the demo shop in {Seconds:F1} s.")]
    private static partial void LogSeeded(ILogger logger, double seconds);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "The {Database} store already holds data: it is used as it is (set WebShop:ResetDemoData=true to seed again).")]
    private static partial void LogReused(ILogger logger, string database);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Dashboard figures: {Customers} customers, {Events} events, computed in {Milliseconds:F0} ms.")]
    private static partial void LogFigures(ILogger logger, int customers, int events, double milliseconds);

    [LoggerMessage(EventId = 6, Level = LogLevel.Error, Message = "The dashboard's figures could not be computed ({ExceptionType}); the background refresh will try again.")]
    private static partial void LogFiguresFailed(ILogger logger, string exceptionType);
}
