namespace Quickstart;

/// <summary>A clock that the replay moves forward to each happening's time, so the engine sees the simulated present.</summary>
public sealed class ReplayClock : TimeProvider
{
    private DateTimeOffset _now;

    /// <summary>Creates the clock at <paramref name="start"/>.</summary>
    /// <param name="start">The first instant.</param>
    public ReplayClock(DateTimeOffset start) => _now = start;

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow() => _now;

    /// <summary>Moves the clock to <paramref name="now"/> (never backwards).</summary>
    /// <param name="now">The new present.</param>
    public void MoveTo(DateTimeOffset now)
    {
        if (now > _now)
        {
            _now = now;
        }
    }
}
