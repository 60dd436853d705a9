using Engagement.Sdk.Testing;

namespace Engagement.Sdk.Testing.Tests;

public sealed class ManualTimeProviderTests
{
    private static readonly DateTimeOffset Start = new(2026, 5, 1, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Advance_MovesTheClock()
    {
        var clock = new ManualTimeProvider(Start);

        clock.Advance(TimeSpan.FromMinutes(90));

        clock.GetUtcNow().Should().Be(Start.AddMinutes(90));
    }

    [Fact]
    public void SetUtcNow_Backwards_Throws()
    {
        var clock = new ManualTimeProvider(Start);

        var act = () => clock.SetUtcNow(Start.AddSeconds(-1));

        act.Should().Throw<ArgumentOutOfRangeException>();
        clock.GetUtcNow().Should().Be(Start);
    }

    [Fact]
    public void CreateTimer_PeriodicTimer_FiresOncePerPeriodPassed()
    {
        var clock = new ManualTimeProvider(Start);
        var fired = 0;
        using var timer = clock.CreateTimer(_ => fired++, null, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));

        clock.Advance(TimeSpan.FromSeconds(9));
        fired.Should().Be(0);
        clock.Advance(TimeSpan.FromSeconds(25));
        fired.Should().Be(3);
    }

    [Fact]
    public async Task Delay_CompletesWhenTheClockPassesIt()
    {
        var clock = new ManualTimeProvider(Start);
        var delay = Task.Delay(TimeSpan.FromMinutes(5), clock);

        delay.IsCompleted.Should().BeFalse();
        clock.Advance(TimeSpan.FromMinutes(5));

        await delay.WaitAsync(TimeSpan.FromSeconds(5));
        delay.IsCompletedSuccessfully.Should().BeTrue();
    }

    [Fact]
    public void DisposedTimer_DoesNotFire()
    {
        var clock = new ManualTimeProvider(Start);
        var fired = false;
        var timer = clock.CreateTimer(_ => fired = true, null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);

        timer.Dispose();
        clock.Advance(TimeSpan.FromMinutes(1));

        fired.Should().BeFalse();
    }
}
