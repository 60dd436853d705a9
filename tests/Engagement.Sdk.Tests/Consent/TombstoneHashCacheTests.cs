using Engagement.Sdk.Consent;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Tests.Consent;

public sealed class TombstoneHashCacheTests
{
    [Fact]
    public void HashOf_ManyIdsThroughFewSlots_AlwaysTheTombstonesHash()
    {
        var cache = new TombstoneHashCache(4);
        string[] ids = ["ann", "bob", "Ann", "a n n", "мария", "客户-1", "a\u0301", "c-" + new string('x', 126)];

        for (var round = 0; round < 3; round++)
        {
            foreach (var value in ids.Concat(Enumerable.Range(0, 50).Select(i => "c" + i)))
            {
                var id = new CustomerId(value);
                cache.HashOf(id).Should().Be(IdentifierHashing.Hash(CustomerErasure.Tombstone(id)), "the cached hash of '{0}' is the tombstone's", value);
            }
        }
    }

    [Fact]
    public void HashOf_SameIdAgain_IsRemembered()
    {
        var cache = new TombstoneHashCache(1_024);
        var first = cache.HashOf(new CustomerId("ann"));

        cache.HashOf(new CustomerId(new string("ann".ToCharArray()))).Should().BeSameAs(first, "an equal id (another string instance) hits the slot");
    }

    [Fact]
    public void HashOf_TwoIdsSharingASlotPair_BothStayRemembered()
    {
        var cache = new TombstoneHashCache(2); // one pair: every id maps to it
        var ann = cache.HashOf(new CustomerId("ann"));
        var bob = cache.HashOf(new CustomerId("bob"));

        cache.HashOf(new CustomerId("ann")).Should().BeSameAs(ann);
        cache.HashOf(new CustomerId("bob")).Should().BeSameAs(bob);
        cache.HashOf(new CustomerId("cid")).Should().Be(CustomerErasure.TombstoneHash(new CustomerId("cid")));
        cache.HashOf(new CustomerId("ann")).Should().NotBeSameAs(ann, "a third id pushed the older of the two out").And.Be(ann);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(-8)]
    public void New_SlotsNotAPowerOfTwo_Throws(int slots)
    {
        var act = () => new TombstoneHashCache(slots);

        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("slots");
    }
}
