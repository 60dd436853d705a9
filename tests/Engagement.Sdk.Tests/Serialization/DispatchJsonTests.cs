using System.Buffers;
using System.Text;
using System.Text.Json;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Serialization;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Tests.Serialization;

/// <summary>
/// <see cref="DispatchJson"/> writes dispatch documents by hand for speed: it must write exactly the bytes of the
/// source-generated contract, for every part of a dispatch, and must know every property the contract has.
/// </summary>
public sealed class DispatchJsonTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 9, 30, 0, TimeSpan.FromHours(2));

    [Fact]
    public void Written_EveryTypeItWritesByHand_HasTheContractsPropertiesInTheContractsOrder()
        => HandWrittenContract.ShouldMatch(DispatchJson.Written);

    [Fact]
    public void Write_QueuedDispatchWithoutDecision_IsTheContractsBytes()
        => ShouldMatchContract(new DispatchRecord
        {
            DispatchId = "d-1",
            CustomerId = new CustomerId("ann"),
            Channel = Channel.Email,
            Purpose = Purpose.Marketing,
            ActionId = "cart-reminder",
            CreatedAt = Start,
        });

    [Fact]
    public void Write_DispatchWithEveryPartSet_IsTheContractsBytes()
    {
        var record = new DispatchRecord
        {
            DispatchId = "0638a1-\"quoted\"+<tag>&'é",
            CustomerId = new CustomerId("ann+1@example.test"),
            Channel = new Channel("sms"),
            Purpose = Purpose.Transactional,
            ActionId = "win-back ☕",
            CreatedAt = Start,
            Status = DispatchStatus.Unknown,
            Attempts = 3,
            Error = "No answer within 00:00:30.\nline two\t\u0001",
            Reason = DispatchReasons.OutcomeUnknown,
            CompletedAt = Start.AddMinutes(1).ToOffset(TimeSpan.FromHours(-9.5)),
            DueAt = Start.AddMinutes(2),
            LeaseOwner = "worker-abc",
            LeaseUntil = Start.AddMinutes(3).ToUniversalTime(),
            RespondedAt = Start.AddTicks(1234567),
            Priority = -7,
            HeldAt = Start.AddDays(-1),
            ReleaseAt = Start.AddHours(5),
            ExpiresAt = Start.AddDays(3),
            Decision = new DispatchDecision
            {
                DecisionId = "event:e-17",
                Policy = "thompson",
                ChoiceProbability = 0.1 + 0.2,
                ChoiceProbabilityError = 1e-7,
                Propensity = 0.123456789012345,
                Score = -12.5,
                Explored = true,
                Candidates = 4,
                Segment = "new-customers",
                TreatmentId = "subject-b",
                ControlGroup = "global",
            },
        };

        ShouldMatchContract(record);
        ShouldMatchContract(record with { Decision = record.Decision with { ChoiceProbabilityError = null, Segment = null, TreatmentId = null, ControlGroup = null, Explored = false } });
    }

    [Fact]
    public void Write_EveryStatus_IsTheContractsBytes()
    {
        foreach (var status in Enum.GetValues<DispatchStatus>())
        {
            ShouldMatchContract(Random(new Random(17)) with { Status = status });
        }
    }

    [Fact]
    public void Write_ManyRandomDispatches_AreTheContractsBytes()
    {
        var random = new Random(20261207);
        for (var i = 0; i < 2_000; i++)
        {
            ShouldMatchContract(Random(random));
        }
    }

    [Fact]
    public void Write_AfterAnotherDocumentOnTheSameWriter_IsTheContractsBytesAgain()
    {
        // Stores reuse one writer (reset between documents): nothing of the first document may leak into the second.
        var buffer = new ArrayBufferWriter<byte>();
        using var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        var random = new Random(3);
        foreach (var record in new[] { Random(random), Random(random) })
        {
            buffer.ResetWrittenCount();
            writer.Reset(buffer);
            DispatchJson.Write(writer, record);
            writer.Flush();
            Encoding.UTF8.GetString(buffer.WrittenSpan).Should().Be(JsonSerializer.Serialize(record, EngagementJsonContext.Default.DispatchRecord));
        }
    }

    [Fact]
    public void Write_ItsBytes_ReadBackAsTheSameRecord()
    {
        var random = new Random(5);
        for (var i = 0; i < 200; i++)
        {
            var record = Random(random);
            JsonSerializer.Deserialize(Written(record), EngagementJsonContext.Default.DispatchRecord).Should().Be(record);
        }
    }

    private static DispatchRecord Random(Random random)
    {
        string Text() => random.Next(6) switch
        {
            0 => string.Empty,
            1 => "plain-" + random.Next(1000),
            2 => "needs \"escaping\" \\ <b>&amp;</b> " + (char)random.Next(0, 32),
            3 => "ünïcødé ☕ " + char.ConvertFromUtf32(0x1F600),
            4 => new string('x', random.Next(1, 300)),
            _ => Guid.NewGuid().ToString("N"),
        };
        string? Maybe() => random.Next(2) == 0 ? null : Text();
        DateTimeOffset Instant() => new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)
            .AddTicks(random.NextInt64(0, TimeSpan.TicksPerDay * 365))
            .ToOffset(TimeSpan.FromMinutes(15 * random.Next(-48, 57)));
        DateTimeOffset? MaybeInstant() => random.Next(2) == 0 ? null : Instant();

        return new DispatchRecord
        {
            DispatchId = Text(),
            CustomerId = new CustomerId("c" + random.Next(100_000)),
            Channel = random.Next(2) == 0 ? Channel.Email : new Channel("push"),
            Purpose = random.Next(2) == 0 ? Purpose.Marketing : Purpose.Transactional,
            ActionId = Text(),
            CreatedAt = Instant(),
            Status = (DispatchStatus)random.Next(Enum.GetValues<DispatchStatus>().Length),
            Attempts = random.Next(-1, int.MaxValue),
            Error = Maybe(),
            Reason = Maybe(),
            CompletedAt = MaybeInstant(),
            DueAt = MaybeInstant(),
            LeaseOwner = Maybe(),
            LeaseUntil = MaybeInstant(),
            RespondedAt = MaybeInstant(),
            Priority = random.Next(int.MinValue, int.MaxValue),
            HeldAt = MaybeInstant(),
            ReleaseAt = MaybeInstant(),
            ExpiresAt = MaybeInstant(),
            Decision = random.Next(3) == 0 ? null : new DispatchDecision
            {
                DecisionId = Text(),
                Policy = Text(),
                ChoiceProbability = random.NextDouble(),
                ChoiceProbabilityError = random.Next(2) == 0 ? null : random.NextDouble() * 1e-3,
                Propensity = random.NextDouble(),
                Score = (random.NextDouble() - 0.5) * 1e6,
                Explored = random.Next(2) == 0,
                Candidates = random.Next(0, 50),
                Segment = Maybe(),
                TreatmentId = Maybe(),
                ControlGroup = Maybe(),
            },
        };
    }

    private static byte[] Written(DispatchRecord record)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            DispatchJson.Write(writer, record);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void ShouldMatchContract(DispatchRecord record)
        => Encoding.UTF8.GetString(Written(record)).Should().Be(JsonSerializer.Serialize(record, EngagementJsonContext.Default.DispatchRecord));
}
