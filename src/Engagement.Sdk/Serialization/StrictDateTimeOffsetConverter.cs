using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Engagement.Sdk.Serialization;

/// <summary>
/// Reads instants only as ISO 8601 with a date, a time and an explicit offset (<c>Z</c> or <c>±hh:mm</c>): a time without an
/// offset is ambiguous and is rejected instead of being read in the machine's local zone. Writes the round-trip format.
/// </summary>
internal sealed class StrictDateTimeOffsetConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException("An instant must be a JSON string in ISO 8601 with an offset, such as 2026-03-01T12:00:00Z.");
        }

        var text = reader.GetString()!;
        if (!HasExplicitOffset(text) || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var value))
        {
            throw new JsonException($"'{text}' is not an ISO 8601 instant with a date, a time and an offset (Z or ±hh:mm).");
        }

        return value;
    }

    // The round-trip format holds only digits, '-', ':', '.', 'T' and '+', so it is written unescaped ("+02:00", not
    // "\u002B02:00"), formatted straight into UTF-8 on the stack: profile and event documents hold several instants each.
    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        Span<byte> quoted = stackalloc byte[64];
        quoted[0] = (byte)'"';
        if (!value.TryFormat(quoted[1..], out var written, "O", CultureInfo.InvariantCulture))
        {
            throw new JsonException($"The instant {value.UtcTicks} ticks could not be formatted.");
        }

        quoted[written + 1] = (byte)'"';
        writer.WriteRawValue(quoted[..(written + 2)], skipInputValidation: true);
    }

    private static bool HasExplicitOffset(string text)
    {
        var t = text.IndexOf('T', StringComparison.Ordinal);
        if (t < 10 || text.Length < t + 6)
        {
            return false;
        }

        if (text[^1] is 'Z' or 'z')
        {
            return true;
        }

        return text.Length >= t + 7 && text[^6] is '+' or '-' && text[^3] == ':';
    }
}
