using System.Text.Json;
using Engagement.Sdk.Serialization;

namespace Engagement.Sdk.Events;

/// <summary>
/// Reads and writes events as JSON at the SDK's boundary. Reading rejects, with an <see cref="EngagementValidationException"/>
/// naming the field: payloads over the size limit (before they are read), malformed JSON, unknown or duplicate properties,
/// unknown event types, missing required fields, and whatever <see cref="EventValidator"/> rejects.
/// </summary>
public static class EventJson
{
    /// <summary>The default largest payload accepted, in bytes (64 KiB).</summary>
    public const int DefaultMaxBytes = 64 * 1024;

    /// <summary>Serialises an event (with its <c>type</c> discriminator) to UTF-8 JSON.</summary>
    /// <param name="engagementEvent">The event.</param>
    /// <returns>The JSON bytes.</returns>
    public static byte[] Serialize(EngagementEvent engagementEvent)
    {
        ArgumentNullException.ThrowIfNull(engagementEvent);
        return JsonSerializer.SerializeToUtf8Bytes(engagementEvent, EngagementJsonContext.Default.EngagementEvent);
    }

    /// <summary>Parses one event from UTF-8 JSON.</summary>
    /// <param name="utf8Json">The payload.</param>
    /// <param name="maxBytes">The largest payload accepted.</param>
    /// <returns>The event (not yet validated against a clock: pass it to <see cref="EventValidator"/> or the engine).</returns>
    /// <exception cref="EngagementValidationException">The payload is too large or not a valid event.</exception>
    public static EngagementEvent Deserialize(ReadOnlySpan<byte> utf8Json, int maxBytes = DefaultMaxBytes)
    {
        if (utf8Json.Length > maxBytes)
        {
            throw new EngagementValidationException("payload", $"{utf8Json.Length} bytes", $"must be at most {maxBytes} bytes");
        }

        if (utf8Json.IsEmpty)
        {
            throw new EngagementValidationException("payload", string.Empty, "must be a JSON object holding one event");
        }

        try
        {
            return JsonSerializer.Deserialize(utf8Json, EngagementJsonContext.Default.EngagementEvent)
                ?? throw new EngagementValidationException("payload", "null", "must be a JSON object holding one event");
        }
        catch (JsonException ex)
        {
            throw Translate(ex);
        }
        catch (NotSupportedException ex)
        {
            throw new EngagementValidationException("type", null, "must name a known event type (" + ex.Message + ")");
        }
    }

    /// <summary>Parses one event from a stream, reading at most <paramref name="maxBytes"/> + 1 bytes, so an oversize payload is rejected before it is fully read.</summary>
    /// <param name="stream">The stream.</param>
    /// <param name="maxBytes">The largest payload accepted.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The event.</returns>
    /// <exception cref="EngagementValidationException">The payload is too large or not a valid event.</exception>
    public static async ValueTask<EngagementEvent> DeserializeAsync(Stream stream, int maxBytes = DefaultMaxBytes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var buffer = new byte[Math.Min(maxBytes + 1, 1 << 20)];
        var total = 0;
        while (true)
        {
            if (total == buffer.Length)
            {
                if (total > maxBytes)
                {
                    throw new EngagementValidationException("payload", $"more than {maxBytes} bytes", $"must be at most {maxBytes} bytes");
                }

                Array.Resize(ref buffer, Math.Min(buffer.Length * 2, maxBytes + 1));
            }

            var read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            total += read;
            if (total > maxBytes)
            {
                throw new EngagementValidationException("payload", $"more than {maxBytes} bytes", $"must be at most {maxBytes} bytes");
            }
        }

        return Deserialize(buffer.AsSpan(0, total), maxBytes);
    }

    private static EngagementValidationException Translate(JsonException ex)
    {
        if (ex.InnerException is EngagementValidationException inner)
        {
            return inner;
        }

        var field = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "payload" : ex.Path.TrimStart('$', '.');
        var message = ex.Message;
        var rule = message.Contains("could not be mapped", StringComparison.Ordinal) ? "is not a property of this event type (unknown properties are rejected)"
            : message.Contains("Duplicate", StringComparison.OrdinalIgnoreCase) ? "appears twice (duplicate properties are rejected)"
            : message.Contains("missing required properties", StringComparison.Ordinal) ? "an event is missing required properties: " + RequiredList(message)
            : message.Contains("type discriminator", StringComparison.OrdinalIgnoreCase) || message.Contains("polymorphic", StringComparison.OrdinalIgnoreCase) ? "must name a known event type in the 'type' property, first"
            : message.StartsWith('\'') || message.StartsWith("An instant", StringComparison.Ordinal) ? FirstSentence(message)
            : "is not valid JSON for this field (" + FirstSentence(message) + ")";
        return new EngagementValidationException(field, null, rule);
    }

    private static string RequiredList(string message)
    {
        var colon = message.LastIndexOf(':');
        return colon >= 0 ? message[(colon + 1)..].Trim().TrimEnd('.') : message;
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message.TrimEnd('.');
    }
}
