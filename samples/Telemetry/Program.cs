using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Telemetry;

// Tracks a few events with the SDK's spans and metrics exported to the console.
await TelemetrySample.RunAsync(
    tracing => tracing.AddConsoleExporter(),
    metrics => metrics.AddConsoleExporter());
