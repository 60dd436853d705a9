using System.Globalization;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using FsCheck;
using FsCheck.Fluent;

namespace Engagement.Sdk.Tests.Storage;

/// <summary>
/// The in-memory profile store's open-addressed tables against two dictionaries as the reference model (the first profile
/// saved with an identifier owns it; a profile that lets it go releases it; erasure removes the profile and what it owns):
/// long random runs of saves that take, share and drop identifiers, and erasures (which free entries for reuse and shift
/// probe runs back), with every lookup compared along the way.
/// </summary>
public sealed class InMemoryProfileTablesTests
{
    [Fact]
    public void RandomSavesAndErasures_LookUpAsDictionariesWould()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(20), Prop.ForAll(Arb.From(Gen.Choose(0, int.MaxValue)), seed =>
        {
            var random = new Random(seed);
            var store = new InMemoryProfileStore();
            var profiles = new Dictionary<CustomerId, CustomerProfile>();
            var owners = new Dictionary<Identifier, CustomerId>();
            var customers = Enumerable.Range(0, 150).Select(i => new CustomerId("c-" + i.ToString(CultureInfo.InvariantCulture))).ToArray();
            var identifiers = Enumerable.Range(0, 400).Select(i => i % 2 == 0
                ? Identifier.Email("Person" + i.ToString(CultureInfo.InvariantCulture) + "@Example.com")
                : Identifier.Anonymous("cookie-" + i.ToString(CultureInfo.InvariantCulture))).ToArray();
            for (var step = 0; step < 3_000; step++)
            {
                var id = customers[random.Next(customers.Length)];
                if (random.Next(10) == 0)
                {
                    var erased = store.EraseSubjectAsync(id).AsTask().GetAwaiter().GetResult();
                    if (erased != (profiles.Remove(id, out var gone) ? 1 : 0))
                    {
                        return false;
                    }

                    foreach (var identifier in gone?.Identifiers ?? [])
                    {
                        if (owners.TryGetValue(identifier, out var owner) && owner == id)
                        {
                            owners.Remove(identifier);
                        }
                    }
                }
                else
                {
                    // Keep, drop or take identifiers (a taken one may be held by another profile already: shared).
                    var current = profiles.GetValueOrDefault(id) ?? CustomerProfile.New(id);
                    var held = current.Identifiers.Where(_ => random.Next(4) != 0).ToList();
                    for (var n = random.Next(3); n > 0; n--)
                    {
                        var taken = identifiers[random.Next(identifiers.Length)];
                        if (!held.Contains(taken))
                        {
                            held.Add(taken);
                        }
                    }

                    var saved = store.SaveAsync(current with { Identifiers = [.. held] }).AsTask().GetAwaiter().GetResult();
                    foreach (var identifier in current.Identifiers)
                    {
                        if (!held.Contains(identifier) && owners.TryGetValue(identifier, out var owner) && owner == id)
                        {
                            owners.Remove(identifier);
                        }
                    }

                    foreach (var identifier in held)
                    {
                        owners.TryAdd(identifier, id);
                    }

                    profiles[id] = saved;
                }

                if (step % 100 == 99 && !Agrees(store, profiles, owners, customers, identifiers))
                {
                    return false;
                }
            }

            return Agrees(store, profiles, owners, customers, identifiers)
                && store.ListAsync().ToBlockingEnumerable().Select(p => p.Id).SequenceEqual(profiles.Keys.Order());
        }));
    }

    [Fact]
    public async Task AnAddressSharedByTwo_IsFoundThroughTheOtherAfterTheFirstLetsItGoAndSavesAgain()
    {
        var store = new InMemoryProfileStore();
        var shared = Identifier.Email("Family@Example.com");
        var ann = await store.SaveAsync(CustomerProfile.New(new CustomerId("ann")).WithIdentifier(shared));
        var bob = await store.SaveAsync(CustomerProfile.New(new CustomerId("bob")).WithIdentifier(shared));

        var first = await store.FindByIdentifierAsync(Identifier.Email("family@example.com"));
        await store.SaveAsync(ann with { Identifiers = [] });
        await store.SaveAsync(bob with { Traits = bob.Traits.SetItem("seen", TraitValue.Of(true)) });
        var then = await store.FindByIdentifierAsync(shared);

        first!.Id.Should().Be(new CustomerId("ann"), "the first profile saved with an identifier owns it");
        then!.Id.Should().Be(new CustomerId("bob"), "once the owner lets it go, the next save of another holder records it");
        then.Identifiers.Should().ContainSingle().Which.Value.Should().Be("Family@example.com", "the local part keeps the spelling given, for sending");
    }

    private static bool Agrees(InMemoryProfileStore store, Dictionary<CustomerId, CustomerProfile> profiles, Dictionary<Identifier, CustomerId> owners, CustomerId[] customers, Identifier[] identifiers)
    {
        foreach (var id in customers)
        {
            if (!ReferenceEquals(store.GetAsync(id).AsTask().GetAwaiter().GetResult(), profiles.GetValueOrDefault(id)))
            {
                return false;
            }
        }

        foreach (var identifier in identifiers)
        {
            var found = store.FindByIdentifierAsync(identifier).AsTask().GetAwaiter().GetResult();
            var expected = owners.TryGetValue(identifier, out var owner) ? profiles[owner] : null;
            if (!ReferenceEquals(found, expected))
            {
                return false;
            }
        }

        return true;
    }
}
