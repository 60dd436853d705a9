using System.Text.Json;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Events;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Serialization;
using FsCheck;
using FsCheck.Fluent;

namespace Engagement.Sdk.Tests.Profiles;

/// <summary>
/// The compact sets and maps of a profile against the framework's sorted collections as the reference: whatever sequence of
/// changes is applied, they hold the same items in the same (ordinal) order; and their JSON is the shape stored documents
/// already have.
/// </summary>
public sealed class CompactCollectionsTests
{
    private static readonly Config Config = Config.QuickThrowOnFailure.WithMaxTest(300);

    // Keys that sort differently by culture and by ordinal, with combining marks, right-to-left text and emoji.
    private static readonly string[] Keys = ["a", "B", "b", "é", "e\u0301", "ب", "😀", "p-10", "p-9", "", "Z"];

    private static readonly Arbitrary<(int Op, string Key, int Value)[]> Operations =
        Gen.ListOf(
            from op in Gen.Choose(0, 3)
            from key in Gen.Elements(Keys)
            from value in Gen.Choose(-5, 5)
            select (op, key, value))
        .Select(list => list.ToArray())
        .ToArbitrary();

    [Fact]
    public void KeySet_AnySequenceOfChanges_AgreesWithASortedSet()
    {
        Check.One(Config, Prop.ForAll(Operations, operations =>
        {
            var set = KeySet.Empty;
            var other = KeySet.Empty;
            var reference = new SortedSet<string>(StringComparer.Ordinal);
            var otherReference = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var (op, key, _) in operations)
            {
                switch (op)
                {
                    case 0:
                        set = set.Add(key);
                        reference.Add(key);
                        break;
                    case 1:
                        set = set.Remove(key);
                        reference.Remove(key);
                        break;
                    case 2:
                        other = other.Add(key);
                        otherReference.Add(key);
                        break;
                    default:
                        set = set.Union(other);
                        reference.UnionWith(otherReference);
                        break;
                }
            }

            return set.SequenceEqual(reference)
                && set.Count == reference.Count
                && set.IsEmpty == (reference.Count == 0)
                && Keys.All(k => set.Contains(k) == reference.Contains(k))
                && set == KeySet.Create(reference.Reverse())
                && set.GetHashCode() == KeySet.Create(reference).GetHashCode();
        }));
    }

    [Fact]
    public void KeySet_LongSequencesAcrossTheArrayLimit_AgreeWithASortedSet()
    {
        // Sets that grow past the array form into the tree and shrink back, with unions of either form into the other.
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(25), Prop.ForAll(Arb.From(Gen.Choose(0, int.MaxValue)), seed =>
        {
            var random = new Random(seed);
            var set = KeySet.Empty;
            var other = KeySet.Empty;
            var reference = new SortedSet<string>(StringComparer.Ordinal);
            var otherReference = new SortedSet<string>(StringComparer.Ordinal);
            var universe = random.Next(2) == 0 ? 300 : 1_000;
            for (var step = 0; step < 3_000; step++)
            {
                var key = "p-" + random.Next(universe).ToString(System.Globalization.CultureInfo.InvariantCulture);
                var op = random.Next(100);
                if (op < 55)
                {
                    set = set.Add(key);
                    reference.Add(key);
                }
                else if (op < 90)
                {
                    set = set.Remove(key);
                    reference.Remove(key);
                }
                else if (op < 99)
                {
                    other = other.Add(key);
                    otherReference.Add(key);
                }
                else
                {
                    set = set.Union(other);
                    reference.UnionWith(otherReference);
                }

                if (set.Count != reference.Count || set.Contains(key) != reference.Contains(key))
                {
                    return false;
                }
            }

            return set.SequenceEqual(reference)
                && other.Union(set).SequenceEqual(reference.Union(otherReference).Order(StringComparer.Ordinal))
                && set == KeySet.Create(reference.Reverse())
                && set.GetHashCode() == KeySet.Create(reference).GetHashCode();
        }));
    }

    [Fact]
    public void KeySet_OfABotThatViewsAWholeCatalogue_AddsEachItemWithoutCopyingTheSet()
    {
        // Allocation stands in for work here: a set kept as one array would copy it on every add (400 KB on average over
        // 100,000 items, 800 KB at the end); the tree allocates a path of nodes, O(log n).
        var ids = Enumerable.Range(0, 100_001).Select(i => "bot-item-" + i.ToString("D6", System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        new Random(19).Shuffle(ids.AsSpan(0, 100_000));
        var set = KeySet.Empty.Add(ids[0]);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 1; i < 100_000; i++)
        {
            set = set.Add(ids[i]);
        }

        var perAdd = (GC.GetAllocatedBytesForCurrentThread() - before) / 99_999.0;
        var bytesForLast = Allocated(() => set.Add(ids[100_000]));

        set.Count.Should().Be(100_000);
        set.Contains(ids[12_345]).Should().BeTrue();
        perAdd.Should().BeLessThan(2_048, "an add copies a path of the tree, not the set");
        bytesForLast.Should().BeLessThan(4_096, "the 100,001st item costs about what the 20th level of a tree does");
    }

    [Fact]
    public void ProductView_OnAProfileThatViewedAHundredThousandProducts_CostsAboutWhatItDoesOnANewOne()
    {
        var id = new CustomerId("bot");
        var t0 = new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
        var viewed = KeySet.Create(Enumerable.Range(0, 100_000).Select(i => "bot-view-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var bot = CustomerProfile.New(id) with { Behaviour = new BehaviourAggregates { ItemsViewed = viewed, ProductViews = 100_000, CategoryViews = KeyedValues<int>.Empty.SetItem("c1", 100_000) } };
        var fresh = CustomerProfile.New(id) with { Behaviour = new BehaviourAggregates { ItemsViewed = ["bot-view-0"], ProductViews = 1, CategoryViews = KeyedValues<int>.Empty.SetItem("c1", 1) } };
        ProductViewed View(string product) => new() { EventId = "v-" + product, CustomerId = id, Timestamp = t0, ProductId = product, Category = "c1" };
        var next = View("bot-view-100000");
        var again = View("bot-view-77");
        _ = ProfileUpdater.Apply(bot, next); // the code paths run once before they are measured

        var onBot = Allocated(() => ProfileUpdater.Apply(bot, next));
        var onFresh = Allocated(() => ProfileUpdater.Apply(fresh, next));
        var repeatOnBot = Allocated(() => ProfileUpdater.Apply(bot, again));
        var updated = ProfileUpdater.Apply(bot, next);

        updated.Behaviour.ItemsViewed.Count.Should().Be(100_001);
        updated.Behaviour.ProductViews.Should().Be(100_001);
        onBot.Should().BeLessThan(onFresh + 2_048, "a new product on a set of 100,000 adds a path of tree nodes, not a copy of 800 KB");
        repeatOnBot.Should().BeLessThanOrEqualTo(onFresh, "a product already viewed changes counters only");
    }

    [Fact]
    public void BehaviourExtras_RefundsAndMessages_RoundTripThroughJsonAndClearBackToAnEmptyAggregate()
    {
        var behaviour = new BehaviourAggregates { Revenue = Money.Of(40m, "EUR"), Refunds = Money.Of(15m, "EUR"), Orders = 2 }
            with { MessagesSent = System.Collections.Immutable.ImmutableDictionary<Channel, int>.Empty.Add(Channel.Email, 3) };
        behaviour = behaviour with { Engagements = behaviour.Engagements.Add(Channel.Email, 1) };

        var json = JsonSerializer.Serialize(behaviour, EngagementJsonContext.Default.BehaviourAggregates);
        var read = JsonSerializer.Deserialize(json, EngagementJsonContext.Default.BehaviourAggregates)!;
        var cleared = read with { Refunds = null, MessagesSent = [], Engagements = [] };

        json.Should().Contain("\"refunds\":{").And.Contain("\"messagesSent\":{\"email\":3}").And.Contain("\"engagements\":{\"email\":1}");
        read.Refunds.Should().Be(Money.Of(15m, "EUR"));
        read.NetRevenue.Should().Be(Money.Of(25m, "EUR"));
        read.MessagesSent.Should().Equal(new Dictionary<Channel, int> { [Channel.Email] = 3 });
        read.Engagements.Should().Equal(new Dictionary<Channel, int> { [Channel.Email] = 1 });
        behaviour.Refunds.Should().Be(Money.Of(15m, "EUR"), "setting one of the rare parts keeps the others");
        cleared.Should().Be(new BehaviourAggregates { Revenue = Money.Of(40m, "EUR"), Orders = 2 }, "aggregates whose rare parts are all cleared again equal ones that never had them");
    }

    [Fact]
    public void Identifier_KeptAsOneStringOrWithItsOwnKey_ComparesHashesAndReadsBackAlike()
    {
        var spelled = Identifier.Email("Ann.Smith@Example.com");
        var lower = Identifier.Email("ann.smith@example.com");
        var caseSensitive = spelled.WithCaseRule(ignoreCase: false);

        var profile = CustomerProfile.New(new CustomerId("c1")) with { Identifiers = [spelled, caseSensitive, Identifier.Anonymous("cookie-1")] };
        var json = JsonSerializer.Serialize(profile, EngagementJsonContext.Default.CustomerProfile);
        var read = JsonSerializer.Deserialize(json, EngagementJsonContext.Default.CustomerProfile)!.Identifiers;

        spelled.Value.Should().Be("Ann.Smith@example.com", "the local part keeps its case, the domain is lower-cased");
        spelled.Key.Should().Be("ann.smith@example.com");
        lower.Key.Should().BeSameAs(lower.Value, "a value that is its own key is kept once");
        spelled.Should().Be(lower);
        spelled.GetHashCode().Should().Be(lower.GetHashCode());
        caseSensitive.Key.Should().Be(caseSensitive.Value);
        caseSensitive.Should().NotBe(lower);
        read.Select(i => (i.Value, i.Key)).Should().Equal((spelled.Value, spelled.Key), (caseSensitive.Value, caseSensitive.Key), ("cookie-1", "cookie-1"));
        read[0].Should().Be(lower);
        read[1].Should().NotBe(lower);
    }

    private static long Allocated(Func<object> action)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var result = action();
        var bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        GC.KeepAlive(result);
        return bytes;
    }

    [Fact]
    public void KeyedValues_AnySequenceOfChanges_AgreesWithASortedDictionary()
    {
        Check.One(Config, Prop.ForAll(Operations, operations =>
        {
            var map = KeyedValues<int>.Empty;
            var other = KeyedValues<int>.Empty;
            var reference = new SortedDictionary<string, int>(StringComparer.Ordinal);
            var otherReference = new SortedDictionary<string, int>(StringComparer.Ordinal);
            foreach (var (op, key, value) in operations)
            {
                switch (op)
                {
                    case 0:
                        map = map.SetItem(key, value);
                        reference[key] = value;
                        break;
                    case 1:
                        map = map.Remove(key);
                        reference.Remove(key);
                        break;
                    case 2:
                        other = other.SetItem(key, value);
                        otherReference[key] = value;
                        break;
                    default:
                        map = map.Combine(other, static (m, n) => m + n);
                        foreach (var (k, n) in otherReference)
                        {
                            reference[k] = reference.TryGetValue(k, out var m) ? m + n : n;
                        }

                        break;
                }
            }

            return map.SequenceEqual(reference)
                && map.Count == reference.Count
                && Keys.All(k => map.ContainsKey(k) == reference.ContainsKey(k) && map.GetValueOrDefault(k, 99) == (reference.TryGetValue(k, out var v) ? v : 99))
                && map == KeyedValues<int>.Create(reference.Reverse());
        }));
    }

    [Fact]
    public void KeyedValues_OfOneKey_ReadsChangesComparesAndRoundTripsLikeALargerMap()
    {
        var one = KeyedValues<Money>.Empty.SetItem("o-2", Money.Of(10m, "EUR"));
        var two = one.SetItem("o-1", Money.Of(5m, "EUR"));

        var json = JsonSerializer.Serialize(new BehaviourAggregates { RefundableByOrder = one }, EngagementJsonContext.Default.BehaviourAggregates);
        var read = JsonSerializer.Deserialize(json, EngagementJsonContext.Default.BehaviourAggregates)!.RefundableByOrder;

        one.Count.Should().Be(1);
        one.Should().Equal(new Dictionary<string, Money> { ["o-2"] = Money.Of(10m, "EUR") });
        one.Keys.Should().Equal("o-2");
        one.Values.Should().Equal(Money.Of(10m, "EUR"));
        one["o-2"].Should().Be(Money.Of(10m, "EUR"));
        one.ContainsKey("o-1").Should().BeFalse();
        one.ContainsKey("o-3").Should().BeFalse();
        one.SetItem("o-2", Money.Of(4m, "EUR"))["o-2"].Should().Be(Money.Of(4m, "EUR"));
        two.Keys.Should().Equal("o-1", "o-2");
        two.Remove("o-1").Should().Equal(one);
        (two.Remove("o-1") == one).Should().BeTrue();
        one.Remove("o-2").IsEmpty.Should().BeTrue();
        one.Remove("o-1").Should().Equal(one);
        one.Combine(one, static (m, _) => m).Should().Equal(one);
        one.GetHashCode().Should().Be(two.Remove("o-1").GetHashCode());
        json.Should().Contain("\"refundableByOrder\":{\"o-2\":{\"amount\":10");
        read.Should().Equal(one);
        read.ToString().Should().Be(one.ToString()).And.StartWith("{o-2: ");
    }

    [Fact]
    public void KeySet_ThroughJson_IsAnArrayInOrdinalOrderAndReadsBackEqual()
    {
        KeySet set = ["p-9", "p-10", "😀", "é"];
        var behaviour = new BehaviourAggregates { ItemsViewed = set, CategoryViews = KeyedValues<int>.Empty.SetItem("shoes", 2).SetItem("bags", 1) };

        var json = JsonSerializer.Serialize(behaviour, EngagementJsonContext.Default.BehaviourAggregates);
        var read = JsonSerializer.Deserialize(json, EngagementJsonContext.Default.BehaviourAggregates)!;

        json.Should().Contain("\"itemsViewed\":[\"p-10\",\"p-9\",\"\\u00E9\",\"\\uD83D\\uDE00\"]").And.Contain("\"categoryViews\":{\"bags\":1,\"shoes\":2}");
        read.Should().Be(behaviour, "sets and maps compare by content, so the record compares equal after a round trip");
    }

    [Fact]
    public void Journeys_StoredInAnyKeyOrder_ReadBackAndARepeatedKeyIsRejected()
    {
        var position = new JourneyPosition("lifecycle", [new StageVisit("attraction", new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), "seen")]);
        var profile = CustomerProfile.New(new CustomerId("c1")) with { Journeys = KeyedValues<JourneyPosition>.Empty.SetItem("b", position).SetItem("a", position with { JourneyId = "a" }) };
        var json = JsonSerializer.Serialize(profile, EngagementJsonContext.Default.CustomerProfile);

        var read = JsonSerializer.Deserialize(json, EngagementJsonContext.Default.CustomerProfile)!;
        var repeated = json.Replace("\"a\":{", "\"b\":{", StringComparison.Ordinal);

        read.Journeys.Keys.Should().Equal("a", "b");
        read.Journeys["b"].StageId.Should().Be("attraction");
        FluentActions.Invoking(() => JsonSerializer.Deserialize(repeated, EngagementJsonContext.Default.CustomerProfile)).Should().Throw<JsonException>().WithMessage("*'b' is repeated*");
    }

    [Fact]
    public void KeySet_Add_OfAnItemAlreadyThere_ReturnsTheSameSetWithoutCopying()
    {
        KeySet set = ["a", "b"];

        var again = set.Add("a");

        again.Should().Equal("a", "b");
        (again == set).Should().BeTrue();
        KeySet.Empty.Remove("x").IsEmpty.Should().BeTrue();
        FluentActions.Invoking(() => set.Add(null!)).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public void ItemsBought_KeptAsTheKeysOfItemsLastBought_ReadsAndWritesOlderDocumentsWithUntimedItemsAsTheyWere()
    {
        var at = new DateTimeOffset(2026, 5, 1, 9, 30, 0, TimeSpan.FromHours(3));
        var older = """{"lastPurchase":"2026-05-01T09:30:00+03:00","orders":2,"itemsBought":["p-1","p-2","p-3"],"itemsLastBought":{"p-2":"2026-04-01T08:00:00+00:00"}}""";

        var read = JsonSerializer.Deserialize(older, EngagementJsonContext.Default.BehaviourAggregates)!;
        var written = JsonSerializer.Serialize(read, EngagementJsonContext.Default.BehaviourAggregates);
        var profile = ProfileUpdater.Apply(
            CustomerProfile.New(new CustomerId("c1")) with { Behaviour = read },
            new Purchased { EventId = "o3", CustomerId = new CustomerId("c1"), Timestamp = at, OrderId = "o3", Lines = [new OrderLine("p-1", 1, Money.Of(5m, "EUR")), new OrderLine("p-4", 1, Money.Of(5m, "EUR"))] });
        var timesFirst = new BehaviourAggregates { ItemsLastBought = KeyedValues<DateTimeOffset>.Empty.SetItem("p-2", at), ItemsBought = ["p-1", "p-2"] };
        var setFirst = new BehaviourAggregates { ItemsBought = ["p-1", "p-2"], ItemsLastBought = KeyedValues<DateTimeOffset>.Empty.SetItem("p-2", at) };

        read.ItemsBought.Should().Equal("p-1", "p-2", "p-3");
        read.ItemsLastBought.Keys.Should().Equal("p-2");
        written.Should().Contain("\"itemsBought\":[\"p-1\",\"p-2\",\"p-3\"],\"itemsLastBought\":{\"p-2\":\"2026-04-01T08:00:00.0000000+00:00\"}", "an older document is written back as it was read");
        profile.Behaviour.ItemsBought.Should().Equal("p-1", "p-2", "p-3", "p-4");
        profile.Behaviour.ItemsLastBought.Keys.Should().Equal("p-1", "p-2", "p-4");
        timesFirst.Should().Be(setFirst, "the two properties give the same aggregates whichever is set first");
        setFirst.ItemsBought.Should().Equal("p-1", "p-2");
        (setFirst with { ItemsBought = [] }).ItemsBought.Should().Equal(["p-2"], "a product with a time it was last bought stays bought");
        (setFirst with { ItemsBought = ["p-2"] }).Should().Be(new BehaviourAggregates { ItemsLastBought = setFirst.ItemsLastBought }, "aggregates whose untimed items are cleared equal ones that never had them");
    }

    [Fact]
    public void BehaviourAndProfile_CompactFields_KeepNullsOffsetsAndValuesThroughJson()
    {
        var kyiv = new DateTimeOffset(2026, 5, 1, 9, 30, 0, TimeSpan.FromHours(3));
        var behaviour = new BehaviourAggregates { FirstSeen = kyiv, LastSeen = kyiv.AddDays(2).ToOffset(TimeSpan.FromHours(-5.5)), Revenue = Money.Of(12.5m, "JPY"), LastChannel = Channel.Sms };
        var profile = CustomerProfile.New(new CustomerId("c1")) with { Behaviour = behaviour, Locale = "uk-UA" };

        var json = JsonSerializer.Serialize(profile, EngagementJsonContext.Default.CustomerProfile);
        var read = JsonSerializer.Deserialize(json, EngagementJsonContext.Default.CustomerProfile)!;

        new BehaviourAggregates().Should().Match<BehaviourAggregates>(b => b.FirstSeen == null && b.LastPurchase == null && b.Revenue == null && b.Refunds == null && b.LastChannel == null);
        read.Behaviour.FirstSeen!.Value.Offset.Should().Be(TimeSpan.FromHours(3));
        read.Behaviour.LastSeen!.Value.Offset.Should().Be(TimeSpan.FromHours(-5.5));
        read.Behaviour.LastSeen.Should().Be(kyiv.AddDays(2));
        read.Behaviour.Revenue.Should().Be(Money.Of(12.5m, "JPY"));
        read.Behaviour.Revenue!.Value.Currency.MinorUnits.Should().Be(0);
        read.Behaviour.Refunds.Should().BeNull();
        read.Behaviour.LastChannel.Should().Be(Channel.Sms);
        read.Behaviour.Should().Be(behaviour);
        read.Locale.Should().Be("uk-UA");
        (CustomerProfile.New(new CustomerId("c1")) with { Locale = "uk-UA" } with { Locale = null }).Should().Be(CustomerProfile.New(new CustomerId("c1")), "a profile whose rare parts are all cleared again equals a new one");
    }
}
