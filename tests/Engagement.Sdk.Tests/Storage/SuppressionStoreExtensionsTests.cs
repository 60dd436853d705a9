using Engagement.Sdk.Consent;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Tests.Consent;

namespace Engagement.Sdk.Tests.Storage;

public sealed class SuppressionStoreExtensionsTests
{
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");

    [Fact]
    public async Task FindAsync_StoreThatNeverHeldASuppression_IsNotAskedUntilOneIsAdded()
    {
        var store = new CountedSuppressionStore();

        (await store.FindAsync(Ann)).Should().BeEmpty();
        store.Finds.Should().Be(0, "a store that never held a suppression has none for any address");

        await store.AddAsync(new Suppression(IdentifierHashing.Hash(Ann), SuppressionReason.HardBounce, DateTimeOffset.UnixEpoch, "test"));
        (await store.FindAsync(Ann)).Should().ContainSingle().Which.Reason.Should().Be(SuppressionReason.HardBounce);
        (await store.FindAsync(Identifier.Email("bob@example.com"))).Should().BeEmpty();
        store.Finds.Should().Be(2);
    }

    [Fact]
    public async Task FindAsync_InMemoryStoreAfterAnAddition_FindsIt()
    {
        var store = new InMemorySuppressionStore();
        (await store.FindAsync(Ann)).Should().BeEmpty();

        await store.AddAsync(new Suppression(IdentifierHashing.Hash(Ann), SuppressionReason.Complaint, DateTimeOffset.UnixEpoch, "test"));

        (await store.FindAsync(Ann)).Should().ContainSingle().Which.Reason.Should().Be(SuppressionReason.Complaint);
    }

    [Fact]
    public async Task FindAsync_EmptyInMemoryStoreAndACancelledToken_Throws()
    {
        var store = new InMemorySuppressionStore();

        var find = async () => await store.FindAsync(Ann, new CancellationToken(canceled: true));

        await find.Should().ThrowAsync<OperationCanceledException>();
    }
}
