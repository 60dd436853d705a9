using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Profiles;
using FsCheck;
using FsCheck.Fluent;

namespace Engagement.Sdk.Tests.Consent;

/// <summary>
/// Property tests of the consent fold against a reference model written independently of it: whatever records arrive, in
/// whatever order and however duplicated, the decision equals the model's, so it never allows what the model forbids.
/// </summary>
public sealed class ConsentFoldPropertyTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Subject = new("subject");
    private static readonly Identifier EmailA = Identifier.Email("a@example.com");
    private static readonly Identifier EmailB = Identifier.Email("b@example.com");
    private static readonly Channel?[] Channels = [Channel.Email, Channel.Sms, null];
    private static readonly Purpose[] Purposes = [Purpose.Marketing, Purpose.Analytics];
    private static readonly Identifier?[] Identifiers = [EmailA, EmailB, null];
    private static readonly ConsentStatus[] Statuses = Enum.GetValues<ConsentStatus>();

    private static readonly Config Config = Config.QuickThrowOnFailure.WithMaxTest(300);

    private static Gen<ConsentRecord> RecordGen(int index) =>
        from channel in Gen.Elements(Channels)
        from purpose in Gen.Elements(Purposes)
        from identifier in Gen.Elements(Identifiers)
        from status in Gen.Elements(Statuses)
        from day in Gen.Choose(0, 5)
        from expires in Gen.Frequency((3, Gen.Constant<int?>(null)), (1, Gen.Choose(1, 4).Select(d => (int?)d)))
        select new ConsentRecord
        {
            RecordId = "r" + index.ToString(System.Globalization.CultureInfo.InvariantCulture),
            CustomerId = Subject,
            Channel = channel,
            Purpose = purpose,
            Identifier = identifier,
            Status = status,
            Source = "test",
            Evidence = new ConsentEvidence("v1", "test"),
            EffectiveAt = T0.AddDays(day),
            ExpiresAt = expires is { } e ? T0.AddDays(day + e) : null,
        };

    private static readonly Arbitrary<ConsentRecord[]> Ledgers = Gen.Choose(0, 12)
        .SelectMany(n => Gen.CollectToArray(Enumerable.Range(0, n).Select(RecordGen)))
        .ToArbitrary();

    private static IEnumerable<(Channel Channel, Purpose Purpose, Identifier? Identifier, DateTimeOffset At)> Questions()
    {
        foreach (var channel in new[] { Channel.Email, Channel.Sms })
        {
            foreach (var purpose in Purposes)
            {
                foreach (var identifier in Identifiers)
                {
                    for (var hour = 0; hour <= 24 * 10; hour += 12)
                    {
                        yield return (channel, purpose, identifier, T0.AddHours(hour));
                    }
                }
            }
        }
    }

    /// <summary>The specification, written plainly: the latest applicable record wins; ties go to the more restrictive status, then the greater id.</summary>
    private static bool ModelAllows(IEnumerable<ConsentRecord> ledger, Channel channel, Purpose purpose, Identifier? identifier, DateTimeOffset at)
    {
        static int Severity(ConsentStatus s) => s switch
        {
            ConsentStatus.Granted => 0,
            ConsentStatus.PendingConfirmation => 1,
            ConsentStatus.Denied => 2,
            ConsentStatus.Withdrawn => 3,
            _ => 4,
        };

        var winner = ledger
            .DistinctBy(r => r.RecordId)
            .Where(r => r.Purpose == purpose && r.EffectiveAt <= at && (r.Channel is null || r.Channel == channel) && (r.Identifier is null || r.Identifier == identifier))
            .OrderByDescending(r => r.EffectiveAt)
            .ThenByDescending(r => Severity(r.Status))
            .ThenByDescending(r => r.RecordId, StringComparer.Ordinal)
            .FirstOrDefault();
        return winner is { Status: ConsentStatus.Granted } && (winner.ExpiresAt is null || winner.ExpiresAt > at);
    }

    [Fact]
    public void Evaluate_AnyLedger_AgreesWithTheReferenceModel()
    {
        var property = Prop.ForAll(Ledgers, ledger =>
        {
            var state = ConsentState.Fold(Subject, ledger);
            return Questions().All(q => state.Evaluate(q.Channel, q.Purpose, q.Identifier, q.At).IsAllowed == ModelAllows(ledger, q.Channel, q.Purpose, q.Identifier, q.At));
        });

        Check.One(Config, property);
    }

    [Fact]
    public void Fold_AnyPermutationWithDuplicates_GivesTheSameDecisions()
    {
        var cases = Ledgers.Generator.SelectMany(ledger =>
            Gen.Shuffle(ledger.Concat(ledger.Take(3)).ToArray()).Select(shuffled => (ledger, shuffled))).ToArbitrary();
        var property = Prop.ForAll(cases, pair =>
        {
            var original = ConsentState.Fold(Subject, pair.ledger);
            var reordered = ConsentState.Fold(Subject, pair.shuffled);
            return Questions().All(q =>
                original.Evaluate(q.Channel, q.Purpose, q.Identifier, q.At) == reordered.Evaluate(q.Channel, q.Purpose, q.Identifier, q.At));
        });

        Check.One(Config, property);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(30)]
    public void Fold_ARecordIdRepeatedWithOtherContent_KeepsTheFirstAndIgnoresOtherCustomers(int others)
    {
        // A short ledger and one long enough to be folded through a dictionary: the same rule either way.
        var padding = Enumerable.Range(0, others).Select(i => Record("p" + i, ConsentStatus.Granted, T0.AddDays(-10 - i)));
        var first = Record("r", ConsentStatus.Granted, T0);
        var repeated = Record("r", ConsentStatus.Withdrawn, T0);
        var stranger = Record("s", ConsentStatus.Withdrawn, T0.AddHours(1)) with { CustomerId = new CustomerId("someone-else") };

        var state = ConsentState.Fold(Subject, [.. padding, first, stranger, repeated]);

        state.Records.Should().HaveCount(others + 1).And.Contain(first).And.NotContain(repeated).And.NotContain(stranger);
        state.Evaluate(Channel.Email, Purpose.Marketing, EmailA, T0.AddHours(2)).Code.Should().Be(PermissionReasons.ConsentGranted);
    }

    [Fact]
    public void Evaluate_WithdrawalAtTheSameInstantAsAGrant_Denies()
    {
        var grant = Record("g", ConsentStatus.Granted, T0);
        var withdrawal = Record("a-withdrawal", ConsentStatus.Withdrawn, T0);

        foreach (var order in new[] { new[] { grant, withdrawal }, [withdrawal, grant] })
        {
            var verdict = ConsentState.Fold(Subject, order).Evaluate(Channel.Email, Purpose.Marketing, EmailA, T0.AddHours(1));
            verdict.IsAllowed.Should().BeFalse();
            verdict.Code.Should().Be(PermissionReasons.Withdrawn);
        }
    }

    [Fact]
    public void Evaluate_LateArrivingOlderGrant_DoesNotResurrectALaterWithdrawal()
    {
        var withdrawal = Record("w", ConsentStatus.Withdrawn, T0.AddDays(2));
        var olderGrant = Record("g", ConsentStatus.Granted, T0.AddDays(1));

        var state = ConsentState.Fold(Subject, [withdrawal, olderGrant]);

        state.Evaluate(Channel.Email, Purpose.Marketing, EmailA, T0.AddDays(3)).Code.Should().Be(PermissionReasons.Withdrawn);
        state.Evaluate(Channel.Email, Purpose.Marketing, EmailA, T0.AddDays(1).AddHours(1)).IsAllowed.Should().BeTrue("the grant was in force before the withdrawal");
    }

    [Fact]
    public void Evaluate_GrantForOnePurpose_NeverGrantsAnother()
    {
        var state = ConsentState.Fold(Subject, [Record("g", ConsentStatus.Granted, T0)]);

        foreach (var purpose in Purpose.WellKnown.Where(p => p != Purpose.Marketing && !p.IsTransactional))
        {
            state.Evaluate(Channel.Email, purpose, EmailA, T0.AddDays(1)).IsAllowed.Should().BeFalse($"{purpose} was never granted");
        }
    }

    [Fact]
    public void Evaluate_GrantForOldAddress_DoesNotCoverANewAddress()
    {
        var state = ConsentState.Fold(Subject, [Record("g", ConsentStatus.Granted, T0)]);

        state.Evaluate(Channel.Email, Purpose.Marketing, EmailB, T0.AddDays(1)).Code.Should().Be(PermissionReasons.NoConsent);
    }

    [Fact]
    public void Evaluate_ObjectionToMarketing_DeniesMarketingOnEveryChannelAndProfilingButNotTransactional()
    {
        var phone = Identifier.Phone("+380671234567");
        var ledger = new[]
        {
            Record("g-email", ConsentStatus.Granted, T0),
            Record("g-sms", ConsentStatus.Granted, T0) with { Channel = Channel.Sms, Identifier = phone },
            Record("g-profiling", ConsentStatus.Granted, T0) with { Channel = null, Identifier = null, Purpose = Purpose.Profiling },
            Record("objection", ConsentStatus.Objected, T0.AddDays(1)) with { Channel = null, Identifier = null },
        };
        var state = ConsentState.Fold(Subject, ledger);
        var at = T0.AddDays(2);

        state.Evaluate(Channel.Email, Purpose.Marketing, EmailA, at).Code.Should().Be(PermissionReasons.Objected);
        state.Evaluate(Channel.Sms, Purpose.Marketing, phone, at).Code.Should().Be(PermissionReasons.Objected);
        state.Evaluate(Channel.Web, Purpose.Profiling, null, at).Code.Should().Be(PermissionReasons.Objected);
        state.Evaluate(Channel.Email, Purpose.Transactional, EmailA, at).IsAllowed.Should().BeTrue();
    }

    [Fact]
    public void Evaluate_PendingDoubleOptIn_PermitsOnlyTheConfirmationRequest()
    {
        var pending = Record("p", ConsentStatus.PendingConfirmation, T0) with { ExpiresAt = T0.AddDays(2) };
        var state = ConsentState.Fold(Subject, [pending]);

        state.Evaluate(Channel.Email, Purpose.Marketing, EmailA, T0.AddHours(1)).Code.Should().Be(PermissionReasons.PendingConfirmation);
        state.Evaluate(Channel.Email, Purpose.ConsentConfirmation, EmailA, T0.AddHours(1)).IsAllowed.Should().BeTrue();
        state.Evaluate(Channel.Email, Purpose.ConsentConfirmation, EmailB, T0.AddHours(1)).IsAllowed.Should().BeFalse("the confirmation is bound to the address");
        state.Evaluate(Channel.Email, Purpose.ConsentConfirmation, EmailA, T0.AddDays(3)).IsAllowed.Should().BeFalse("the request expired");
    }

    private static ConsentRecord Record(string id, ConsentStatus status, DateTimeOffset at) => new()
    {
        RecordId = id,
        CustomerId = Subject,
        Channel = Channel.Email,
        Purpose = Purpose.Marketing,
        Identifier = EmailA,
        Status = status,
        Source = "test",
        Evidence = new ConsentEvidence("v1", "test"),
        EffectiveAt = at,
    };
}
