using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Diagnostics;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using Engagement.Sdk.Value.Clv;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Engagement.Sdk.OpenTelemetry.Tests;

/// <summary>The SDK's spans and instruments, seen by OpenTelemetry providers and by plain listeners.</summary>
[Collection(nameof(TelemetryCollection))]
public sealed class EngagementInstrumentationTests
{
    private static readonly CustomerId Ann = new("ann");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");

    [Fact]
    public async Task TracerProvider_WithEngagementInstrumentation_ExportsTrackDecideAndDeliverSpans()
    {
        var spans = new List<Activity>();
        using (global::OpenTelemetry.Sdk.CreateTracerProviderBuilder().AddEngagementInstrumentation().AddInMemoryExporter(spans).Build())
        {
            await using var shop = Shop.Create();
            await shop.GrantAsync();
            await shop.Engine.TrackAsync(shop.Cart("c1"));
            await shop.Worker.DeliverDueAsync();
        }

        spans.Select(s => s.DisplayName).Should().Contain(["engagement.track", "engagement.decide", "engagement.deliver"]);
        spans.Should().OnlyContain(s => s.Source.Name == EngagementTelemetry.Name && s.Status != ActivityStatusCode.Error);
        spans.Single(s => s.DisplayName == "engagement.decide").GetTagItem("decision.action").Should().Be("welcome");
    }

    [Fact]
    public async Task TrackSpan_StoreFails_HasErrorStatusAndTheExceptionTypeButNotItsMessage()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = Listen(spans);
        var services = new ServiceCollection();
        services.AddEngagement();
        services.AddSingleton<IProfileStore>(new FailingProfileStore(new InMemoryProfileStore(), Ann, ProfileSaveFailure.StoreFault));
        await using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<IEngagementEngine>();

        var act = async () => await engine.TrackAsync(new ProductViewed { EventId = "v1", CustomerId = Ann, Timestamp = DateTimeOffset.UtcNow, ProductId = "boots" });

