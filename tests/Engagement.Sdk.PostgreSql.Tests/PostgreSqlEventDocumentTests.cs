using System.Text.Json;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Serialization;

namespace Engagement.Sdk.PostgreSql.Tests;

/// <summary>
/// The event store writes documents with <see cref="EventDocumentJson"/> in a buffer each thread reuses: each must be the
/// text the serializer writes, which earlier versions stored and which a duplicate is compared with. Needs no server.
/// </summary>
public sealed class PostgreSqlEventDocumentTests
{
    private static readonly DateTimeOffset At = new(2026, 3, 1, 9, 30, 0, TimeSpan.FromHours(2));
    private static readonly CustomerId Ann = new("ann");

    private static readonly EngagementEvent[] Samples =
    [
        new ProductViewed { EventId = "v1", CustomerId = Ann, Timestamp = At, ProductId = "p1", Category = "shoes \"new\" ☕" },
        new ProductViewed { EventId = "v2", CustomerId = Ann, Timestamp = At, ProductId = "p1", Channel = Channel.Email, Identifiers = [Identifier.Email("Ann@Example.com")] },
        new AddedToCart { EventId = "a1", CustomerId = Ann, Timestamp = At, ProductId = "p1", Quantity = 3, UnitPrice = Money.Of(9.99m, "EUR") },
        new PageViewed { EventId = "pv1", CustomerId = Ann, Timestamp = At, Url = "https://shop.example/?q=<b>&x=1" },
        new Purchased { EventId = "o1", CustomerId = Ann, Timestamp = At, OrderId = "order-1", Lines = [new OrderLine("p1", 2, Money.Of(9.99m, "EUR"), "shoes")] },
        new Refunded { EventId = "r1", CustomerId = Ann, Timestamp = At, OrderId = "order-1", Amount = Money.Of(5m, "JPY") },
        new CustomEvent { EventId = "x1", CustomerId = Ann, Timestamp = At, Name = "quiz_done" },
    ];

    public static TheoryData<EngagementEvent> Events => new(Samples);

    [Theory]
    [MemberData(nameof(Events))]
    public void Document_AnEvent_IsTheSerializersText(EngagementEvent engagementEvent)
        => PostgreSqlEventStore.Document(engagementEvent).Should().Be(JsonSerializer.Serialize(engagementEvent, EngagementJsonContext.Default.EngagementEvent));

    [Fact]
    public void Document_ManyEventsOneAfterAnotherOnOneThread_EachIsTheSerializersTextAlone()
    {
        // A long document, then shorter ones: nothing of one document is left in the next.
        EngagementEvent[] events =
        [
            new ProductViewed { EventId = "long", CustomerId = Ann, Timestamp = At, ProductId = new string('p', 5_000) },
            .. Samples,
            new ProductViewed { EventId = "short", CustomerId = Ann, Timestamp = At, ProductId = "p" },
        ];

        foreach (var e in events)
        {
            PostgreSqlEventStore.Document(e).Should().Be(JsonSerializer.Serialize(e, EngagementJsonContext.Default.EngagementEvent));
        }
    }
}
