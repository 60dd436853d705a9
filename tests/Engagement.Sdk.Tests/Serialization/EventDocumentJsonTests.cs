using System.Buffers;
using System.Text;
using System.Text.Json;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Serialization;

namespace Engagement.Sdk.Tests.Serialization;

/// <summary>
/// <see cref="EventDocumentJson"/> writes the delivery worker's receipts by hand for speed: it must write exactly the bytes of
/// the source-generated contract, and must know every property the contract has.
/// </summary>
public sealed class EventDocumentJsonTests
{
    private static readonly DateTimeOffset At = new(2026, 3, 1, 9, 30, 0, TimeSpan.FromHours(2));

    [Fact]
    public void Written_EveryTypeItWritesByHand_HasTheContractsPropertiesInTheContractsOrder()
        => HandWrittenContract.ShouldMatch(EventDocumentJson.Written);

    public static TheoryData<string> Texts => new()
    {
        "plain",
        "emoji-🧑‍🤝‍🧑",
        "e\u0301",
        "שלום",
        "<tag>&\"quote\"",
        "back\\slash/\u2028sep",
    };

    [Theory]
    [MemberData(nameof(Texts))]
    public void Write_Receipts_AreTheContractsBytes(string text)
    {
        var sent = new MessageSent
        {
            EventId = "sent-" + text, CustomerId = new CustomerId("c-" + text), Timestamp = At, Channel = Channel.Email,
            DispatchId = "d-" + text, ActionId = "a-" + text,
        };
        ShouldMatchContract(sent);
        ShouldMatchContract(sent with { ChoiceProbability = 0.1, Policy = "champion" });
        ShouldMatchContract(sent with { ChoiceProbability = 1.0 / 3, Policy = "p-" + text, Timestamp = At.ToOffset(TimeSpan.FromHours(-9.5)).AddTicks(1234567) });
        ShouldMatchContract(sent with { ChoiceProbability = double.Epsilon, Channel = new Channel("in-app") });
        ShouldMatchContract(sent with { Channel = null, Timestamp = new DateTimeOffset(2026, 12, 31, 23, 59, 59, 999, TimeSpan.Zero) });
    }

    [Fact]
    public void Write_OtherEventsAndReceiptsWithIdentifiers_AreTheContractsBytes()
    {
        var customer = new CustomerId("ann");
        ShouldMatchContract(new MessageSent
        {
            EventId = "s", CustomerId = customer, Timestamp = At, Channel = Channel.Sms, DispatchId = "d", ActionId = "a",
            Identifiers = [Identifier.Email("Ann@Example.com"), Identifier.Anonymous("cookie-1")],
        });
        ShouldMatchContract(new MessageClicked { EventId = "c", CustomerId = customer, Timestamp = At, Channel = Channel.Email, DispatchId = "d", ActionId = "a" });
        ShouldMatchContract(new ProductViewed { EventId = "v", CustomerId = customer, Timestamp = At, ProductId = "p", Category = "c", Identifiers = [Identifier.Anonymous("cookie-2")] });
        ShouldMatchContract(new AddedToCart { EventId = "a", CustomerId = customer, Timestamp = At, ProductId = "p" });
    }

    private static void ShouldMatchContract(EngagementEvent engagementEvent)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            EventDocumentJson.Write(writer, engagementEvent);
        }

        var expected = JsonSerializer.Serialize(engagementEvent, EngagementJsonContext.Default.EngagementEvent);
        Encoding.UTF8.GetString(buffer.WrittenSpan).Should().Be(expected);
    }
}
