using System.Diagnostics;
using Engagement.Sdk.Diagnostics;
using Engagement.Sdk.Events;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Sdk.Tests;

public sealed class EngineTraceTests
{
    private static readonly DateTimeOffset Start = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task TrackAsync_InvalidEvent_FailsThroughTheReturnedTaskNamingTheField()
    {
        await using var provider = Build();
        var engine = provider.GetRequiredService<IEngagementEngine>();

        var pending = engine.TrackAsync(new ProductViewed { EventId = "", CustomerId = new CustomerId("ann"), Timestamp = Start, ProductId = "p1" });

        pending.IsFaulted.Should().BeTrue("bad input fails the task, it is not thrown at the call");
        var error = (await FluentActions.Awaiting(() => pending.AsTask()).Should().ThrowAsync<EngagementValidationException>()).Which;
        error.Field.Should().Be("eventId");
    }

    [Fact]
    public async Task TrackAsync_WithATraceListener_RecordsOneFinishedActivityPerEventWithItsType()
    {
        using var parentSource = new ActivitySource("Engagement.Sdk.Tests." + Guid.NewGuid().ToString("N"));
        var stopped = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == EngagementTelemetry.Name || source.Name == parentSource.Name,
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                lock (stopped)
                {
                    stopped.Add(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        await using var provider = Build();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        var ann = new CustomerId("ann");

        ActivityTraceId trace;
        using (var parent = parentSource.StartActivity("test")!)
        {
            trace = parent.TraceId;
            await engine.TrackAsync(new ProductViewed { EventId = "v1", CustomerId = ann, Timestamp = Start, ProductId = "p1" });
            await engine.TrackAsync(new AddedToCart { EventId = "c1", CustomerId = ann, Timestamp = Start.AddMinutes(1), ProductId = "p1" });
        }

        // Other tests may trace at the same time: only this test's trace counts.
        List<Activity> mine;
        lock (stopped)
        {
            mine = stopped.Where(a => a.TraceId == trace && a.OperationName == "engagement.track").ToList();
        }

        mine.Select(a => a.GetTagItem("event.type")).Should().Equal("product_viewed", "added_to_cart");
        mine.Should().OnlyContain(a => a.Duration > TimeSpan.Zero);
    }

    private static ServiceProvider Build()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(Start.AddHours(1)));
        services.AddEngagement(o => o.DecisionTriggers.Clear());
        return services.BuildServiceProvider();
    }
}
