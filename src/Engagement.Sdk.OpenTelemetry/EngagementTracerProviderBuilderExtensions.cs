using Engagement.Sdk.Diagnostics;

namespace OpenTelemetry.Trace;

/// <summary>Adds Engagement.Sdk's spans (the activity source named <see cref="EngagementTelemetry.Name"/>, used by the core and by <c>Engagement.Sdk.Hosting</c>) to an OpenTelemetry tracer provider.</summary>
public static class EngagementTracerProviderBuilderExtensions
{
    /// <summary>
    /// Collects the SDK's spans: <c>engagement.track</c> (one event, with its unit of work), <c>engagement.decide</c> (one
    /// next-best-action decision), <c>engagement.deliver</c> (one pass of the outbox worker) and
    /// <c>engagement.background.pass</c> (one pass of periodic work). A span that fails has status <c>Error</c> and an
    /// <c>error.type</c> tag naming the exception's type; the exception's message is not recorded, since it can quote personal data.
    /// </summary>
    /// <param name="builder">The tracer provider builder.</param>
    /// <returns>The builder.</returns>
    public static TracerProviderBuilder AddEngagementInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(EngagementTelemetry.Name);
    }
}
