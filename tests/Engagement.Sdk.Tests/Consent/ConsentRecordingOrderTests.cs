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
/// Consent order under clock skew: the ledger stamps when it recorded each record, and a withdrawal acknowledged at t is never
/// overridden by a grant recorded before t, whatever effective time the grant claims.
/// </summary>
public sealed class ConsentRecordingOrderTests
{
    private static readonly DateTimeOffset Now = new(2026, 4, 1, 10, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Ann = new("ann");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");
    private readonly FakeTimeProvider _clock = new(Now);
    private readonly InMemoryConsentStore _store = new();

    private ConsentLedger Ledger() => new(_store, new InMemorySuppressionStore(), new InMemoryProfileStore(), _clock, Options.Create(new EngagementOptions()));

    [Fact]
    public async Task RecordAsync_GrantDatedAheadThenWithdrawalRecordedLater_TheWithdrawalWinsForGood()
    {
        var ledger = Ledger();
        await ledger.RecordAsync(Record("g", ConsentStatus.Granted, Now.AddMinutes(4)));
        _clock.Advance(TimeSpan.FromSeconds(30));
        await ledger.RecordAsync(Record("w", ConsentStatus.Withdrawn, Now.AddMinutes(1)));

        foreach (var at in new[] { Now.AddSeconds(30), Now.AddMinutes(1), Now.AddMinutes(4), Now.AddMinutes(5), Now.AddDays(30) })
        {
            _clock.SetUtcNow(at);
            var verdict = (await ledger.GetStateAsync(Ann)).Evaluate(Channel.Email, Purpose.Marketing, AnnEmail, at);
            verdict.IsAllowed.Should().BeFalse($"the withdrawal was acknowledged before {at:O}");
            verdict.Record!.RecordId.Should().Be("w");
        }
    }

    [Fact]
    public async Task RecordAsync_GrantRecordedAfterTheWithdrawal_GrantsAgain()
    {
        var ledger = Ledger();
        await ledger.RecordAsync(Record("w", ConsentStatus.Withdrawn, Now));
        _clock.Advance(TimeSpan.FromMinutes(1));
        await ledger.RecordAsync(Record("g", ConsentStatus.Granted, Now.AddMinutes(1)));

        (await ledger.GetStateAsync(Ann)).Evaluate(Channel.Email, Purpose.Marketing, AnnEmail, Now.AddMinutes(1)).IsAllowed.Should().BeTrue();
    }

    [Fact]
    public async Task RecordAsync_LateGrantWithAnOlderEffectiveTime_DoesNotResurrectTheWithdrawal()
    {
        var ledger = Ledger();
        await ledger.RecordAsync(Record("w", ConsentStatus.Withdrawn, Now));
        _clock.Advance(TimeSpan.FromMinutes(1));
        await ledger.RecordAsync(Record("g", ConsentStatus.Granted, Now.AddMinutes(-5)));

        (await ledger.GetStateAsync(Ann)).Evaluate(Channel.Email, Purpose.Marketing, AnnEmail, Now.AddMinutes(2)).Code.Should().Be(PermissionReasons.Withdrawn);
    }

    [Fact]
    public async Task RecordAsync_WithdrawalDatedAhead_IsInForceFromWhenItWasRecorded()
    {
        var ledger = Ledger();
        await ledger.RecordAsync(Record("g", ConsentStatus.Granted, Now.AddHours(-1)));
        await ledger.RecordAsync(Record("w", ConsentStatus.Withdrawn, Now.AddMinutes(4)));

        (await ledger.GetStateAsync(Ann)).Evaluate(Channel.Email, Purpose.Marketing, AnnEmail, Now.AddSeconds(1)).Code.Should().Be(PermissionReasons.Withdrawn);
    }

    [Fact]
    public async Task RecordAsync_TheSameRecordAgainLater_IsADuplicateNotAConflict()
    {
        var ledger = Ledger();
        var grant = Record("g", ConsentStatus.Granted, Now);

        (await ledger.RecordAsync(grant)).Should().Be(AppendOutcome.Appended);
        _clock.Advance(TimeSpan.FromMinutes(3));
        (await ledger.RecordAsync(grant)).Should().Be(AppendOutcome.Duplicate);

        var stored = (await _store.ReadAsync(Ann)).Should().ContainSingle().Subject;
        stored.RecordedAt.Should().Be(Now, "the first append's stamp is kept");
    }

    [Fact]
    public async Task RecordAsync_RecordedAtGivenByTheCaller_IsReplacedByTheLedgersClock()
    {
        await Ledger().RecordAsync(Record("w", ConsentStatus.Withdrawn, Now) with { RecordedAt = Now.AddYears(-3) });

        (await _store.ReadAsync(Ann)).Single().RecordedAt.Should().Be(Now);
    }

    [Fact]
    public async Task RecordAsync_ClockSetBack_StampsStayInRecordingOrder()
    {
        ConsentLedger ledger;
        var clock = new SettableClock(Now);
        ledger = new ConsentLedger(_store, new InMemorySuppressionStore(), new InMemoryProfileStore(), clock, Options.Create(new EngagementOptions()));
        await ledger.RecordAsync(Record("g", ConsentStatus.Granted, Now.AddMinutes(4)));
        clock.Now = Now.AddMinutes(-10);
        await ledger.RecordAsync(Record("w", ConsentStatus.Withdrawn, Now.AddMinutes(-10)));

        var records = await _store.ReadAsync(Ann);
        records.Single(r => r.RecordId == "w").RecordedAt.Should().BeAfter(records.Single(r => r.RecordId == "g").RecordedAt!.Value);
        (await ledger.GetStateAsync(Ann)).Evaluate(Channel.Email, Purpose.Marketing, AnnEmail, Now.AddMinutes(10)).Code.Should().Be(PermissionReasons.Withdrawn);
    }

    [Fact]
    public async Task ImportAsync_KeepsTheExportedRecordingTimes_SoTheFoldIsTheSame()
    {
        var ledger = Ledger();
        await ledger.RecordAsync(Record("g", ConsentStatus.Granted, Now.AddMinutes(4)));
        _clock.Advance(TimeSpan.FromSeconds(30));
        await ledger.RecordAsync(Record("w", ConsentStatus.Withdrawn, Now.AddMinutes(1)));
        var export = await ledger.ExportAsync(Ann);

        var fresh = new ConsentLedger(new InMemoryConsentStore(), new InMemorySuppressionStore(), new InMemoryProfileStore(), _clock, Options.Create(new EngagementOptions()));
        _clock.Advance(TimeSpan.FromHours(1));
        (await fresh.ImportAsync(ConsentLedger.FromJson(ConsentLedger.ToJson(export)))).Should().Be(2);

        (await fresh.GetStateAsync(Ann)).Records.Select(r => r.RecordedAt).Should().BeEquivalentTo(export.Records.Select(r => r.RecordedAt));
        (await fresh.GetStateAsync(Ann)).Evaluate(Channel.Email, Purpose.Marketing, AnnEmail, Now.AddHours(2)).Code.Should().Be(PermissionReasons.Withdrawn);
    }

    [Fact]
    public void Fold_RecordsWithoutRecordingTimes_FoldByEffectiveTimeAsBefore()
    {
        // Written before the ledger stamped records: the later effective time wins, whichever was appended last.
        var state = ConsentState.Fold(Ann, [Record("w", ConsentStatus.Withdrawn, Now), Record("g", ConsentStatus.Granted, Now.AddMinutes(1))]);

        state.Evaluate(Channel.Email, Purpose.Marketing, AnnEmail, Now.AddMinutes(2)).IsAllowed.Should().BeTrue();
    }

    [Fact]
    public void Fold_StampedWithdrawalAfterAnUnstampedGrant_WinsAsRecordedLater()
    {
        var state = ConsentState.Fold(Ann, [
            Record("g", ConsentStatus.Granted, Now.AddMinutes(4)),
            Record("w", ConsentStatus.Withdrawn, Now.AddMinutes(1)) with { RecordedAt = Now.AddSeconds(30) },
        ]);

        state.Evaluate(Channel.Email, Purpose.Marketing, AnnEmail, Now.AddMinutes(10)).Code.Should().Be(PermissionReasons.Withdrawn);
    }

    private sealed class SettableClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private enum Kind
    {
        Grant,
        Withdraw,
        Advance,
    }

    private sealed record Command(Kind Kind, int Seconds);

    /// <summary>
    /// Random grants and withdrawals, each claiming an effective time from ten minutes back to five minutes ahead (the allowed
    /// skew), recorded in random order as the clock moves: after any acknowledged withdrawal the gate never allows, now or
    /// later, until a grant is recorded after it. The fold by effective time alone fails this.
    /// </summary>
    [Fact]
    public void Property_AfterAnAcknowledgedWithdrawal_NothingIsAllowedUntilAGrantRecordedAfterIt()
    {
        var command =
            from kind in Gen.Frequency((3, Gen.Constant(Kind.Grant)), (2, Gen.Constant(Kind.Withdraw)), (3, Gen.Constant(Kind.Advance)))
            from seconds in kind == Kind.Advance ? Gen.Elements(0, 1, 20, 60, 240, 600) : Gen.Choose(-600, 300)
            select new Command(kind, seconds);
        var sequences = Gen.Choose(1, 25).SelectMany(n => Gen.ListOf(command, n)).Select(l => l.ToArray()).ToArbitrary();

        var property = Prop.ForAll(sequences, commands =>
        {
            var clock = new FakeTimeProvider(Now);
            var ledger = new ConsentLedger(new InMemoryConsentStore(), new InMemorySuppressionStore(), new InMemoryProfileStore(), clock, Options.Create(new EngagementOptions()));
            var withdrawnSinceLastGrant = false;
            for (var i = 0; i < commands.Length; i++)
            {
                var c = commands[i];
                var now = clock.GetUtcNow();
                switch (c.Kind)
                {
                    case Kind.Advance:
                        clock.Advance(TimeSpan.FromSeconds(c.Seconds));
                        break;
                    case Kind.Grant:
                        ledger.RecordAsync(Record("g" + i, ConsentStatus.Granted, now.AddSeconds(c.Seconds))).AsTask().GetAwaiter().GetResult();
                        withdrawnSinceLastGrant = false;
                        break;
                    default:
                        ledger.RecordAsync(Record("w" + i, ConsentStatus.Withdrawn, now.AddSeconds(c.Seconds))).AsTask().GetAwaiter().GetResult();
                        withdrawnSinceLastGrant = true;
                        break;
                }

                if (withdrawnSinceLastGrant)
                {
                    var state = ledger.GetStateAsync(Ann).AsTask().GetAwaiter().GetResult();
                    // From the next millisecond on: a clock that stands still (as this one may) gets stamps a tick apart, so the
                    // last record may be stamped a few ticks ahead of it.
                    foreach (var later in new[] { 0.001, 30, 60, 299, 300, 301, 3600 })
                    {
                        if (state.Evaluate(Channel.Email, Purpose.Marketing, AnnEmail, clock.GetUtcNow().AddSeconds(later)).IsAllowed)
                        {
                            return false;
                        }
                    }
                }
            }

            return true;
        });

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), property);
    }

    private static ConsentRecord Record(string id, ConsentStatus status, DateTimeOffset effectiveAt) => new()
    {
        RecordId = id,
        CustomerId = Ann,
        Channel = Channel.Email,
        Purpose = Purpose.Marketing,
        Identifier = AnnEmail,
        Status = status,
        Source = "test",
        Evidence = status == ConsentStatus.Granted ? new ConsentEvidence("v1", "form") : null,
        EffectiveAt = effectiveAt,
    };
}
