using System.Buffers;
using System.Collections.Immutable;
using System.Text.Json;
using System.Text;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Events;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Serialization;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Sdk.Tests.Serialization;

/// <summary>
/// <see cref="ProfileJson"/> writes profile documents by hand for speed: it must write exactly the bytes of the
/// source-generated contract, for every part of a profile, and must know every property the contract has.
/// </summary>
public sealed class ProfileJsonTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 9, 30, 0, TimeSpan.FromHours(2));

    [Fact]
    public void Written_EveryTypeItWritesByHand_HasTheContractsPropertiesInTheContractsOrder()
        => HandWrittenContract.ShouldMatch(ProfileJson.Written);

    [Fact]
    public void Write_NewProfile_IsTheContractsBytes()
        => ShouldMatchContract(CustomerProfile.New(new CustomerId("ann")));

    [Fact]
    public void Write_ProfileWithEveryPartSet_IsTheContractsBytes()
    {
        var ann = new CustomerId("ann");
        var profile = CustomerProfile.New(ann);
        foreach (var e in EveryKindOfEvent(ann, "ann", 0))
        {
            profile = ProfileUpdater.Apply(profile, e);
        }

        profile = profile with
        {
            Version = 41,
            Journeys = KeyedValues<JourneyPosition>.Create(
            [
                new("lifecycle", new JourneyPosition("lifecycle", [new StageVisit("attraction", Start, "seen"), new StageVisit("relationship", Start.AddDays(1), "has email \"quoted\"")])),
                new("onboarding", new JourneyPosition("onboarding", [new StageVisit("welcome", Start.AddHours(-3).ToOffset(TimeSpan.FromHours(-9.5)), "signed up")])),
            ]),
        };

        // Every optional part is present, so none is skipped by accident.
        profile.Traits.Should().NotBeEmpty();
        profile.ChannelPreferences.Should().NotBeEmpty();
        profile.TimeZone.Should().NotBeNull();
        profile.Locale.Should().NotBeNull();
        profile.PausedUntil.Should().NotBeNull();
        profile.Behaviour.Revenue.Should().NotBeNull();
        profile.Behaviour.Refunds.Should().NotBeNull();
        profile.Behaviour.LastChannel.Should().NotBeNull();
        profile.Behaviour.MessagesSent.Should().NotBeEmpty();
        profile.Behaviour.Engagements.Should().NotBeEmpty();
        profile.Behaviour.RefundableByOrder.Count.Should().BePositive();
        ShouldMatchContract(profile);
    }

    [Fact]
    public void Write_ProductsBoughtWithAndWithoutATime_IsTheContractsBytes()
    {
        // Products bought before profiles kept per-product times are in ItemsBought only, among the timed ones.
        var behaviour = new BehaviourAggregates { ItemsBought = ["a", "c", "e"], ItemsLastBought = KeyedValues<DateTimeOffset>.Empty.SetItem("b", Start).SetItem("c", Start.AddDays(1)) };

        behaviour.ItemsBought.Should().Equal("a", "b", "c", "e");
        ShouldMatchContract(CustomerProfile.New(new CustomerId("ann")) with { Behaviour = behaviour });
    }

    [Fact]
    public async Task Write_MergedProfiles_SurvivorAndRedirect_AreTheContractsBytes()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(Start.AddHours(2)));
        services.AddEngagement();
        await using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        var cookie = Identifier.Anonymous("cookie-🍪");
        var email = Identifier.Email("Ann@Example.COM");
        await engine.TrackAsync(new ProductViewed { EventId = "v0", CustomerId = new CustomerId("ann"), Timestamp = Start, ProductId = "scarf", Identifiers = [email] });
        await engine.TrackAsync(new ProductViewed { EventId = "v1", CustomerId = new CustomerId("anon-1"), Timestamp = Start.AddMinutes(5), ProductId = "boots", Identifiers = [cookie] });
        var login = await engine.TrackAsync(new ProductViewed { EventId = "v2", CustomerId = new CustomerId("ann"), Timestamp = Start.AddHours(1), ProductId = "hat", Identifiers = [email, cookie] });
        login.Identity!.Merges.Should().ContainSingle("the anonymous profile merges into the known one");

        var profiles = provider.GetRequiredService<IProfileStore>();
        var survivor = await profiles.GetAsync(new CustomerId("ann"));
        var redirect = await profiles.GetAsync(new CustomerId("anon-1"));
        survivor!.Merges.Should().NotBeEmpty();
        redirect!.MergedInto.Should().NotBeNull();
        ShouldMatchContract(survivor);
        ShouldMatchContract(redirect);
    }

    [Fact]
    public void Write_CountsByChannel_ManyChannelsAndNames_AreTheContractsBytes()
    {
        // The counts by channel are written by hand: every channel in the dictionary's own order, names as keys.
        Channel[] channels = [Channel.Email, Channel.Sms, Channel.Push, Channel.Web, new("in-app"), new("whatsapp"), new("kiosk_2"), new("x-9")];
        var profile = CustomerProfile.New(new CustomerId("ann"));
        for (var n = 1; n <= channels.Length; n++)
        {
            profile = profile with
            {
                Behaviour = profile.Behaviour with
                {
                    MessagesSent = channels.Take(n).Select((c, i) => KeyValuePair.Create(c, i + 1)).ToImmutableDictionary(),
                    Engagements = channels.Skip(n - 1).Select((c, i) => KeyValuePair.Create(c, int.MaxValue - i)).ToImmutableDictionary(),
                },
            };
            ShouldMatchContract(profile);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Write_RandomHistories_AreTheContractsBytes(int seed)
    {
        // Seeded random event histories over every event kind, with awkward text: many shapes of profile, same bytes.
        var random = new Random(seed);
        string[] texts = ["plain", "emoji 🧑‍🤝‍🧑", "e\u0301", "שלום", "<tag> & \"quote\"", "back\\slash/\u2028sep", "日本語"];
        for (var p = 0; p < 40; p++)
        {
            var id = new CustomerId("c" + p);
            var profile = CustomerProfile.New(id);
            var events = EveryKindOfEvent(id, texts[random.Next(texts.Length)], p).OrderBy(_ => random.Next()).Take(random.Next(1, 12)).ToList();
            foreach (var e in events)
            {
                try
                {
                    profile = ProfileUpdater.Apply(profile, e);
                }
                catch (EngagementValidationException)
                {
                    // A refund drawn before its order is refused: the profile stays as it was.
                }
            }

            ShouldMatchContract(profile with { Version = random.Next(0, 1000) });
        }
    }

    private static void ShouldMatchContract(CustomerProfile profile)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            ProfileJson.Write(writer, profile);
        }

        var expected = JsonSerializer.Serialize(profile, EngagementJsonContext.Default.CustomerProfile);
        Encoding.UTF8.GetString(buffer.WrittenSpan).Should().Be(expected);
    }

    private static IEnumerable<EngagementEvent> EveryKindOfEvent(CustomerId id, string text, int n)
    {
        var at = Start.AddMinutes(n);
        var order = "o-" + text;
        yield return new PageViewed { EventId = "pv", CustomerId = id, Timestamp = at, Url = "https://shop.example/" + Uri.EscapeDataString(text) };
        yield return new ProductViewed { EventId = "v", CustomerId = id, Timestamp = at.AddMinutes(1), ProductId = text, Category = "cat " + text, Channel = Channel.Web, Identifiers = [Identifier.Anonymous("cookie-" + n)] };
        yield return new Searched { EventId = "s", CustomerId = id, Timestamp = at.AddMinutes(2), Query = text };
        yield return new AddedToCart { EventId = "a", CustomerId = id, Timestamp = at.AddMinutes(3), ProductId = text + "-2" };
        yield return new RemovedFromCart { EventId = "r", CustomerId = id, Timestamp = at.AddMinutes(4), ProductId = text + "-2" };
        yield return new Purchased { EventId = "p", CustomerId = id, Timestamp = at.AddMinutes(5), OrderId = order, Lines = [new OrderLine(text, 2, Money.Of(19.99m, "EUR"), "cat " + text), new OrderLine("x", 1, Money.Of(0.01m, "EUR"))] };
        yield return new Refunded { EventId = "rf", CustomerId = id, Timestamp = at.AddMinutes(6), OrderId = order, Amount = Money.Of(5.5m, "EUR") };
        yield return new MessageSent { EventId = "ms", CustomerId = id, Timestamp = at.AddMinutes(7), Channel = Channel.Email, DispatchId = "d1", ActionId = "welcome" };
        yield return new MessageOpened { EventId = "mo", CustomerId = id, Timestamp = at.AddMinutes(8), Channel = Channel.Email, DispatchId = "d1", ActionId = "welcome" };
        yield return new MessageClicked { EventId = "mc", CustomerId = id, Timestamp = at.AddMinutes(9), Channel = Channel.Sms, DispatchId = "d2", ActionId = "welcome" };
        yield return new ProfileUpdated
        {
            EventId = "pu",
            CustomerId = id,
            Timestamp = at.AddMinutes(10),
            Traits = ImmutableDictionary<string, TraitValue>.Empty.Add("nickname", TraitValue.Of(text)).Add("vip", TraitValue.Of(true)).Add("score", TraitValue.Of(4.5)),
            ChannelPreferences = ImmutableDictionary<string, Channel>.Empty.Add("shipping", Channel.Sms),
            TimeZone = "Europe/Kyiv",
            Locale = "uk-UA",
            PauseUntil = at.AddDays(7),
            Identifiers = [Identifier.Email("ann+" + n + "@example.com"), Identifier.Phone("+44 20 7946 00" + (10 + (n % 80)))],
        };
    }
}
