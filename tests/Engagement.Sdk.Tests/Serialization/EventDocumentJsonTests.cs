using System.Buffers;
using System.Collections.Immutable;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Serialization;

namespace Engagement.Sdk.Tests.Serialization;

/// <summary>
/// <see cref="EventDocumentJson"/> writes event documents by hand for speed: it must write exactly the bytes of the
/// source-generated contract for every event, those it writes by hand and those it leaves to the serializer, and must know
/// every property and discriminator of the types it writes by hand.
/// </summary>
public sealed class EventDocumentJsonTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 9, 30, 0, TimeSpan.FromHours(2));

    [Fact]
    public void Written_EveryTypeItWritesByHand_HasTheContractsPropertiesInTheContractsOrder()
        => HandWrittenContract.ShouldMatch(EventDocumentJson.Written);

    [Fact]
    public void Discriminators_EveryTypeItWritesByHand_AreTheContractsOwn()
    {
        var contract = typeof(EngagementEvent).GetCustomAttributes<JsonDerivedTypeAttribute>().ToDictionary(a => a.DerivedType, a => (string)a.TypeDiscriminator!);

        EventDocumentJson.Discriminators.Keys.Should().BeEquivalentTo(EventDocumentJson.Written.Keys);
        foreach (var (type, discriminator) in EventDocumentJson.Discriminators)
        {
            discriminator.Should().Be(contract[type], $"{type.Name} is written with the contract's discriminator");
        }
    }

    [Fact]
    public void Write_EveryTypeWithEveryPartSet_IsTheContractsBytes()
    {
        foreach (var e in EveryType(new Random(11), full: true))
        {
            ShouldMatchContract(e);
        }
    }

    [Fact]
    public void Write_EveryTypeWithOnlyWhatIsRequired_IsTheContractsBytes()
    {
        foreach (var e in EveryType(new Random(12), full: false))
        {
            ShouldMatchContract(e);
        }
    }

    [Fact]
    public void Write_EventsLeftToTheSerializer_AreTheContractsBytes()
    {
        var customer = new CustomerId("ann");
        EngagementEvent[] others =
        [
            new Purchased { EventId = "o1", CustomerId = customer, Timestamp = Start, OrderId = "order-1", Lines = [new OrderLine("p1", 2, Money.Of(9.99m, "EUR"), "shoes")] },
            new Refunded { EventId = "r1", CustomerId = customer, Timestamp = Start, OrderId = "order-1", Amount = Money.Of(5m, "EUR") },
            new ProfileUpdated { EventId = "u1", CustomerId = customer, Timestamp = Start, TimeZone = "Europe/Paris", Identifiers = [Identifier.Email("ann@example.com")] },
            new MessageBounced { EventId = "b1", CustomerId = customer, Timestamp = Start, DispatchId = "d1", ActionId = "a1", Channel = Channel.Email, IsHard = true },
            new MessageComplained { EventId = "c1", CustomerId = customer, Timestamp = Start, DispatchId = "d1", ActionId = "a1", Channel = Channel.Email },
            new CustomEvent { EventId = "x1", CustomerId = customer, Timestamp = Start, Name = "quiz_done" },
            new ConsentChanged
            {
                EventId = "g1", CustomerId = customer, Timestamp = Start,
                Record = new ConsentRecord
                {
                    RecordId = "grant-1", CustomerId = customer, Channel = Channel.Email, Purpose = Purpose.Marketing, Identifier = Identifier.Email("ann@example.com"),
                    Status = ConsentStatus.Granted, Source = "signup", Evidence = new ConsentEvidence("v1", "signup form"), EffectiveAt = Start,
                },
            },
        ];

        foreach (var e in others)
        {
            EventDocumentJson.Written.Should().NotContainKey(e.GetType());
            ShouldMatchContract(e);
        }
    }

    [Fact]
    public void Write_ManyRandomEvents_AreTheContractsBytes()
    {
        var random = new Random(20261207);
        for (var i = 0; i < 300; i++)
        {
            foreach (var e in EveryType(random, full: random.Next(2) == 0))
            {
                ShouldMatchContract(e);
            }
        }
    }

    [Fact]
    public void Write_AfterAnotherDocumentOnTheSameWriter_IsTheContractsBytesAgain()
    {
        // Stores reuse one writer (reset between documents): nothing of one document may leak into the next, whether written
        // by hand or by the serializer.
        var buffer = new ArrayBufferWriter<byte>();
        using var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        var random = new Random(3);
        EngagementEvent[] events =
        [
            .. EveryType(random, full: true),
            new Refunded { EventId = "r1", CustomerId = new CustomerId("ann"), Timestamp = Start, OrderId = "order-1", Amount = Money.Of(5m, "EUR") },
            .. EveryType(random, full: false),
        ];
        foreach (var e in events)
        {
            buffer.ResetWrittenCount();
            writer.Reset(buffer);
            EventDocumentJson.Write(writer, e);
            writer.Flush();
            Encoding.UTF8.GetString(buffer.WrittenSpan).Should().Be(JsonSerializer.Serialize(e, EngagementJsonContext.Default.EngagementEvent));
        }
    }

    [Fact]
    public void Write_ItsBytes_ReadBackAsTheSameEvent()
    {
        var random = new Random(5);
        for (var i = 0; i < 50; i++)
        {
            foreach (var e in EveryType(random, full: true))
            {
                var read = JsonSerializer.Deserialize(Written(e), EngagementJsonContext.Default.EngagementEvent);
                JsonSerializer.Serialize(read, EngagementJsonContext.Default.EngagementEvent).Should().Be(JsonSerializer.Serialize(e, EngagementJsonContext.Default.EngagementEvent));
            }
        }
    }

    // One event of each type written by hand; with every optional part set (full), or with only the required ones.
    private static IEnumerable<EngagementEvent> EveryType(Random random, bool full)
    {
        string Text() => random.Next(6) switch
        {
            0 => "plain-" + random.Next(1000),
            1 => "needs \"escaping\" \\ <b>&amp;</b> +'` " + (char)random.Next(0, 32),
            2 => "ünïcødé ☕ " + char.ConvertFromUtf32(0x1F600),
            3 => new string('x', random.Next(1, 300)),
            4 => string.Empty,
            _ => Guid.NewGuid().ToString("N"),
        };
        string Clean() => random.Next(3) switch
        {
            0 => "plain-" + random.Next(1000),
            1 => "needs \"escaping\" \\ <b>&amp;</b> +'`",
            _ => "ünïcødé ☕ " + char.ConvertFromUtf32(0x1F600),
        };
        string? Maybe() => full ? Text() : null;
        DateTimeOffset Instant() => new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)
            .AddTicks(random.NextInt64(0, TimeSpan.TicksPerDay * 365))
            .ToOffset(TimeSpan.FromMinutes(15 * random.Next(-48, 57)));
        Money? Amount() => full ? Money.Of(random.Next(0, 100_000) / 100m, random.Next(2) == 0 ? "EUR" : "JPY") : null;
        ImmutableArray<Identifier> Identifiers() => !full ? default
            : random.Next(4) switch
            {
                0 => [],
                1 => [Identifier.Anonymous(Clean())],
                2 => [Identifier.Email("Ann." + random.Next(100) + "@Example.com"), Identifier.Phone("+4412345" + random.Next(1000)), Identifier.Device("dev-" + random.Next(100))],
                // A key other than the kind's default (the value as given, not lower-cased) is written too.
                _ => [Identifier.Read(IdentifierKind.Email, "Bob@example.com", "Bob@example.com"), new Identifier(new IdentifierKind("loyalty-card"), Clean())],
            };
        Channel? AChannel() => full ? (random.Next(2) == 0 ? Channel.Email : new Channel("push")) : null;
        T Common<T>(T e)
            where T : EngagementEvent
            => e with { Channel = AChannel(), Identifiers = Identifiers() };

        var customer = new CustomerId("c" + random.Next(100_000));
        yield return Common(new PageViewed { EventId = Text() + "1", CustomerId = customer, Timestamp = Instant(), Url = Text() });
        yield return Common(new ProductViewed { EventId = Text() + "2", CustomerId = customer, Timestamp = Instant(), ProductId = Text(), Category = Maybe() });
        yield return Common(new AddedToCart { EventId = Text() + "3", CustomerId = customer, Timestamp = Instant(), ProductId = Text(), Quantity = full ? random.Next(1, 1000) : 1, UnitPrice = Amount() });
        yield return Common(new RemovedFromCart { EventId = Text() + "4", CustomerId = customer, Timestamp = Instant(), ProductId = Text() });
        yield return Common(new Searched { EventId = Text() + "5", CustomerId = customer, Timestamp = Instant(), Query = Text() });
        yield return Common(new CheckoutStarted { EventId = Text() + "6", CustomerId = customer, Timestamp = Instant(), CartValue = Amount() });
        yield return Common(new MessageSent
        {
            EventId = Text() + "7", CustomerId = customer, Timestamp = Instant(), DispatchId = Text(), ActionId = Text(),
            ChoiceProbability = full ? random.NextDouble() : null, Policy = Maybe(),
        });
        yield return Common(new MessageDelivered { EventId = Text() + "8", CustomerId = customer, Timestamp = Instant(), DispatchId = Text(), ActionId = Text() });
        yield return Common(new MessageOpened { EventId = Text() + "9", CustomerId = customer, Timestamp = Instant(), DispatchId = Text(), ActionId = Text() });
        yield return Common(new MessageClicked { EventId = Text() + "10", CustomerId = customer, Timestamp = Instant(), DispatchId = Text(), ActionId = Text() });
        yield return Common(new MessageDismissed { EventId = Text() + "11", CustomerId = customer, Timestamp = Instant(), DispatchId = Text(), ActionId = Text() });
    }

    private static byte[] Written(EngagementEvent e)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            EventDocumentJson.Write(writer, e);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void ShouldMatchContract(EngagementEvent e)
        => Encoding.UTF8.GetString(Written(e)).Should().Be(JsonSerializer.Serialize(e, EngagementJsonContext.Default.EngagementEvent), "{0} is written as the contract writes it", e.GetType().Name);
}
