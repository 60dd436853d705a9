using System.Buffers;
using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Conditions;

namespace Engagement.Sdk.Journeys;

/// <summary>
/// The JSON documents journey stores keep: a customer's <see cref="JourneyRecord"/> (tracks and counters; the counters
/// keyed by event type, so a record reads back whatever the definitions' layout) and one <see cref="JourneyHistoryEntry"/>.
/// For store adapters; the in-memory store keeps the objects themselves.
/// </summary>
public static class JourneyRecordJson
{
    /// <summary>Writes a record (its <see cref="JourneyRecord.Version"/> and customer are the store's columns, not in the document).</summary>
    /// <param name="record">The record.</param>
    /// <returns>The UTF-8 JSON.</returns>
    public static byte[] WriteRecord(JourneyRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if (record.MergesFolded != 0)
            {
                w.WriteNumber("mergesFolded", record.MergesFolded);
            }

            w.WriteStartArray("tracks");
            foreach (var t in record.Tracks.IsDefault ? [] : record.Tracks)
            {
                w.WriteStartObject();
                w.WriteString("journey", t.JourneyId);
                w.WriteNumber("version", t.Version);
                w.WriteNumber("fingerprint", t.Fingerprint);
                w.WriteNumber("stage", t.StageIndex);
                w.WriteNumber("step", t.StepIndex);
                w.WriteNumber("visits", t.Visits);
                w.WriteNumber("flags", (int)t.Flags);
                w.WriteNumber("journeyEntered", t.JourneyEnteredTicks);
                w.WriteNumber("stageEntered", t.StageEnteredTicks);
                w.WriteNumber("stepStarted", t.StepStartedTicks);
                w.WriteNumber("due", t.DueTicks);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("windows");
            foreach (var (key, recent, width, buckets) in record.Windows.Export())
            {
                w.WriteStartObject();
                w.WriteString("event", key);
                w.WriteStartArray("recent");
                foreach (var ticks in recent)
                {
                    w.WriteNumberValue(ticks);
                }

                w.WriteEndArray();
                if (width > 0)
                {
                    w.WriteNumber("width", width);
                    w.WriteStartArray("buckets");
                    foreach (var (index, count, sum) in buckets)
                    {
                        w.WriteStartArray();
                        w.WriteNumberValue(index);
                        w.WriteNumberValue(count);
                        w.WriteNumberValue(sum);
                        w.WriteEndArray();
                    }

                    w.WriteEndArray();
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads a record written by <see cref="WriteRecord"/>.</summary>
    /// <param name="customerId">The customer (a column of the store).</param>
    /// <param name="version">The record's version (a column of the store).</param>
    /// <param name="utf8Json">The document.</param>
    /// <returns>The record.</returns>
    public static JourneyRecord ReadRecord(CustomerId customerId, long version, ReadOnlySpan<byte> utf8Json)
    {
        var reader = new Utf8JsonReader(utf8Json);
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        var tracks = ImmutableArray.CreateBuilder<JourneyTrack>();
        foreach (var t in root.GetProperty("tracks").EnumerateArray())
        {
            tracks.Add(new JourneyTrack
            {
                JourneyId = string.IsInterned(t.GetProperty("journey").GetString()!) ?? t.GetProperty("journey").GetString()!,
                Version = t.GetProperty("version").GetInt32(),
                Fingerprint = t.GetProperty("fingerprint").GetInt32(),
                StageIndex = t.GetProperty("stage").GetInt32(),
                StepIndex = t.GetProperty("step").GetInt32(),
                Visits = t.GetProperty("visits").GetInt32(),
                Flags = (JourneyTrackFlags)t.GetProperty("flags").GetInt32(),
                JourneyEnteredTicks = t.GetProperty("journeyEntered").GetInt64(),
                StageEnteredTicks = t.GetProperty("stageEntered").GetInt64(),
                StepStartedTicks = t.GetProperty("stepStarted").GetInt64(),
                DueTicks = t.GetProperty("due").GetInt64(),
            });
        }

        var slots = new List<(string, long[], long, (long, int, decimal)[])>();
        foreach (var slot in root.GetProperty("windows").EnumerateArray())
        {
            var recent = slot.GetProperty("recent").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var width = slot.TryGetProperty("width", out var widthElement) ? widthElement.GetInt64() : 0;
            var buckets = slot.TryGetProperty("buckets", out var bucketsElement)
                ? bucketsElement.EnumerateArray().Select(b => (b[0].GetInt64(), b[1].GetInt32(), b[2].GetDecimal())).ToArray()
                : [];
            slots.Add((slot.GetProperty("event").GetString()!, recent, width, buckets));
        }

        return new JourneyRecord
        {
            CustomerId = customerId,
            Version = version,
            Tracks = tracks.ToImmutable(),
            Windows = slots.Count == 0 ? EventWindows.None : EventWindows.Import(slots),
            MergesFolded = root.TryGetProperty("mergesFolded", out var merges) ? merges.GetInt32() : 0,
        };
    }

    /// <summary>Writes a history entry.</summary>
    /// <param name="entry">The entry.</param>
    /// <returns>The UTF-8 JSON.</returns>
    public static byte[] WriteEntry(JourneyHistoryEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("customerId", entry.CustomerId.Value);
            w.WriteString("journeyId", entry.JourneyId);
            w.WriteNumber("version", entry.Version);
            w.WriteString("kind", entry.Kind.ToString());
            w.WriteString("at", entry.At.ToString("O", CultureInfo.InvariantCulture));
            WriteOptional(w, "stageId", entry.StageId);
            WriteOptional(w, "fromStageId", entry.FromStageId);
            WriteOptional(w, "stepId", entry.StepId);
            WriteOptional(w, "reason", entry.Reason);
            WriteOptional(w, "actionId", entry.ActionId);
            WriteOptional(w, "channel", entry.Channel?.Name);
            WriteOptional(w, "dispatchId", entry.DispatchId);
            if (entry.Amount is { } amount)
            {
                w.WriteNumber("amount", amount);
            }

            if (entry.IsControl)
            {
                w.WriteBoolean("isControl", true);
            }

            w.WriteNumber("visit", entry.Visit);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads a history entry written by <see cref="WriteEntry"/>.</summary>
    /// <param name="utf8Json">The document.</param>
    /// <returns>The entry.</returns>
    public static JourneyHistoryEntry ReadEntry(ReadOnlySpan<byte> utf8Json)
    {
        var reader = new Utf8JsonReader(utf8Json);
        using var document = JsonDocument.ParseValue(ref reader);
        var e = document.RootElement;
        string? Optional(string name) => e.TryGetProperty(name, out var value) ? value.GetString() : null;
        return new JourneyHistoryEntry
        {
            CustomerId = new CustomerId(e.GetProperty("customerId").GetString()!),
            JourneyId = e.GetProperty("journeyId").GetString()!,
            Version = e.GetProperty("version").GetInt32(),
            Kind = Enum.Parse<JourneyHistoryKind>(e.GetProperty("kind").GetString()!),
            At = DateTimeOffset.ParseExact(e.GetProperty("at").GetString()!, "O", CultureInfo.InvariantCulture, DateTimeStyles.None),
            StageId = Optional("stageId"),
            FromStageId = Optional("fromStageId"),
            StepId = Optional("stepId"),
            Reason = Optional("reason"),
            ActionId = Optional("actionId"),
            Channel = Optional("channel") is { } channel ? new Channel(channel) : null,
            DispatchId = Optional("dispatchId"),
            Amount = e.TryGetProperty("amount", out var amount) ? amount.GetDecimal() : null,
            IsControl = e.TryGetProperty("isControl", out var control) && control.GetBoolean(),
            Visit = e.GetProperty("visit").GetInt32(),
        };
    }

    private static void WriteOptional(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }
}
