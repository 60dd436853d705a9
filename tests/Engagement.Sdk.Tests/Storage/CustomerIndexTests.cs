using System.Globalization;
using Engagement.Sdk.Storage;
using FsCheck;
using FsCheck.Fluent;

namespace Engagement.Sdk.Tests.Storage;

/// <summary>
/// The in-memory stores' index of items by id and by customer against a dictionary and per-customer lists as the reference
/// model: long random runs of adds (new ids and taken ones), replacements, removals of the newest item (as an undo does),
/// erasures of a customer and purges by a predicate — which free entries for reuse and shift probe runs back — with every
/// lookup, each customer's items in order and the whole set compared along the way.
/// </summary>
public sealed class CustomerIndexTests
{
    [Fact]
    public void RandomChanges_LookUpAsTheReferenceModelWould()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(20), Prop.ForAll(Arb.From(Gen.Choose(0, int.MaxValue)), seed =>
        {
            var random = new Random(seed);
            var index = new CustomerIndex<Item>(static item => item.Id);
            var byId = new Dictionary<string, Item>(StringComparer.Ordinal);
            var byCustomer = new Dictionary<CustomerId, List<Item>>();
            var customers = Enumerable.Range(0, 40).Select(i => new CustomerId("c-" + i.ToString(CultureInfo.InvariantCulture))).ToArray();
            var ids = Enumerable.Range(0, 3_000).Select(i => "e-" + i.ToString(CultureInfo.InvariantCulture)).ToArray();
            for (var step = 0; step < 6_000; step++)
            {
                var customer = customers[random.Next(customers.Length)];
                switch (random.Next(20))
                {
                    case 0:
                        // Erase a customer.
                        var expected = byCustomer.Remove(customer, out var gone) ? gone.Count : 0;
                        foreach (var item in gone ?? [])
                        {
                            byId.Remove(item.Id);
                        }

                        if (index.Erase(customer) != expected)
                        {
                            return false;
                        }

                        break;
                    case 1:
                        // Purge the items of one residue (as retention purges the events before a cut-off).
                        var residue = random.Next(7);
                        var purged = byId.Values.Where(i => i.Serial % 7 == residue).ToList();
                        foreach (var item in purged)
                        {
                            byId.Remove(item.Id);
                            byCustomer[item.Customer].Remove(item);
                            if (byCustomer[item.Customer].Count == 0)
                            {
                                byCustomer.Remove(item.Customer);
                            }
                        }

                        if (index.RemoveWhere(i => i.Serial % 7 == residue) != purged.Count)
                        {
                            return false;
                        }

                        break;
                    case 2:
                        // Undo a customer's newest item, or fail to remove one that is not the stored instance.
                        if (byCustomer.TryGetValue(customer, out var list))
                        {
                            var newest = list[^1];
                            if (index.TryRemove(newest.Id, customer, newest with { Serial = -1 }) || !index.TryRemove(newest.Id, customer, newest))
                            {
                                return false;
                            }

                            byId.Remove(newest.Id);
                            list.RemoveAt(list.Count - 1);
                            if (list.Count == 0)
                            {
                                byCustomer.Remove(customer);
                            }
                        }

                        break;
                    case 3:
                        // Replace a stored item (its state moves on).
                        if (byCustomer.TryGetValue(customer, out var owned))
                        {
                            var at = random.Next(owned.Count);
                            var moved = owned[at] with { Serial = owned[at].Serial + 7_000_000 };
                            index.Replace(moved.Id, moved);
                            owned[at] = moved;
                            byId[moved.Id] = moved;
                        }

                        break;
                    default:
                        // Add an item under a random id: new, or taken (then the stored item is returned and nothing changes).
                        var added = new Item(ids[random.Next(ids.Length)], customer, step);
                        var wasNew = index.TryAdd(added.Id, customer, added, out var stored);
                        if (wasNew != !byId.ContainsKey(added.Id) || !ReferenceEquals(stored, wasNew ? added : byId[added.Id]))
                        {
                            return false;
                        }

                        if (wasNew)
                        {
                            byId[added.Id] = added;
                            if (!byCustomer.TryGetValue(customer, out var items))
                            {
                                byCustomer[customer] = items = [];
                            }

                            items.Add(added);
                        }

                        break;
                }

                // Every lookup, one customer's items in order, and now and then the whole set.
                var probe = ids[random.Next(ids.Length)];
                if (index.TryGet(probe, out var found) != byId.TryGetValue(probe, out var model) || !ReferenceEquals(found, model))
                {
                    return false;
                }

                if (!index.ForCustomer(customer).SequenceEqual(byCustomer.GetValueOrDefault(customer) ?? []))
                {
                    return false;
                }

                if (step % 500 == 0 && !index.All.OrderBy(i => i.Id, StringComparer.Ordinal).SequenceEqual(byId.Values.OrderBy(i => i.Id, StringComparer.Ordinal)))
                {
                    return false;
                }
            }

            return byId.Keys.All(id => index.TryGet(id, out var item) && ReferenceEquals(item, byId[id])) && index.All.Length == byId.Count;
        }));
    }

    [Fact]
    public void ManyItems_AreFoundAfterTheTableGrewAndAfterHalfWereRemoved()
    {
        var index = new CustomerIndex<Item>(static item => item.Id);
        var items = Enumerable.Range(0, 50_000).Select(i => new Item("id-" + i.ToString(CultureInfo.InvariantCulture), new CustomerId("c-" + (i % 97).ToString(CultureInfo.InvariantCulture)), i)).ToArray();
        foreach (var item in items)
        {
            index.TryAdd(item.Id, item.Customer, item, out _).Should().BeTrue();
        }

        index.RemoveWhere(i => i.Serial % 2 == 0).Should().Be(25_000);
        foreach (var item in items)
        {
            index.TryGet(item.Id, out var found).Should().Be(item.Serial % 2 == 1, item.Id);
            if (item.Serial % 2 == 1)
            {
                found.Should().BeSameAs(item);
            }
        }

        index.ForCustomer(new CustomerId("c-3")).Select(i => i.Serial).Should().Equal(items.Where(i => i.Serial % 97 == 3 && i.Serial % 2 == 1).Select(i => i.Serial));

        // Freed entries are reused: adding back the removed half keeps every item findable.
        foreach (var item in items.Where(i => i.Serial % 2 == 0))
        {
            index.TryAdd(item.Id, item.Customer, item, out _).Should().BeTrue();
        }

        index.All.Should().HaveCount(50_000);
        foreach (var item in items)
        {
            index.TryGet(item.Id, out var found).Should().BeTrue(item.Id);
            found.Should().BeSameAs(item);
        }
    }

    private sealed record Item(string Id, CustomerId Customer, int Serial);
}
