using Engagement.Sdk.Diagnostics;

namespace OpenTelemetry.Metrics;

/// <summary>Adds Engagement.Sdk's metrics (the meter named <see cref="EngagementTelemetry.Name"/>, used by the core and by <c>Engagement.Sdk.Hosting</c>) to an OpenTelemetry meter provider.</summary>
public static class EngagementMeterProviderBuilderExtensions
{
    /// <summary>
    /// Collects the SDK's metrics: events tracked and duplicate, decisions and their duration, send attempts and dispatches by
    /// channel and outcome, suppressions by channel and reason, held messages by status and reason, outbox delivery passes,
    /// passes of periodic work (delivery, release of held messages, sweeps) with their duration, and model fit durations.
    /// </summary>
    /// <param name="builder">The meter provider builder.</param>
    /// <returns>The builder.</returns>
    public static MeterProviderBuilder AddEngagementInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(EngagementTelemetry.Name);
    }
}
