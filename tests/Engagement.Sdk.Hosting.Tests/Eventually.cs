using Microsoft.Extensions.Time.Testing;

namespace Engagement.Sdk.Hosting.Tests;

/// <summary>
/// Waits for something a background loop does. The loops run on their own threads, so the test moves the fake clock a step at
/// a time (a loop may not yet be waiting on it when the clock moves) until the condition holds; the wall-clock limit only
/// stops a broken test from hanging, it is not a measure of speed.
/// </summary>
internal static class Eventually
{
    public static async Task HoldsAsync(Func<bool> condition, FakeTimeProvider? clock = null, TimeSpan? step = null, string because = "")
    {
        var limit = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > limit)
            {
                throw new TimeoutException("The condition did not hold within 30 seconds of real time: " + because);
            }

            clock?.Advance(step ?? TimeSpan.FromSeconds(1));
            await Task.Delay(10);
        }
    }
}
