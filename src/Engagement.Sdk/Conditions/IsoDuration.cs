using System.Globalization;
using System.Text;

namespace Engagement.Sdk.Conditions;

/// <summary>
/// Durations as written in journey definitions: ISO 8601 with weeks, days, hours, minutes and whole seconds
/// (<c>P7D</c>, <c>PT12H</c>, <c>P1DT2H30M</c>, <c>P2W</c>), optionally negative (<c>-P1D</c>, which validation then
/// rejects with its rule). Months and years are not accepted: their length varies.
/// </summary>
public static class IsoDuration
{
    /// <summary>The longest duration a definition may hold: 10 years of 365 days.</summary>
    public static TimeSpan Max { get; } = TimeSpan.FromDays(3650);

    /// <summary>Parses a duration.</summary>
    /// <param name="text">The text.</param>
    /// <param name="path">Where the text is (a JSON path), for the error.</param>
    /// <returns>The duration.</returns>
    /// <exception cref="EngagementValidationException">The text is not an ISO 8601 duration of this form.</exception>
    public static TimeSpan Parse(string? text, string path)
    {
        if (TryParse(text, out var value))
        {
            return value;
        }

        throw new EngagementValidationException(path, text, "must be an ISO 8601 duration in weeks, days, hours, minutes and whole seconds, such as P7D, PT12H or P1DT2H30M");
    }

    /// <summary>Parses a duration.</summary>
    /// <param name="text">The text.</param>
    /// <param name="value">The duration.</param>
    /// <returns>Whether the text is a duration of this form.</returns>
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrEmpty(text) || text.Length > 40)
        {
            return false;
        }

        var i = 0;
        var negative = text[0] == '-';
        if (negative)
        {
            i++;
        }

        if (i >= text.Length || text[i] != 'P')
        {
            return false;
        }

        i++;
        var inTime = false;
        var any = false;
        var lastRank = -1; // W=0 D=1 H=2 M=3 S=4: each unit at most once, in order
        long seconds = 0;
        while (i < text.Length)
        {
            if (text[i] == 'T')
            {
                if (inTime || i == text.Length - 1)
                {
                    return false;
                }

                inTime = true;
                i++;
                continue;
            }

            var start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }

            if (i == start || i >= text.Length || i - start > 9)
            {
                return false;
            }

            var number = long.Parse(text.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture);
            var (rank, unit) = (text[i], inTime) switch
            {
                ('W', false) => (0, 7L * 86400),
                ('D', false) => (1, 86400L),
                ('H', true) => (2, 3600L),
                ('M', true) => (3, 60L),
                ('S', true) => (4, 1L),
                _ => (-1, 0L),
            };
            if (rank <= lastRank)
            {
                return false;
            }

            lastRank = rank;
            seconds += number * unit;
            any = true;
            i++;
        }

        if (!any || seconds > 100L * 365 * 86400)
        {
            return false;
        }

        value = TimeSpan.FromSeconds(negative ? -seconds : seconds);
        return true;
    }

    /// <summary>Formats a duration as <see cref="Parse"/> reads it (days, hours, minutes, seconds; fractions of a second are dropped).</summary>
    /// <param name="value">The duration.</param>
    /// <returns>The text, such as <c>P7D</c> or <c>PT0S</c>.</returns>
    public static string Format(TimeSpan value)
    {
        var builder = new StringBuilder(16);
        var total = (long)Math.Floor(Math.Abs(value.TotalSeconds));
        if (value < TimeSpan.Zero)
        {
            builder.Append('-');
        }

        builder.Append('P');
        var days = total / 86400;
        var rest = total % 86400;
        if (days > 0)
        {
            builder.Append(days.ToString(CultureInfo.InvariantCulture)).Append('D');
        }

        if (rest > 0 || days == 0)
        {
            builder.Append('T');
            var hours = rest / 3600;
            var minutes = rest % 3600 / 60;
            var secs = rest % 60;
            if (hours > 0)
            {
                builder.Append(hours.ToString(CultureInfo.InvariantCulture)).Append('H');
            }

            if (minutes > 0)
            {
                builder.Append(minutes.ToString(CultureInfo.InvariantCulture)).Append('M');
            }

            if (secs > 0 || rest == 0)
            {
                builder.Append(secs.ToString(CultureInfo.InvariantCulture)).Append('S');
            }
        }

        return builder.ToString();
    }

    /// <summary>Checks a duration of a definition: positive (or zero where allowed), whole seconds, at most <see cref="Max"/>.</summary>
    /// <param name="path">Where it is.</param>
    /// <param name="value">The duration.</param>
    /// <param name="allowZero">Whether zero is allowed.</param>
    /// <exception cref="EngagementValidationException">It breaks a rule.</exception>
    internal static void Require(string path, TimeSpan value, bool allowZero = false)
    {
        if (value < TimeSpan.Zero || (!allowZero && value == TimeSpan.Zero))
        {
            throw new EngagementValidationException(path, Format(value), allowZero ? "must not be negative" : "must be more than zero");
        }

        if (value > Max)
        {
            throw new EngagementValidationException(path, Format(value), "must be at most 10 years (P3650D)");
        }

        if (value.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            throw new EngagementValidationException(path, value.ToString("c", CultureInfo.InvariantCulture), "must be a whole number of seconds");
        }
    }
}
