using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Tests.Profiles;

public sealed class CatalogueStringsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Apply_SameProductInEventsOfTwoCustomers_BothProfilesHoldOneSharedString()
    {
        // Each event carries its own copy of the product id and category, as deserialised events do.
        var ann = ProfileUpdater.Apply(CustomerProfile.New(new CustomerId("ann")), View("ann", new string("boots-4711".AsSpan()), new string("shoes".AsSpan())));
        var bob = ProfileUpdater.Apply(CustomerProfile.New(new CustomerId("bob")), View("bob", new string("boots-4711".AsSpan()), new string("shoes".AsSpan())));

        var annItem = ann.Behaviour.ItemsViewed.Single();
        var bobItem = bob.Behaviour.ItemsViewed.Single();
        annItem.Should().Be("boots-4711");
        ReferenceEquals(annItem, bobItem).Should().BeTrue("one product id is stored once, however many profiles hold it");
        ReferenceEquals(ann.Behaviour.CategoryViews.Keys.Single(), bob.Behaviour.CategoryViews.Keys.Single()).Should().BeTrue();
    }

    private static ProductViewed View(string customer, string product, string category)
        => new() { EventId = "v-" + customer, CustomerId = new CustomerId(customer), Timestamp = T0, ProductId = product, Category = category };
}
