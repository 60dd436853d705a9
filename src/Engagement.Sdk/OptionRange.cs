using System.Globalization;

namespace Engagement.Sdk;

/// <summary>The documented ranges of the SDK's time options, checked at start-up with the option's name, value and range.</summary>
internal static class OptionRange
{
    public static readonly (TimeSpan Min, TimeSpan Max, string Text) LatenessWindow = (TimeSpan.FromMinutes(1), TimeSpan.FromDays(3650), "1 minute to 3,650 days");
    public static readonly (TimeSpan Min, TimeSpan Max, string Text) EventRetention = (TimeSpan.FromDays(1), TimeSpan.FromDays(36_500), "1 day to 36,500 days");
    public static readonly (TimeSpan Min, TimeSpan Max, string Text) MaxClockSkew = (TimeSpan.Zero, TimeSpan.FromDays(1), "0 to 1 day");
    public static readonly (TimeSpan Min, TimeSpan Max, string Text) CapWindow = (TimeSpan.FromMinutes(1), TimeSpan.FromDays(366), "1 minute to 366 days");

    /// <summary>Adds a failure naming <paramref name="name"/>, its value and the range when <paramref name="value"/> is outside it.</summary>
    public static void Check(List<string> failures, string name, TimeSpan value, (TimeSpan Min, TimeSpan Max, string Text) range)
    {
        if (value < range.Min || value > range.Max)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{name} is {value}: it must be from {range.Text} ({range.Min} to {range.Max})."));
        }
    }
}
