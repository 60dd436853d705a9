using System.Text;
using Engagement.Sdk.Events;

namespace Engagement.Sdk.Tests.Events;

public sealed class EventJsonBoundaryTests
{
    private static readonly EventValidator Validator = new(new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 10, 0, 1, TimeSpan.Zero)), TimeSpan.FromMinutes(5));

    private const string View = """{"type":"product_viewed","eventId":"e1","customerId":"c1","timestamp":"2026-01-01T10:00:00+02:00","productId":"sku-1"}""";

    [Fact]
    public void Deserialize_ValidPayload_RoundTrips()
    {
        var parsed = EventJson.Deserialize(Encoding.UTF8.GetBytes(View));

        parsed.Should().BeOfType<ProductViewed>().Which.ProductId.Should().Be("sku-1");
        parsed.Timestamp.Offset.Should().Be(TimeSpan.FromHours(2));
        EventJson.Deserialize(EventJson.Serialize(parsed)).Should().BeEquivalentTo(parsed);
    }

    [Fact]
    public void Serialize_Event_WritesTheDiscriminatorOnceAndTheOffsetUnescaped()
    {
        var json = Encoding.UTF8.GetString(EventJson.Serialize(EventJson.Deserialize(Encoding.UTF8.GetBytes(View))));

        json.Should().StartWith("{\"type\":\"product_viewed\"").And.NotContain("typeName");
        json.Should().Contain("\"timestamp\":\"2026-01-01T10:00:00.0000000+02:00\"");
    }

    [Theory]
    [InlineData(2026, 1, 1, 10, 0, 0, 1234567, -570, "2026-01-01T10:00:00.1234567-09:30")]
    [InlineData(9999, 12, 31, 23, 59, 59, 9999999, 840, "9999-12-31T23:59:59.9999999+14:00")]
    [InlineData(1, 1, 1, 0, 0, 0, 0, 0, "0001-01-01T00:00:00.0000000+00:00")]
    public void Serialize_Instant_WritesTheRoundTripFormatWithItsOffset(int year, int month, int day, int hour, int minute, int second, int ticks, int offsetMinutes, string expected)
    {
        var at = new DateTimeOffset(year, month, day, hour, minute, second, TimeSpan.FromMinutes(offsetMinutes)).AddTicks(ticks);
        var view = new ProductViewed { EventId = "e1", CustomerId = new CustomerId("c1"), Timestamp = at, ProductId = "sku-1" };

        var json = Encoding.UTF8.GetString(EventJson.Serialize(view));

        json.Should().Contain($"\"timestamp\":\"{expected}\"");
        EventJson.Deserialize(Encoding.UTF8.GetBytes(json)).Timestamp.Should().Be(at).And.Subject!.Value.Offset.Should().Be(at.Offset);
    }

    [Fact]
    public void Deserialize_CartWithoutQuantity_TakesTheDefaultOfOne()
    {
        var json = """{"type":"added_to_cart","eventId":"e1","customerId":"c1","timestamp":"2026-01-01T10:00:00Z","productId":"sku-1"}""";

        var cart = EventJson.Deserialize(Encoding.UTF8.GetBytes(json)).Should().BeOfType<AddedToCart>().Subject;

        cart.Quantity.Should().Be(1);
        Validator.Validate(cart);
        Encoding.UTF8.GetString(EventJson.Serialize(cart)).Should().Contain("\"quantity\":1");
    }

    [Theory]
    [InlineData(3, 3)]
    [InlineData(1, 1)]
    public void Deserialize_CartWithQuantity_KeepsIt(int quantity, int expected)
    {
        var json = $$"""{"type":"added_to_cart","eventId":"e1","customerId":"c1","timestamp":"2026-01-01T10:00:00Z","productId":"sku-1","quantity":{{quantity}}}""";

        var cart = (AddedToCart)EventJson.Deserialize(Encoding.UTF8.GetBytes(json));

        cart.Quantity.Should().Be(expected);
        EventJson.Deserialize(EventJson.Serialize(cart)).Should().BeEquivalentTo(cart);
    }

    [Fact]
    public void Deserialize_CartWithQuantityZero_IsRejectedNamingTheField()
    {
        var json = """{"type":"added_to_cart","eventId":"e1","customerId":"c1","timestamp":"2026-01-01T10:00:00Z","productId":"sku-1","quantity":0}""";
        var cart = EventJson.Deserialize(Encoding.UTF8.GetBytes(json));

        var validate = () => Validator.Validate(cart);

        validate.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("quantity");
    }

    [Fact]
    public void Deserialize_TypeAfterOtherProperties_IsAccepted()
    {
        var json = """{"eventId":"e1","customerId":"c1","type":"product_viewed","timestamp":"2026-01-01T10:00:00Z","productId":"sku-1"}""";

        EventJson.Deserialize(Encoding.UTF8.GetBytes(json)).Should().BeOfType<ProductViewed>();
    }

    [Theory]
    [InlineData("""{"type":"product_viewed","eventId":"e1","customerId":"c1","timestamp":"2026-01-01T10:00:00Z","productId":"p","colour":"red"}""", "colour")]
    [InlineData("""{"type":"product_viewed","eventId":"e1","eventId":"e2","customerId":"c1","timestamp":"2026-01-01T10:00:00Z","productId":"p"}""", "eventId")]
    [InlineData("""{"type":"product_viewed","eventId":"e1","customerId":"c1","timestamp":"2026-01-01T10:00:00","productId":"p"}""", "timestamp")]
    [InlineData("""{"type":"product_viewed","customerId":"c1","timestamp":"2026-01-01T10:00:00Z","productId":"p"}""", "payload")]
    [InlineData("""{"type":"product_viewed","eventId":"e1","customerId":"c\u0000","timestamp":"2026-01-01T10:00:00Z","productId":"p"}""", "customerId")]
    [InlineData("""{"type":"added_to_cart","eventId":"e1","customerId":"c1","timestamp":"2026-01-01T10:00:00Z","productId":"p","unitPrice":{"amount":1,"currency":"XXX"}}""", "currency")]
    [InlineData("""{"type":"teleported","eventId":"e1"}""", "payload")]
    [InlineData("""{"type":"product_viewed","schemaVersion":2,"eventId":"e1","customerId":"c1","timestamp":"2026-01-01T10:00:00Z","productId":"p"}""", "schemaVersion")]
    [InlineData("""{"eventId":"e1"}""", "type")]
    [InlineData("{not json", "payload")]
    public void Deserialize_BadPayload_NamesTheField(string json, string field)
    {
        var act = () => EventJson.Deserialize(Encoding.UTF8.GetBytes(json));

        act.Should().Throw<EngagementValidationException>().Which.Field.Should().Be(field);
    }

    [Fact]
    public void Deserialize_OversizePayload_IsRejectedBeforeParsing()
    {
        var huge = Encoding.UTF8.GetBytes(View.Replace("sku-1", new string('x', 70_000), StringComparison.Ordinal));

        var act = () => EventJson.Deserialize(huge);

        act.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("payload");
    }

    [Fact]
    public async Task DeserializeAsync_EndlessStream_StopsReadingAtTheLimit()
    {
        using var stream = new CountingEndlessStream();

        var act = async () => await EventJson.DeserializeAsync(stream, maxBytes: 1024);

        (await act.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("payload");
        stream.BytesRead.Should().BeLessThanOrEqualTo(2048);
    }

    private sealed class CountingEndlessStream : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            Array.Fill(buffer, (byte)' ', offset, count);
            BytesRead += count;
            return count;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
