using Engagement.Sdk;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Telemetry;

/// <summary>The SDK wired to OpenTelemetry: a shop that tracks a purchase path and delivers its messages.</summary>
public static class TelemetrySample
{
    /// <summary>Tracks a few events and delivers the messages they queue, with the SDK's spans and metrics collected.</summary>
    /// <param name="exportTraces">Adds the span exporter (the console exporter in the sample).</param>
    /// <param name="exportMetrics">Adds the metric exporter.</param>
    /// <returns>A task that ends when the providers have flushed.</returns>
    public static async Task RunAsync(Action<TracerProviderBuilder> exportTraces, Action<MeterProviderBuilder> exportMetrics)
    {
        ArgumentNullException.ThrowIfNull(exportTraces);
        ArgumentNullException.ThrowIfNull(exportMetrics);

        // #region wiring
        var tracing = Sdk.CreateTracerProviderBuilder().AddEngagementInstrumentation();
        exportTraces(tracing);
        using var tracerProvider = tracing.Build();
        var metering = Sdk.CreateMeterProviderBuilder().AddEngagementInstrumentation();
        exportMetrics(metering);
        using var meterProvider = metering.Build();
        // #endregion

        var services = new ServiceCollection();
        services.AddEngagement().AddChannel(new InMemoryChannelSender(Channel.Email)).UseActions(ActionCatalog.Create([
            new ActionDefinition { Id = "welcome", Name = "Welcome offer", Channels = [Channel.Email], Value = 20m, BasePropensity = 0.2 },
        ]));
        await using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        var worker = provider.GetRequiredService<DispatchWorker>();
        var now = provider.GetRequiredService<TimeProvider>().GetUtcNow();
        var customer = new CustomerId("customer-1");
        var email = Identifier.Email("customer-1@example.com");

        await engine.RecordConsentAsync(new ConsentRecord
        {
            RecordId = "consent-1", CustomerId = customer, Channel = Channel.Email, Purpose = Purpose.Marketing, Identifier = email,
            Status = ConsentStatus.Granted, Source = "signup form", Evidence = new ConsentEvidence("notice-v1", "signup form"), EffectiveAt = now,
        });
        await engine.TrackAsync(new ProductViewed { EventId = "e1", CustomerId = customer, Timestamp = now, ProductId = "boots" });
        await engine.TrackAsync(new AddedToCart { EventId = "e2", CustomerId = customer, Timestamp = now, Identifiers = [email], ProductId = "boots" });
        await worker.DeliverDueAsync();

        tracerProvider.ForceFlush();
        meterProvider.ForceFlush();
    }
}
