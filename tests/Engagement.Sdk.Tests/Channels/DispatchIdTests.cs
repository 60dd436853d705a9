using System.Security.Cryptography;
using System.Text;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Events;

namespace Engagement.Sdk.Tests.Channels;

/// <summary>
/// Dispatch ids are stored and used as providers' idempotency keys: the id of a trigger, action and channel must never change
/// between versions, or a decision replayed after an upgrade would be sent again.
/// </summary>
public sealed class DispatchIdTests
{
    private static readonly DateTimeOffset At = new(2026, 3, 1, 9, 30, 15, TimeSpan.FromHours(2));

    [Theory]
    [InlineData("e1", "cart-reminder", "email")]
    [InlineData("order-2026-03-01-00017", "win-back", "sms")]
    [InlineData("événement-ü-😀", "offre-été", "push")]
    [InlineData("x", "a", "email")]
    public void DispatchIdFor_IsTheDocumentedHashOfTriggerActionAndChannel(string eventId, string actionId, string channel)
    {
        var trigger = new PageViewed { Url = "https://shop.example/", EventId = eventId, CustomerId = new CustomerId("c1"), Timestamp = At };

        var id = EngagementEngine.DispatchIdFor(trigger, actionId, new Channel(channel));

        id.Should().Be(Reference(trigger.EventId, actionId, channel, At));
    }

    [Fact]
    public void DispatchIdFor_LongIds_AreHashedWhole()
    {
        var trigger = new PageViewed { Url = "https://shop.example/", EventId = new string('e', 600) + "é", CustomerId = new CustomerId("c1"), Timestamp = At };
        var other = trigger with { EventId = new string('e', 600) + "è" };

        var id = EngagementEngine.DispatchIdFor(trigger, new string('a', 300), Channel.Email);

        id.Should().Be(Reference(trigger.EventId, new string('a', 300), "email", At));
        EngagementEngine.DispatchIdFor(other, new string('a', 300), Channel.Email).Should().NotBe(id, "the last character of a long event id counts");
    }

    [Fact]
    public void DispatchIdFor_KnownTrigger_KeepsItsId()
    {
        // Pinned: the id this trigger, action and channel have always had.
        var trigger = new PageViewed { Url = "https://shop.example/", EventId = "e1", CustomerId = new CustomerId("c1"), Timestamp = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero) };

        EngagementEngine.DispatchIdFor(trigger, "cart-reminder", Channel.Email).Should().Be(Reference("e1", "cart-reminder", "email", trigger.Timestamp))
            .And.StartWith("d-08dd29f73c314000").And.HaveLength(42);
    }

    // The definition, written the plain way.
    private static string Reference(string eventId, string actionId, string channel, DateTimeOffset at)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(eventId + "\n" + actionId + "\n" + channel));
        return "d-" + at.UtcTicks.ToString("x16", System.Globalization.CultureInfo.InvariantCulture) + Convert.ToHexStringLower(hash.AsSpan(0, 12));
    }
}
