using System.Diagnostics;
using System.Diagnostics.Metrics;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Diagnostics;

/// <summary>
/// The SDK's traces and metrics, named <c>Engagement.Sdk</c> so that OpenTelemetry picks them up with
/// <c>AddSource("Engagement.Sdk")</c> and <c>AddMeter("Engagement.Sdk")</c>. Instruments are created once.
/// </summary>
public static class EngagementTelemetry
{
    /// <summary>The name of the activity source and of the meter.</summary>
    public const string Name = "Engagement.Sdk";

    internal static readonly ActivitySource Source = new(Name, typeof(EngagementTelemetry).Assembly.GetName().Version?.ToString());

    private static readonly Meter Meter = new(Name, typeof(EngagementTelemetry).Assembly.GetName().Version?.ToString());

    private static readonly Counter<long> EventsTracked = Meter.CreateCounter<long>("engagement.events.tracked", "{event}", "Events applied to profiles.");
    private static readonly Counter<long> EventsDuplicate = Meter.CreateCounter<long>("engagement.events.duplicate", "{event}", "Events ignored because their id was already applied.");
    private static readonly Counter<long> SendAttempts = Meter.CreateCounter<long>("engagement.send_attempts", "{call}", "Calls to channels, by channel and outcome.");
    private static readonly Counter<long> Dispatches = Meter.CreateCounter<long>("engagement.dispatches", "{message}", "Messages dispatched, by channel and status.");
    private static readonly Counter<long> Suppressed = Meter.CreateCounter<long>("engagement.messages.suppressed", "{message}", "Messages a decision chose but the permission gate stopped, by channel and reason.");
    private static readonly Histogram<double> DecisionDuration = Meter.CreateHistogram<double>("engagement.decision.duration", "ms", "Time to take one next-best-action decision.");
    private static readonly Counter<long> Decisions = Meter.CreateCounter<long>("engagement.decisions", "{decision}", "Next-best-action decisions, by outcome (action or nothing) and channel.");
    private static readonly Counter<long> Held = Meter.CreateCounter<long>("engagement.messages.held", "{message}", "Held messages by channel, status (held, released, rescheduled, cancelled) and reason.");
    private static readonly Counter<long> DeliveryPasses = Meter.CreateCounter<long>("engagement.delivery.passes", "{pass}", "Passes of the outbox delivery worker, by outcome.");
    private static readonly Histogram<double> FitDuration = Meter.CreateHistogram<double>("engagement.clv.fit.duration", "ms", "Time to fit one customer-lifetime-value model, by model and whether it converged.");

    internal static void RecordEvent(string type, bool duplicate)
    {
        // With no listener attached (the usual case without OpenTelemetry), the counter is not called at all.
        var counter = duplicate ? EventsDuplicate : EventsTracked;
        if (counter.Enabled)
        {
            counter.Add(1, new KeyValuePair<string, object?>("event.type", type));
        }
    }

    internal static void RecordDispatch(Channel channel, DispatchStatus status)
    {
        // Each delivered dispatch records both: without a listener, the status and outcome are not named (boxed) for nothing.
        if (Dispatches.Enabled)
        {
            Dispatches.Add(1, new KeyValuePair<string, object?>("channel", channel.Name), new KeyValuePair<string, object?>("status", status.ToString()));
        }
    }

    internal static void RecordSendAttempt(Channel channel, SendOutcome outcome)
    {
        if (SendAttempts.Enabled)
        {
            SendAttempts.Add(1, new KeyValuePair<string, object?>("channel", channel.Name), new KeyValuePair<string, object?>("outcome", outcome.ToString()));
        }
    }

    internal static void RecordSuppressed(Channel channel, string reason)
        => Suppressed.Add(1, new KeyValuePair<string, object?>("channel", channel.Name), new KeyValuePair<string, object?>("reason", reason));

    internal static void RecordDecision(double milliseconds) => DecisionDuration.Record(milliseconds);

    internal static void RecordDecision(Channel? channel, bool nothing)
        => Decisions.Add(1, new KeyValuePair<string, object?>("outcome", nothing ? "nothing" : "action"), new KeyValuePair<string, object?>("channel", channel?.Name ?? "none"));

    internal static void RecordHeld(Channel channel, Decisioning.HeldMessageStatus status, string reason)
        => Held.Add(1, new KeyValuePair<string, object?>("channel", channel.Name), new KeyValuePair<string, object?>("status", status.ToString()), new KeyValuePair<string, object?>("reason", reason));

    internal static void RecordDeliveryPass(bool failed) => DeliveryPasses.Add(1, new KeyValuePair<string, object?>("outcome", failed ? "failed" : "succeeded"));

    internal static void RecordFit(string model, bool converged, TimeSpan elapsed)
        => FitDuration.Record(elapsed.TotalMilliseconds, new KeyValuePair<string, object?>("model", model), new KeyValuePair<string, object?>("converged", converged));

    /// <summary>Marks a span failed, naming the exception's type (its message is left out: it can quote personal data).</summary>
    internal static void Fail(Activity? activity, Exception exception)
    {
        if (activity is null)
        {
            return;
        }

        var type = exception.GetType().FullName ?? exception.GetType().Name;
        activity.SetStatus(ActivityStatusCode.Error, type);
        activity.SetTag("error.type", type);
    }
}
