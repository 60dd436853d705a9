namespace WebShop.Demo;

/// <summary>
/// The shop's clock: the system clock, except while the demo history is replayed, when it stands at the simulated present
/// (so the engine sees each simulated event at its own time). Once the replay ends it follows the system clock again.
/// </summary>
public sealed class DemoClock : TimeProvider
{
    private readonly TimeProvider _system;
    private long _replayTicks = -1;

    /// <summary>Creates the clock on top of <paramref name="system"/>.</summary>
    /// <param name="system">The real clock.</param>
    public DemoClock(TimeProvider system) => _system = system ?? throw new ArgumentNullException(nameof(system));

    /// <summary>Whether a replay is moving the clock.</summary>
    public bool IsReplaying => Volatile.Read(ref _replayTicks) >= 0;

    /// <inheritdoc />
    public override TimeZoneInfo LocalTimeZone => _system.LocalTimeZone;

    /// <inheritdoc />
    public override long TimestampFrequency => _system.TimestampFrequency;

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow()
    {
        var ticks = Volatile.Read(ref _replayTicks);
        return ticks >= 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : _system.GetUtcNow();
    }

    /// <inheritdoc />
    public override long GetTimestamp() => _system.GetTimestamp();

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        => _system.CreateTimer(callback, state, dueTime, period);

    /// <summary>Moves the replay to <paramref name="now"/> (never backwards); starts the replay on the first call.</summary>
    /// <param name="now">The simulated present; it must not be later than the real present.</param>
    public void ReplayTo(DateTimeOffset now)
    {
        if (now > _system.GetUtcNow())
        {
            throw new ArgumentOutOfRangeException(nameof(now), now, "The replay cannot run ahead of the real clock.");
        }

        var ticks = now.UtcTicks;
        if (ticks > Volatile.Read(ref _replayTicks))
        {
            Volatile.Write(ref _replayTicks, ticks);
        }
    }

    /// <summary>Ends the replay: from now on the clock is the system clock.</summary>
    public void EndReplay() => Volatile.Write(ref _replayTicks, -1);
}