        var thrown = (await act.Should().ThrowAsync<IOException>()).Which;
        var span = spans.Single(s => s.DisplayName == "engagement.track" && (string?)s.GetTagItem("error.type") is not null);
        span.Status.Should().Be(ActivityStatusCode.Error);
        span.StatusDescription.Should().Be(typeof(IOException).FullName);
        span.GetTagItem("error.type").Should().Be(typeof(IOException).FullName);
        span.Events.Should().BeEmpty("the exception's message, which can quote personal data, is not recorded");
        thrown.Message.Should().NotBeEmpty();
    }

    [Fact]
    public async Task Instruments_ThroughDecisionsSuppressionsHoldsSendsAndFits_AreRecordedWithTheirTags()
    {
        var measurements = new ConcurrentQueue<(string Name, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == EngagementTelemetry.Name)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => measurements.Enqueue((i.Name, v, ToDictionary(tags))));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => measurements.Enqueue((i.Name, v, ToDictionary(tags))));
        listener.Start();

        await using (var shop = Shop.Create())
        {
            await shop.GrantAsync();
            await shop.Engine.TrackAsync(shop.Cart("c1")); // welcome, sent
            await shop.Worker.DeliverDueAsync();
            await shop.Engine.TrackAsync(shop.Cart("c2")); // promo, held by the daily cap
            await shop.Engine.TrackAsync(shop.Cart("sms-only") with { CustomerId = new CustomerId("bob"), Identifiers = [Identifier.Email("bob@example.com")] });
        }

        GammaGammaModel.Fit([(1, 10.0, 1.0), (2, 20.0, 1.0), (3, 15.0, 1.0), (4, 30.0, 1.0), (2, 12.0, 1.0)]);

        Named("engagement.decisions").Should().Contain(m => Equals(m.Tags["outcome"], "action") && Equals(m.Tags["channel"], "email"));
        Named("engagement.decision.duration").Should().NotBeEmpty();
        Named("engagement.messages.suppressed").Should().Contain(m => Equals(m.Tags["channel"], "email") && m.Tags["reason"] != null);
        Named("engagement.messages.held").Should().Contain(m => Equals(m.Tags["status"], "Held") && Equals(m.Tags["channel"], "email"));
        Named("engagement.send_attempts").Should().Contain(m => Equals(m.Tags["outcome"], "Accepted") && Equals(m.Tags["channel"], "email"));
        Named("engagement.delivery.passes").Should().Contain(m => Equals(m.Tags["outcome"], "succeeded"));
        Named("engagement.clv.fit.duration").Should().Contain(m => Equals(m.Tags["model"], "Gamma-Gamma") && m.Tags.ContainsKey("converged"));

        IEnumerable<(string Name, double Value, Dictionary<string, object?> Tags)> Named(string name) => measurements.Where(m => m.Name == name);
    }

    [Fact]
    public async Task MeterProvider_WithEngagementInstrumentation_ExportsTheSdksMetrics()
    {
        var metrics = new List<Metric>();
        using (var meterProvider = global::OpenTelemetry.Sdk.CreateMeterProviderBuilder().AddEngagementInstrumentation().AddInMemoryExporter(metrics).Build())
        {
            await using var shop = Shop.Create();
            await shop.GrantAsync();
            await shop.Engine.TrackAsync(shop.Cart("c1"));
            meterProvider.ForceFlush();
        }

        metrics.Select(m => m.Name).Should().Contain(["engagement.events.tracked", "engagement.decisions", "engagement.decision.duration"]);
    }

    [Fact]
    public async Task Sample_WiredAsDocumented_ExportsSpansAndMetrics()
    {
        var spans = new List<Activity>();
        var metrics = new List<Metric>();

        await Telemetry.TelemetrySample.RunAsync(t => t.AddInMemoryExporter(spans), m => m.AddInMemoryExporter(metrics));

        spans.Select(s => s.DisplayName).Should().Contain(["engagement.track", "engagement.decide", "engagement.deliver"]);
        metrics.Select(m => m.Name).Should().Contain(["engagement.events.tracked", "engagement.send_attempts"]);
    }

    private static ActivityListener Listen(ConcurrentQueue<Activity> spans)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == EngagementTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    private static Dictionary<string, object?> ToDictionary(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var tag in tags)
        {
            result[tag.Key] = tag.Value;
        }

        return result;
    }

    private sealed class Shop : IAsyncDisposable
    {
        private static readonly ActionDefinition Welcome = new() { Id = "welcome", Name = "Welcome", Channels = [Channel.Email], Value = 50m, BasePropensity = 0.1, Priority = 5 };
        private static readonly ActionDefinition Promo = new() { Id = "promo", Name = "Promo", Channels = [Channel.Email], Value = 5m, BasePropensity = 0.1, Priority = 1, HoldFor = TimeSpan.FromDays(3) };
        private readonly ServiceProvider _provider;

        private Shop(ServiceProvider provider) => _provider = provider;

        public IEngagementEngine Engine => _provider.GetRequiredService<IEngagementEngine>();

        public DispatchWorker Worker => _provider.GetRequiredService<DispatchWorker>();

        public static Shop Create()
        {
            var services = new ServiceCollection();
            services.AddEngagement().AddChannel(new InMemoryChannelSender(Channel.Email)).UseActions(ActionCatalog.Create([Welcome, Promo]));
            return new Shop(services.BuildServiceProvider());
        }

        public AddedToCart Cart(string id) => new() { EventId = id, CustomerId = Ann, Timestamp = DateTimeOffset.UtcNow, Identifiers = [AnnEmail], ProductId = "sku-" + id };

        public async Task GrantAsync() => await Engine.RecordConsentAsync(new ConsentRecord
        {
            RecordId = "g1", CustomerId = Ann, Channel = Channel.Email, Purpose = Purpose.Marketing, Identifier = AnnEmail,
            Status = ConsentStatus.Granted, Source = "form", Evidence = new ConsentEvidence("v1", "form"), EffectiveAt = DateTimeOffset.UtcNow.AddDays(-1),
        });

        public ValueTask DisposeAsync() => _provider.DisposeAsync();
    }
}

/// <summary>The telemetry tests share the process-wide activity source and meter: they run one at a time.</summary>
[CollectionDefinition(nameof(TelemetryCollection), DisableParallelization = true)]
public sealed class TelemetryCollection;
