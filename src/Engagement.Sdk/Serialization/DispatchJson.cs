using System.Text.Json;
using Engagement.Sdk.Storage;
using static Engagement.Sdk.Serialization.JsonWriting;

namespace Engagement.Sdk.Serialization;

/// <summary>
/// Writes a <see cref="DispatchRecord"/> document: byte for byte what <see cref="EngagementJsonContext"/> writes, several times
/// faster. For stores, which write a dispatch's document when it is queued and again when the delivery worker settles it; the
/// serializer's general path walks its metadata property by property and was most of a settlement's own cost.
/// </summary>
public static class DispatchJson
{
    // The property names, in the order the serializer writes them (declaration order).
    private static readonly JsonEncodedText DispatchId = JsonEncodedText.Encode("dispatchId");
    private static readonly JsonEncodedText CustomerId = JsonEncodedText.Encode("customerId");
    private static readonly JsonEncodedText Channel = JsonEncodedText.Encode("channel");
    private static readonly JsonEncodedText Purpose = JsonEncodedText.Encode("purpose");
    private static readonly JsonEncodedText ActionId = JsonEncodedText.Encode("actionId");
    private static readonly JsonEncodedText CreatedAt = JsonEncodedText.Encode("createdAt");
    private static readonly JsonEncodedText Status = JsonEncodedText.Encode("status");
    private static readonly JsonEncodedText Attempts = JsonEncodedText.Encode("attempts");
    private static readonly JsonEncodedText Error = JsonEncodedText.Encode("error");
    private static readonly JsonEncodedText Reason = JsonEncodedText.Encode("reason");
    private static readonly JsonEncodedText CompletedAt = JsonEncodedText.Encode("completedAt");
    private static readonly JsonEncodedText DueAt = JsonEncodedText.Encode("dueAt");
    private static readonly JsonEncodedText LeaseOwner = JsonEncodedText.Encode("leaseOwner");
    private static readonly JsonEncodedText LeaseUntil = JsonEncodedText.Encode("leaseUntil");
    private static readonly JsonEncodedText RespondedAt = JsonEncodedText.Encode("respondedAt");
    private static readonly JsonEncodedText Priority = JsonEncodedText.Encode("priority");
    private static readonly JsonEncodedText HeldAt = JsonEncodedText.Encode("heldAt");
    private static readonly JsonEncodedText ReleaseAt = JsonEncodedText.Encode("releaseAt");
    private static readonly JsonEncodedText ExpiresAt = JsonEncodedText.Encode("expiresAt");
    private static readonly JsonEncodedText Decision = JsonEncodedText.Encode("decision");

    private static readonly JsonEncodedText DecisionId = JsonEncodedText.Encode("decisionId");
    private static readonly JsonEncodedText Policy = JsonEncodedText.Encode("policy");
    private static readonly JsonEncodedText ChoiceProbability = JsonEncodedText.Encode("choiceProbability");
    private static readonly JsonEncodedText ChoiceProbabilityError = JsonEncodedText.Encode("choiceProbabilityError");
    private static readonly JsonEncodedText Propensity = JsonEncodedText.Encode("propensity");
    private static readonly JsonEncodedText Score = JsonEncodedText.Encode("score");
    private static readonly JsonEncodedText Explored = JsonEncodedText.Encode("explored");
    private static readonly JsonEncodedText Candidates = JsonEncodedText.Encode("candidates");
    private static readonly JsonEncodedText Segment = JsonEncodedText.Encode("segment");
    private static readonly JsonEncodedText TreatmentId = JsonEncodedText.Encode("treatmentId");
    private static readonly JsonEncodedText ControlGroup = JsonEncodedText.Encode("controlGroup");

    // The statuses as the context's string enum converter writes them (their names).
    private static readonly JsonEncodedText[] Statuses = [.. Enum.GetValues<DispatchStatus>().Select(static s => JsonEncodedText.Encode(s.ToString()))];

    /// <summary>
    /// The JSON property names this writer writes, by the type they belong to (for the test that keeps it in step with the
    /// source-generated contract: a property added to the model and not written here fails it).
    /// </summary>
    internal static IReadOnlyDictionary<Type, string[]> Written { get; } = new Dictionary<Type, string[]>
    {
        [typeof(DispatchRecord)] = Names(
            DispatchId, CustomerId, Channel, Purpose, ActionId, CreatedAt, Status, Attempts, Error, Reason, CompletedAt, DueAt, LeaseOwner,
            LeaseUntil, RespondedAt, Priority, HeldAt, ReleaseAt, ExpiresAt, Decision),
        [typeof(DispatchDecision)] = Names(
            DecisionId, Policy, ChoiceProbability, ChoiceProbabilityError, Propensity, Score, Explored, Candidates, Segment, TreatmentId, ControlGroup),
    };

    /// <summary>Writes <paramref name="record"/> as the JSON document <see cref="EngagementJsonContext"/> would write.</summary>
    /// <param name="writer">The writer (its encoder and indentation as the context's options: the defaults).</param>
    /// <param name="record">The dispatch.</param>
    public static void Write(Utf8JsonWriter writer, DispatchRecord record)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(record);
        if ((uint)record.Status >= (uint)Statuses.Length)
        {
            // A value outside the enumeration: the serializer's own handling of it.
            JsonSerializer.Serialize(writer, record, EngagementJsonContext.Default.DispatchRecord);
            return;
        }

        writer.WriteStartObject();
        writer.WriteString(DispatchId, record.DispatchId);
        writer.WriteString(CustomerId, record.CustomerId.Value);
        writer.WriteString(Channel, record.Channel.Name);
        writer.WriteString(Purpose, record.Purpose.Name);
        writer.WriteString(ActionId, record.ActionId);
        WriteInstant(writer, CreatedAt, record.CreatedAt);
        writer.WriteString(Status, Statuses[(int)record.Status]);
        writer.WriteNumber(Attempts, record.Attempts);
        WriteIfPresent(writer, Error, record.Error);
        WriteIfPresent(writer, Reason, record.Reason);
        WriteIfPresent(writer, CompletedAt, record.CompletedAt);
        WriteIfPresent(writer, DueAt, record.DueAt);
        WriteIfPresent(writer, LeaseOwner, record.LeaseOwner);
        WriteIfPresent(writer, LeaseUntil, record.LeaseUntil);
        WriteIfPresent(writer, RespondedAt, record.RespondedAt);
        writer.WriteNumber(Priority, record.Priority);
        WriteIfPresent(writer, HeldAt, record.HeldAt);
        WriteIfPresent(writer, ReleaseAt, record.ReleaseAt);
        WriteIfPresent(writer, ExpiresAt, record.ExpiresAt);
        if (record.Decision is { } decision)
        {
            writer.WriteStartObject(Decision);
            writer.WriteString(DecisionId, decision.DecisionId);
            writer.WriteString(Policy, decision.Policy);
            writer.WriteNumber(ChoiceProbability, decision.ChoiceProbability);
            if (decision.ChoiceProbabilityError is { } error)
            {
                writer.WriteNumber(ChoiceProbabilityError, error);
            }

            writer.WriteNumber(Propensity, decision.Propensity);
            writer.WriteNumber(Score, decision.Score);
            writer.WriteBoolean(Explored, decision.Explored);
            writer.WriteNumber(Candidates, decision.Candidates);
            WriteIfPresent(writer, Segment, decision.Segment);
            WriteIfPresent(writer, TreatmentId, decision.TreatmentId);
            WriteIfPresent(writer, ControlGroup, decision.ControlGroup);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }
}
