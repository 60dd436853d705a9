using System.Globalization;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Benchmarks.Core;

/// <summary>
/// Retained memory of profiles in the in-memory store: builds <c>count</c> profiles as the engine would (an email and an
/// anonymous id, three product views in two categories, a cart, an order, the lifecycle journey) and reports the managed heap
/// after a full, compacting collection, minus the heap before. Run with <c>-- --profile-memory [count]</c>.
/// </summary>
public static class ProfileMemory
{
    /// <summary>Measures and prints the result.</summary>
    /// <param name="count">How many profiles.</param>
    public static void Run(int count)
    {
        var now = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
        var before = Collect();
        var store = new InMemoryProfileStore();
        for (var i = 0; i < count; i++)
        {
            var id = new CustomerId("customer-" + i.ToString(CultureInfo.InvariantCulture));
            var profile = CustomerProfile.New(id)
                .WithIdentifier(Identifier.Email("customer" + i.ToString(CultureInfo.InvariantCulture) + "@example.com"))
                .WithIdentifier(Identifier.Anonymous("cookie-" + i.ToString(CultureInfo.InvariantCulture)));
            EngagementEvent[] events =
            [
                new ProductViewed { EventId = "v1", CustomerId = id, Timestamp = now, ProductId = "p" + (i % 500), Category = "c" + (i % 20) },
                new ProductViewed { EventId = "v2", CustomerId = id, Timestamp = now.AddMinutes(1), ProductId = "p" + ((i + 1) % 500), Category = "c" + (i % 20) },
                new ProductViewed { EventId = "v3", CustomerId = id, Timestamp = now.AddMinutes(2), ProductId = "p" + ((i + 2) % 500), Category = "c" + ((i + 1) % 20) },
                new AddedToCart { EventId = "a1", CustomerId = id, Timestamp = now.AddMinutes(3), ProductId = "p" + (i % 500) },
                new Purchased { EventId = "o1", CustomerId = id, Timestamp = now.AddMinutes(4), OrderId = "o" + i, Lines = [new OrderLine("p" + (i % 500), 1, Money.Of(25m, "EUR"), "c" + (i % 20))] },
            ];
            foreach (var e in events)
            {
                profile = ProfileUpdater.Apply(profile, e);
            }

            store.SaveAsync(profile).AsTask().GetAwaiter().GetResult();
        }

        var after = Collect();
        GC.KeepAlive(store);
        var bytes = after - before;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{count:N0} profiles retain {bytes / 1024.0 / 1024.0:N1} MiB ({bytes / (double)count:N0} bytes per profile, identifier index included)"));
    }

    private static long Collect()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
