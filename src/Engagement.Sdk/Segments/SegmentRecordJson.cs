using System.Buffers;
using System.Collections.Immutable;
using System.Text.Json;
using Engagement.Sdk.Journeys;

namespace Engagement.Sdk.Segments;

/// <summary>
/// The JSON documents segment stores keep: a customer's <see cref="SegmentRecord"/> (memberships, counters keyed by event
/// type, merges folded) and one <see cref="SegmentChange"/>. For store adapters; the in-memory store keeps the objects.
/// </summary>
public static class SegmentRecordJson
{
    /// <summary>Writes a record (its customer, <see cref="SegmentRecord.Version"/> and <see cref="SegmentRecord.DueAt"/> are the store's columns).</summary>
    /// <param name="record">The record.</param>
    /// <returns>The UTF-8 JSON.</returns>
    public static byte[] WriteRecord(SegmentRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("mergesFolded", record.MergesFolded);
            w.WriteStartArray("members");
            foreach (var member in record.Members.IsDefault ? [] : record.Members)
            {
                w.WriteStartObject();
                w.WriteString("segment", member.Segment);
                w.WriteNumber("entered", member.EnteredAt.UtcTicks);
                w.WriteEndObject();
            }

            w.WriteEndArray();

            // The counters are written as the journeys' are (keyed by event type, read back whatever the layout).
            w.WritePropertyName("counters");
            w.WriteRawValue(JourneyRecordJson.WriteRecord(new JourneyRecord { CustomerId = record.CustomerId, Windows = record.Windows }));
            if (!record.Shares.IsDefaultOrEmpty)
            {
                // Each merged id's own counters, for an unmerge.
                w.WriteStartArray("shares");
                foreach (var share in record.Shares)
                {
                    w.WriteStartObject();
                    w.WriteString("id", share.CustomerId.Value);
                    w.WritePropertyName("counters");
                    w.WriteRawValue(JourneyRecordJson.WriteRecord(new JourneyRecord { CustomerId = share.CustomerId, Windows = share.Windows }));
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads a record written by <see cref="WriteRecord"/>.</summary>
    /// <param name="customerId">The customer (a column of the store).</param>
    /// <param name="version">The record's version (a column of the store).</param>
    /// <param name="dueAt">When it falls due (a column of the store).</param>
    /// <param name="utf8Json">The document.</param>
    /// <returns>The record.</returns>
    public static SegmentRecord ReadRecord(CustomerId customerId, long version, DateTimeOffset? dueAt, ReadOnlySpan<byte> utf8Json)
    {
        using var document = JsonDocument.Parse(utf8Json.ToArray());
        var root = document.RootElement;
        var members = ImmutableArray.CreateBuilder<SegmentMembership>();
        foreach (var member in root.GetProperty("members").EnumerateArray())
        {
            members.Add(new SegmentMembership(member.GetProperty("segment").GetString()!, new DateTimeOffset(member.GetProperty("entered").GetInt64(), TimeSpan.Zero)));
        }

        var counters = JourneyRecordJson.ReadRecord(customerId, 0, System.Text.Encoding.UTF8.GetBytes(root.GetProperty("counters").GetRawText()));
        var shares = ImmutableArray<SegmentCounters>.Empty;
        if (root.TryGetProperty("shares", out var sharesJson))
        {
            var builder = ImmutableArray.CreateBuilder<SegmentCounters>();
            foreach (var share in sharesJson.EnumerateArray())
            {
                var id = new CustomerId(share.GetProperty("id").GetString()!);
                builder.Add(new SegmentCounters(id, JourneyRecordJson.ReadRecord(id, 0, System.Text.Encoding.UTF8.GetBytes(share.GetProperty("counters").GetRawText())).Windows));
            }

            shares = builder.ToImmutable();
        }

        return new SegmentRecord
        {
            CustomerId = customerId,
            Version = version,
            Members = members.ToImmutable(),
            Windows = counters.Windows,
            DueAt = dueAt,
            MergesFolded = root.GetProperty("mergesFolded").GetInt32(),
            Shares = shares,
        };
    }
}
