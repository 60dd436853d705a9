namespace Engagement.Sdk;

/// <summary>Checks on text that the SDK applies at every boundary.</summary>
internal static class Text
{
    /// <summary>Whether <paramref name="value"/> holds a surrogate that is not part of a valid pair.</summary>
    public static bool HasLoneSurrogate(string value)
    {
        // Most text holds no surrogate at all: one vectorised scan answers for it.
        if (!value.AsSpan().ContainsAnyInRange('\uD800', '\uDFFF'))
        {
            return false;
        }

        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1]))
                {
                    return true;
                }

                i++;
            }
            else if (char.IsLowSurrogate(c))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Validates a short machine token (an event id, an action id, a product id): non-empty, at most
    /// <paramref name="maxLength"/> characters, no control characters, valid UTF-16, no surrounding white space.
    /// </summary>
    public static string RequireToken(string field, string? value, int maxLength = 128)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw new EngagementValidationException(field, value, "must not be empty");
        }

        if (value.Length > maxLength)
        {
            throw new EngagementValidationException(field, value, $"must be at most {maxLength} characters");
        }

        if (char.IsWhiteSpace(value[0]) || char.IsWhiteSpace(value[^1]))
        {
            throw new EngagementValidationException(field, value, "must not start or end with white space");
        }

        RequireCleanText(field, value);
        return value;
    }

    /// <summary>
    /// Validates text that may reach a channel, a header or a log: no control characters at all (CR, LF, tab, NUL and every
    /// other C0 or C1 control, which could split a header or inject a line), and valid UTF-16.
    /// </summary>
    public static string RequireCleanText(string field, string value)
    {
        // Printable ASCII (most ids and names) has neither control characters nor surrogates: one vectorised scan clears it.
        if (!value.AsSpan().ContainsAnyExceptInRange(' ', '~'))
        {
            return value;
        }

        // C0 (U+0000-U+001F), DEL and C1 (U+007F-U+009F): exactly the characters char.IsControl reports.
        if (value.AsSpan().ContainsAnyInRange('\u0000', '\u001F') || value.AsSpan().ContainsAnyInRange('\u007F', '\u009F'))
        {
            throw new EngagementValidationException(field, value, "must not contain control characters such as CR, LF, tab or NUL");
        }

        if (HasLoneSurrogate(value))
        {
            throw new EngagementValidationException(field, value, "must be valid UTF-16 (no lone surrogates)");
        }

        return value;
    }
}
