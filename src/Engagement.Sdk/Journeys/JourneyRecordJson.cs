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
            WriteBody(w, record, nested: false);
        }

        return buffer.WrittenSpan.ToArray();
    }

    // The record's object; a record kept inside another (a merge's shadow) names its customer.
    private static void WriteBody(Utf8JsonWriter w, JourneyRecord record, bool nested)
    {
        w.WriteStartObject();
        if (nested)
        {
            w.WriteString("customer", record.CustomerId.Value);
        }

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
        foreach (var (key, recent, capacity, width, buckets) in record.Windows.Export())
        {
            w.WriteStartObject();
            w.WriteString("event", key);
            w.WriteNumber("capacity", capacity);
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
        if (!record.Shadows.IsDefaultOrEmpty)
        {
            w.WriteStartArray("shadows");
            foreach (var shadow in record.Shadows)
            {
                w.WriteStartObject();
                w.WriteString("merge", shadow.MergeId);
                if (shadow.SurvivorBefore is { } survivor)
                {
                    w.WritePropertyName("survivor");
                    WriteBody(w, survivor, nested: true);
                }

                if (shadow.Merged is { } merged)
                {
                    w.WritePropertyName("merged");
                    WriteBody(w, merged, nested: true);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
    }

    /// <summary>Reads a record written by <see cref="WriteRecord"/>.</summary>
    /// <param name="customerId">The customer (a column of the store).</param>
    /// <param name="version">The record's version (a column of the store).</param>
    /// <param name="utf8Json">The document.</param>
    /// <returns>The record.</returns>
    public static JourneyRecord ReadRecord(CustomerId customerId, long version, ReadOnlySpan<byte> utf8Json)
    {
        // A forward-only read (no document tree): the sweep reads thousands of these.
        var reader = new Utf8JsonReader(utf8Json);
        Expect(ref reader, JsonTokenType.StartObject);
        return ReadBody(ref reader, customerId, version);
    }

    // The record's object, after its start; a nested record's customer is in it.
    private static JourneyRecord ReadBody(ref Utf8JsonReader reader, CustomerId customerId, long version)
    {
        ImmutableArray<JourneyMergeShadow>.Builder? shadows = null;
        var tracks = new List<JourneyTrack>(2);
        List<(string, long[], int, long, (long, int, decimal)[])>? slots = null;
        var merges = 0;
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("mergesFolded"))
            {
                Next(ref reader);
                merges = reader.GetInt32();
            }
            else if (reader.ValueTextEquals("tracks"))
            {
                Expect(ref reader, JsonTokenType.StartArray);
                while (Next(ref reader) == JsonTokenType.StartObject)
                {
                    tracks.Add(ReadTrack(ref reader));
                }
            }
            else if (reader.ValueTextEquals("customer"))
            {
                Next(ref reader);
                customerId = new CustomerId(reader.GetString()!);
            }
            else if (reader.ValueTextEquals("shadows"))
            {
                Expect(ref reader, JsonTokenType.StartArray);
                while (Next(ref reader) == JsonTokenType.StartObject)
                {
                    (shadows ??= ImmutableArray.CreateBuilder<JourneyMergeShadow>()).Add(ReadShadow(ref reader));
                }
            }
            else if (reader.ValueTextEquals("windows"))
            {
                Expect(ref reader, JsonTokenType.StartArray);
                while (Next(ref reader) == JsonTokenType.StartObject)
                {
                    (slots ??= []).Add(ReadSlot(ref reader));
                }
            }
            else
            {
                Next(ref reader);
                reader.Skip();
            }
        }

        return new JourneyRecord
        {
            CustomerId = customerId,
            Version = version,
            Tracks = System.Runtime.InteropServices.ImmutableCollectionsMarshal.AsImmutableArray(tracks.ToArray()),
            Windows = slots is null ? EventWindows.None : EventWindows.Import(slots),
            MergesFolded = merges,
            Shadows = shadows?.ToImmutable() ?? [],
        };
    }

    private static JourneyMergeShadow ReadShadow(ref Utf8JsonReader reader)
    {
        var mergeId = string.Empty;
        JourneyRecord? survivor = null, merged = null;
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("merge"))
            {
                Next(ref reader);
                mergeId = reader.GetString()!;
            }
            else if (reader.ValueTextEquals("survivor"))
            {
                Expect(ref reader, JsonTokenType.StartObject);
                survivor = ReadBody(ref reader, default, 0);
            }
            else if (reader.ValueTextEquals("merged"))
            {
                Expect(ref reader, JsonTokenType.StartObject);
                merged = ReadBody(ref reader, default, 0);
            }
            else
            {
                Next(ref reader);
                reader.Skip();
            }
        }

        return new JourneyMergeShadow(mergeId, survivor, merged);
    }

    private static JourneyTrack ReadTrack(ref Utf8JsonReader reader)
    {
        string journey = string.Empty;
        int version = 0, fingerprint = 0, stage = -1, step = -1, visits = 0, flags = 0;
        long journeyEntered = 0, stageEntered = 0, stepStarted = 0, due = 0;
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            var name = reader.ValueSpan;
            Next(ref reader);
            switch (name)
            {
                case var n when n.SequenceEqual("journey"u8):
                    var id = reader.GetString()!;
                    journey = string.IsInterned(id) ?? id;
                    break;
                case var n when n.SequenceEqual("version"u8): version = reader.GetInt32(); break;
                case var n when n.SequenceEqual("fingerprint"u8): fingerprint = reader.GetInt32(); break;
                case var n when n.SequenceEqual("stage"u8): stage = reader.GetInt32(); break;
                case var n when n.SequenceEqual("step"u8): step = reader.GetInt32(); break;
                case var n when n.SequenceEqual("visits"u8): visits = reader.GetInt32(); break;
                case var n when n.SequenceEqual("flags"u8): flags = reader.GetInt32(); break;
                case var n when n.SequenceEqual("journeyEntered"u8): journeyEntered = reader.GetInt64(); break;
                case var n when n.SequenceEqual("stageEntered"u8): stageEntered = reader.GetInt64(); break;
                case var n when n.SequenceEqual("stepStarted"u8): stepStarted = reader.GetInt64(); break;
                case var n when n.SequenceEqual("due"u8): due = reader.GetInt64(); break;
                default: reader.Skip(); break;
            }
        }

        return new JourneyTrack
        {
            JourneyId = journey,
            Version = version,
            Fingerprint = fingerprint,
            StageIndex = stage,
            StepIndex = step,
            Visits = visits,
            Flags = (JourneyTrackFlags)flags,
            JourneyEnteredTicks = journeyEntered,
            StageEnteredTicks = stageEntered,
            StepStartedTicks = stepStarted,
            DueTicks = due,
        };
    }

    private static (string, long[], int, long, (long, int, decimal)[]) ReadSlot(ref Utf8JsonReader reader)
    {
        var key = string.Empty;
        var recent = new List<long>(4);
        var capacity = 0;
        long width = 0;
        var buckets = new List<(long, int, decimal)>();
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("event"))
            {
                Next(ref reader);
                key = reader.GetString()!;
            }
            else if (reader.ValueTextEquals("recent"))
            {
                Expect(ref reader, JsonTokenType.StartArray);
                while (Next(ref reader) == JsonTokenType.Number)
                {
                    recent.Add(reader.GetInt64());
                }
            }
            else if (reader.ValueTextEquals("capacity"))
            {
                Next(ref reader);
                capacity = reader.GetInt32();
            }
            else if (reader.ValueTextEquals("width"))
            {
                Next(ref reader);
                width = reader.GetInt64();
            }
            else if (reader.ValueTextEquals("buckets"))
            {
                Expect(ref reader, JsonTokenType.StartArray);
                while (Next(ref reader) == JsonTokenType.StartArray)
                {
                    Next(ref reader);
                    var index = reader.GetInt64();
                    Next(ref reader);
                    var count = reader.GetInt32();
                    Next(ref reader);
                    var sum = reader.GetDecimal();
                    Expect(ref reader, JsonTokenType.EndArray);
                    buckets.Add((index, count, sum));
                }
            }
            else
            {
                Next(ref reader);
                reader.Skip();
            }
        }

        return (key, recent.ToArray(), capacity, width, buckets.ToArray());
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader)
        => reader.Read() ? reader.TokenType : throw new JsonException("The journey record ends too early.");

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
    {
        if (Next(ref reader) != type)
        {
            throw new JsonException($"The journey record has {reader.TokenType} where {type} was expected.");
        }
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
