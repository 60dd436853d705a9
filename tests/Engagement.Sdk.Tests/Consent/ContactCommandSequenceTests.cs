using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using FsCheck.Fluent;
using FsCheck;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Sdk.Tests.Consent;

/// <summary>
/// Model-based property test: random sequences of grants, withdrawals and objections (some arriving late, some sent twice),
/// hard bounces, clock moves and send attempts run against the real ledger, suppression list, dispatch log and permission
/// gate, and against a small reference model written independently. The gate never allows what the model forbids, and the
/// frequency caps are never exceeded.
/// </summary>
public sealed class ContactCommandSequenceTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 6, 14, 0, 0, TimeSpan.Zero); // 09:00 in New York
    private static readonly CustomerId Ann = new("ann");
    private static readonly Identifier Email = Identifier.Email("ann@example.com");
    private static readonly Identifier Phone = Identifier.Phone("+12025550143");
    private static readonly TimeZoneInfo NewYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");

    private enum Kind
    {
        Grant,
        Withdraw,
        Object,
        Duplicate,
        Bounce,
        Advance,
        Send,
    }

    private sealed record Command(Kind Kind, Channel Channel, int Minutes)
    {
        public override string ToString() => Kind switch
        {
            Kind.Advance => $"Advance({Minutes} min)",
            Kind.Bounce or Kind.Duplicate => Kind.ToString(),
            Kind.Object => $"Object(late {Minutes} min)",
            Kind.Send => $"Send({Channel})",
            _ => $"{Kind}({Channel}, late {Minutes} min)",
        };
    }

    private static readonly Gen<Command> CommandGen =
        from kind in Gen.Frequency(
            (4, Gen.Constant(Kind.Grant)), (2, Gen.Constant(Kind.Withdraw)), (1, Gen.Constant(Kind.Object)), (1, Gen.Constant(Kind.Duplicate)),
            (1, Gen.Constant(Kind.Bounce)), (4, Gen.Constant(Kind.Advance)), (6, Gen.Constant(Kind.Send)))
        from channel in Gen.Elements(Channel.Email, Channel.Sms)
        from minutes in kind == Kind.Advance ? Gen.Elements(1, 45, 300, 700, 1439, 1441, 3000) : Gen.Elements(0, 0, 30, 180)
        select new Command(kind, channel, minutes);

    [Fact]
    public void Gate_AnyCommandSequence_NeverAllowsWhatTheModelForbidsAndNeverExceedsACap()
    {
        var sequences = Gen.Choose(1, 40).SelectMany(n => Gen.ListOf(CommandGen, n)).Select(l => l.ToArray()).ToArbitrary();
        var allowed = 0;
        var refused = 0;
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(sequences, commands => Run(commands, ref allowed, ref refused)));

        allowed.Should().BeGreaterThan(50, "the sequences must reach sends that are allowed, or the property says little");
        refused.Should().BeGreaterThan(50);
    }

    private static bool Run(Command[] commands, ref int allowed, ref int refused)
    {
        var (a, r) = RunAsync(commands).GetAwaiter().GetResult();
        allowed += a;
        refused += r;
        return true;
    }

    private static async Task<(int Allowed, int Refused)> RunAsync(Command[] commands)
    {
        var clock = new FakeTimeProvider(Start);
        var consents = new InMemoryConsentStore();
        var suppressions = new InMemorySuppressionStore();
        var dispatches = new InMemoryDispatchStore();
        var ledger = new ConsentLedger(consents, suppressions, new InMemoryProfileStore(), clock, Options.Create(new EngagementOptions()));
        var gate = new PermissionGate(consents, dispatches, Options.Create(new ContactPolicyOptions()), suppressions);
        var profile = CustomerProfile.New(Ann).WithIdentifier(Email).WithIdentifier(Phone) with { TimeZone = "America/New_York" };

        var model = new List<(Channel? Channel, ConsentStatus Status, DateTimeOffset At)>();
        var sends = new List<(Channel Channel, DateTimeOffset At)>();
        var bounced = false;
        ConsentRecord? last = null;
        var n = 0;
        var (allowedSends, refusedSends) = (0, 0);
        foreach (var command in commands)
        {
            var now = clock.GetUtcNow();
            switch (command.Kind)
            {
                case Kind.Grant or Kind.Withdraw or Kind.Object:
                    var record = new ConsentRecord
                    {
                        RecordId = "r" + n++,
                        CustomerId = Ann,
                        Channel = command.Kind == Kind.Object ? null : command.Channel,
                        Identifier = command.Kind == Kind.Object ? null : AddressOf(command.Channel),
                        Purpose = Purpose.Marketing,
                        Status = command.Kind switch { Kind.Grant => ConsentStatus.Granted, Kind.Withdraw => ConsentStatus.Withdrawn, _ => ConsentStatus.Objected },
                        Source = "test",
                        Evidence = command.Kind == Kind.Grant ? new ConsentEvidence("v1", "test") : null,
                        EffectiveAt = now.AddMinutes(-command.Minutes),
                    };
                    await ledger.RecordAsync(record);
                    model.Add((record.Channel, record.Status, record.EffectiveAt));
                    last = record;
                    break;
                case Kind.Duplicate when last is not null:
                    if (await ledger.RecordAsync(last) != AppendOutcome.Duplicate)
                    {
                        throw Fail(commands, "a record sent twice was appended twice");
                    }

                    break;
                case Kind.Bounce:
                    await ledger.SuppressAsync(Email, SuppressionReason.HardBounce, "bounce");
                    bounced = true;
                    break;
                case Kind.Advance:
                    clock.Advance(TimeSpan.FromMinutes(command.Minutes));
                    break;
                case Kind.Send:
                    var decision = await gate.CheckAsync(new PermissionRequest(profile, command.Channel, Purpose.Marketing, AddressOf(command.Channel), now));
                    if (!decision.IsAllowed)
                    {
                        refusedSends++;
                        break;
                    }

                    allowedSends++;

                    if (!ModelConsents(model, command.Channel, now))
                    {
                        throw Fail(commands, $"allowed {command.Channel} marketing at {now:O} without consent in force ({decision.Code})");
                    }

                    if (command.Channel == Channel.Email && bounced)
                    {
                        throw Fail(commands, "allowed email to a hard-bounced address");
                    }

                    var local = TimeZoneInfo.ConvertTime(now, NewYork).TimeOfDay;
                    if (command.Channel == Channel.Sms && (local < TimeSpan.FromHours(8) || local >= TimeSpan.FromHours(21)))
                    {
                        throw Fail(commands, $"allowed marketing SMS at {local} local time");
                    }

                    await dispatches.TryBeginAsync(new DispatchRecord { DispatchId = "d" + n++, CustomerId = Ann, Channel = command.Channel, Purpose = Purpose.Marketing, ActionId = "a", CreatedAt = now });
                    sends.Add((command.Channel, now));
                    if (sends.Count(s => s.Channel == command.Channel && s.At > now - TimeSpan.FromDays(1)) > 1
                        || sends.Count(s => s.At > now - TimeSpan.FromDays(7)) > 3)
                    {
                        throw Fail(commands, $"a frequency cap was exceeded by the {command.Channel} send at {now:O}");
                    }

                    break;
            }
        }

        return (allowedSends, refusedSends);
    }

    // The reference model: among the marketing records for this channel (or for every channel) in force now, the latest
    // effective one decides, and at equal times a restrictive one wins; only a grant allows.
    private static bool ModelConsents(List<(Channel? Channel, ConsentStatus Status, DateTimeOffset At)> records, Channel channel, DateTimeOffset now)
    {
        var applicable = records.Where(r => (r.Channel is null || r.Channel == channel) && r.At <= now).ToList();
        if (applicable.Count == 0)
        {
            return false;
        }

        var latest = applicable.Max(r => r.At);
        return applicable.Where(r => r.At == latest).All(r => r.Status == ConsentStatus.Granted);
    }

    private static Identifier AddressOf(Channel channel) => channel == Channel.Email ? Email : Phone;

    private static InvalidOperationException Fail(Command[] commands, string why)
        => new(why + " after: " + string.Join(", ", commands.Select(c => c.ToString())));
}
