namespace Engagement.Sdk.Sqlite.Tests;

public sealed class BoundedCacheTests
{
    [Fact]
    public void Set_ExistingKeys_DoNotCountTowardsTheLimit()
    {
        var cache = new BoundedCache<string, int>(3, StringComparer.Ordinal);
        cache.Set("a", 1);
        cache.Set("b", 1);
        for (var i = 0; i < 100; i++)
        {
            cache.Set("a", i);
            cache.Set("b", i);
        }

        cache.Set("c", 1);
        cache.Count.Should().Be(3, "updating an entry is not adding one");
        cache.TryGetValue("a", out var a).Should().BeTrue();
        a.Should().Be(99);
    }

    [Fact]
    public void TryGetValue_AKeyAsCharacters_FindsTheEntryOfThatStringOnly()
    {
        var cache = new BoundedCache<string, int>(10, StringComparer.Ordinal);
        cache.Set("d-1", 1);
        cache.Set("d-é", 2);

        cache.TryGetValue<ReadOnlySpan<char>>("xd-1".AsSpan(1), out var one).Should().BeTrue();
        one.Should().Be(1);
        cache.TryGetValue<ReadOnlySpan<char>>("d-é".AsSpan(), out var two).Should().BeTrue();
        two.Should().Be(2);
        cache.TryGetValue<ReadOnlySpan<char>>("D-1".AsSpan(), out _).Should().BeFalse("keys are compared ordinally");
        cache.TryGetValue<ReadOnlySpan<char>>("d-".AsSpan(), out _).Should().BeFalse();
    }

    [Fact]
    public void Set_ANewKeyPastTheLimit_StartsOverWithIt()
    {
        var cache = new BoundedCache<string, int>(3, StringComparer.Ordinal);
        foreach (var key in new[] { "a", "b", "c" })
        {
            cache.Set(key, 1);
        }

        cache.Set("d", 4);
        cache.Count.Should().Be(1);
        cache.TryGetValue("a", out _).Should().BeFalse();
        cache.TryGetValue("d", out var d).Should().BeTrue();
        d.Should().Be(4);
    }

    [Fact]
    public void Set_ManyWritersAtOnce_NeverHoldsMoreThanTheLimit()
    {
        var cache = new BoundedCache<int, int>(64);
        var largest = 0;
        Parallel.For(0, 20_000, i =>
        {
            cache.Set(i, i);
            if (i % 100 == 0)
            {
                var count = cache.Count;
                int seen;
                do
                {
                    seen = Volatile.Read(ref largest);
                }
                while (count > seen && Interlocked.CompareExchange(ref largest, count, seen) != seen);
            }
        });

        largest.Should().BeLessThanOrEqualTo(128, "an entry added while another writer starts over may go uncounted until the next start, never more than one per writer");
        cache.Count.Should().BeLessThanOrEqualTo(128);
    }

    [Fact]
    public void Remove_ForgetsTheEntry()
    {
        var cache = new BoundedCache<string, int>(3, StringComparer.Ordinal);
        cache.Set("a", 1);
        cache.Remove("a");
        cache.TryGetValue("a", out _).Should().BeFalse();
    }
}
