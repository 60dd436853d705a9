using Engagement.Sdk.Consent;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;

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
    [Fact]
    public async Task IsErased_AfterTheTombstoneIsAdded_IsSeenAtOnce()
    {
        var cache = new TombstoneHashCache(16);
        var store = new InMemorySuppressionStore();
        var ann = new CustomerId("ann");
        (await cache.IsErasedAsync(ann, store, default)).Should().BeFalse();
        (await cache.IsErasedAsync(ann, store, default)).Should().BeFalse("the memo of a customer not erased");

        await store.AddAsync(Tombstone(ann));

        (await cache.IsErasedAsync(ann, store, default)).Should().BeTrue("an erasure added to the store ends every memo");
        (await cache.IsErasedAsync(new CustomerId("bob"), store, default)).Should().BeFalse();
    }

    [Fact]
    public async Task IsErased_CountedStoreUnchanged_IsAskedOncePerCustomer()
    {
        var cache = new TombstoneHashCache(16);
        var store = new CountedSuppressionStore();
        var ann = new CustomerId("ann");

        for (var i = 0; i < 5; i++)
        {
            (await cache.IsErasedAsync(ann, store, default)).Should().BeFalse();
        }

        store.Finds.Should().Be(0, "the store holds no erasure, so no customer is erased");
        await store.AddAsync(Tombstone(new CustomerId("someone-else")));
        for (var i = 0; i < 5; i++)
        {
            (await cache.IsErasedAsync(ann, store, default)).Should().BeFalse();
        }

        store.Finds.Should().Be(1, "the count moved, so the store is asked again, once");
    }

    [Fact]
    public async Task IsErased_BouncesAndOptOuts_DoNotEndTheMemo()
    {
        var cache = new TombstoneHashCache(16);
        var store = new CountedSuppressionStore();
        var ann = new CustomerId("ann");
        await store.AddAsync(Tombstone(new CustomerId("someone-else")));
        (await cache.IsErasedAsync(ann, store, default)).Should().BeFalse();

        await store.AddAsync(new Suppression(IdentifierHashing.Hash(Identifier.Email("ann@example.com")), SuppressionReason.HardBounce, DateTimeOffset.UnixEpoch, "esp"));
        await store.AddAsync(new Suppression(IdentifierHashing.Hash(Identifier.Phone("+447700900123")), SuppressionReason.Keyword, DateTimeOffset.UnixEpoch, "sms"));
        (await cache.IsErasedAsync(ann, store, default)).Should().BeFalse();

        store.Finds.Should().Be(1, "only an erasure can make a customer erased");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task IsErased_ASuppressionOfTheTombstoneHashThatIsNoErasure_IsNotAnErasure(bool counted)
    {
        var cache = new TombstoneHashCache(16);
        ISuppressionStore store = counted ? new CountedSuppressionStore() : new CountingSuppressionStore();
        var ann = new CustomerId("ann");
        var hash = IdentifierHashing.Hash(CustomerErasure.Tombstone(ann));
        await store.AddAsync(Tombstone(new CustomerId("someone-else")));

        await store.AddAsync(new Suppression(hash, SuppressionReason.Complaint, DateTimeOffset.UnixEpoch, "test"));

        (await cache.IsErasedAsync(ann, store, default)).Should().BeFalse();
        (await CustomerErasure.IsErasedAsync(store, ann)).Should().BeFalse();
        await store.AddAsync(Tombstone(ann));
        (await cache.IsErasedAsync(ann, store, default)).Should().BeTrue();
        (await CustomerErasure.IsErasedAsync(store, ann)).Should().BeTrue();
    }

    [Fact]
    public async Task IsErased_StoreWithoutACount_IsAskedEveryTime()
    {
        var cache = new TombstoneHashCache(16);
        var store = new CountingSuppressionStore();

        for (var i = 0; i < 3; i++)
        {
            (await cache.IsErasedAsync(new CustomerId("ann"), store, default)).Should().BeFalse();
        }

        store.Finds.Should().Be(3);
    }

    private static Suppression Tombstone(CustomerId customer)
        => new(IdentifierHashing.Hash(CustomerErasure.Tombstone(customer)), SuppressionReason.Erasure, DateTimeOffset.UnixEpoch, "test");

}
