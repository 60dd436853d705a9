using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Tests.Storage;

/// <summary>A dispatch's optional instants: set, read back, cleared and compared as optional values.</summary>
public sealed class DispatchRecordTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void OptionalInstants_EachSetAlone_IsReadBackAndLeavesTheOthersUnset()
    {
        var at = new DateTimeOffset(2026, 3, 2, 11, 30, 0, TimeSpan.FromHours(2));
        var records = new[]
        {
            Record() with { CompletedAt = at },
            Record() with { DueAt = at },
            Record() with { LeaseUntil = at },
            Record() with { RespondedAt = at },
            Record() with { HeldAt = at },
            Record() with { ReleaseAt = at },
            Record() with { ExpiresAt = at },
        };

        for (var i = 0; i < records.Length; i++)
        {
            var instants = Instants(records[i]);
            for (var j = 0; j < instants.Length; j++)
            {
                instants[j].Should().Be(i == j ? at : null, "instant {0} of the record that set instant {1}", j, i);
            }

            instants[i]!.Value.Offset.Should().Be(TimeSpan.FromHours(2), "the instant keeps its offset");
        }

        Instants(Record()).Should().AllSatisfy(i => i.Should().BeNull());
    }

    [Fact]
    public void OptionalInstants_ClearedOrSetToTheDefaultInstant_CompareAsOptionalValues()
    {
        var due = Record() with { DueAt = T0, ExpiresAt = T0.AddDays(1) };

        (due with { DueAt = null }).Should().Be(Record() with { ExpiresAt = T0.AddDays(1) });
        (due with { DueAt = null }).DueAt.Should().BeNull();
        (Record() with { DueAt = default(DateTimeOffset) }).Should().NotBe(Record(), "the default instant is a value, not its absence");
        (Record() with { DueAt = default(DateTimeOffset) }).DueAt.Should().Be(default(DateTimeOffset));
        due.Should().Be(Record() with { DueAt = T0.ToOffset(TimeSpan.FromHours(-5)), ExpiresAt = T0.AddDays(1) }, "the same instants in another offset");
        due.GetHashCode().Should().Be((Record() with { DueAt = T0, ExpiresAt = T0.AddDays(1) }).GetHashCode());
        due.Should().NotBe(Record() with { DueAt = T0, ExpiresAt = T0.AddDays(2) });
    }

    private static DateTimeOffset?[] Instants(DispatchRecord r) => [r.CompletedAt, r.DueAt, r.LeaseUntil, r.RespondedAt, r.HeldAt, r.ReleaseAt, r.ExpiresAt];

    private static DispatchRecord Record() => new()
    {
        DispatchId = "d1",
        CustomerId = new CustomerId("ann"),
        Channel = Channel.Email,
        Purpose = Purpose.Marketing,
        ActionId = "offer",
        CreatedAt = T0,
    };
}
