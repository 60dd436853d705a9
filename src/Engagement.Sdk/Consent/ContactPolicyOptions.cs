using Engagement.Sdk.Channels;

namespace Engagement.Sdk.Consent;

/// <summary>How a frequency cap's window is measured.</summary>
public enum CapPeriod
{
    /// <summary>A rolling window of <see cref="FrequencyCap.Window"/> ending now.</summary>
    Rolling,

    /// <summary>The recipient's current calendar day, in their time zone.</summary>
    CalendarDay,

    /// <summary>The recipient's current calendar week (Monday to Sunday), in their time zone.</summary>
    CalendarWeek,
}

/// <summary>
/// A frequency cap: at most <see cref="Limit"/> messages for <see cref="Purpose"/> on <see cref="Channel"/> within a window,
/// either rolling (<see cref="Window"/>) or the recipient's calendar day or week (<see cref="Period"/>).
/// </summary>
public sealed class FrequencyCap
{
    /// <summary>How the window is measured.</summary>
    /// <value>Defaults to <see cref="CapPeriod.Rolling"/>.</value>
    public CapPeriod Period { get; set; } = CapPeriod.Rolling;

    /// <summary>The channel counted, or <see langword="null"/> to count every channel together.</summary>
    public Channel? Channel { get; set; }

    /// <summary>The purpose counted.</summary>
    /// <value>Defaults to <see cref="Purpose.Marketing"/>.</value>
    public Purpose Purpose { get; set; } = Purpose.Marketing;

    /// <summary>The most messages allowed in the window (at least 1).</summary>
    /// <value>Defaults to 1.</value>
    public int Limit { get; set; } = 1;

    /// <summary>
    /// Whether the cap counts the messages of every member of the recipient's household (<see cref="Households.Household"/>)
    /// rather than the recipient's own: "at most one offer a week to the family".
    /// </summary>
    /// <value>Defaults to <see langword="false"/>.</value>
    public bool PerHousehold { get; set; }

    /// <summary>The rolling window; ignored for calendar periods (but still validated).</summary>
    /// <value>Defaults to one day; from 1 minute to 366 days.</value>
    public TimeSpan Window { get; set; } = TimeSpan.FromDays(1);
}

/// <summary>Quiet hours: on <see cref="Channel"/>, messages for <see cref="Purpose"/> go out only between <see cref="Start"/> and <see cref="End"/> in the recipient's local time.</summary>
public sealed class QuietHours
{
    /// <summary>The channel.</summary>
    public Channel Channel { get; set; } = Channel.Sms;

    /// <summary>The purpose.</summary>
    /// <value>Defaults to <see cref="Purpose.Marketing"/>.</value>
    public Purpose Purpose { get; set; } = Purpose.Marketing;

    /// <summary>The local time sending may start (inclusive).</summary>
    /// <value>Defaults to 08:00.</value>
    public TimeOnly Start { get; set; } = new(8, 0);

    /// <summary>The local time sending must stop (exclusive); later than <see cref="Start"/>.</summary>
    /// <value>Defaults to 21:00.</value>
    public TimeOnly End { get; set; } = new(21, 0);
}

/// <summary>How often and when customers may be contacted, beyond consent.</summary>
public sealed class ContactPolicyOptions
{
    /// <summary>The frequency caps. Transactional messages are never capped.</summary>
    /// <value>Defaults to one marketing message per channel per day and three per week across all channels.</value>
    public IList<FrequencyCap> Caps { get; } =
    [
        new FrequencyCap { Channel = Channel.Email, Limit = 1, Window = TimeSpan.FromDays(1) },
        new FrequencyCap { Channel = Channel.Sms, Limit = 1, Window = TimeSpan.FromDays(1) },
        new FrequencyCap { Channel = Channel.Push, Limit = 1, Window = TimeSpan.FromDays(1) },
        new FrequencyCap { Channel = null, Limit = 3, Window = TimeSpan.FromDays(7) },
    ];

    /// <summary>
    /// The most messages held for one customer at once (actions with <see cref="Decisioning.ActionDefinition.HoldFor"/>): when
    /// the queue is full, a new message of higher priority takes the place of the lowest-priority one (cancelled as
    /// pre-empted); otherwise the new one is not held.
    /// </summary>
    /// <value>Defaults to 3; at least 1.</value>
    public int MaxHeldPerCustomer { get; set; } = 3;

    /// <summary>Quiet hours in the recipient's local time.</summary>
    /// <value>Defaults to marketing SMS and phone calls only in [08:00, 21:00) (the US TCPA window).</value>
    public IList<QuietHours> QuietHours { get; } =
    [
        new QuietHours { Channel = Channel.Sms },
        new QuietHours { Channel = Channel.Phone },
    ];
}
