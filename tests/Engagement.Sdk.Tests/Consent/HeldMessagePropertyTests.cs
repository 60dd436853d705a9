using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Sdk.Tests.Consent;

/// <summary>
/// Random sequences of triggers, sweeps, clock moves, consent withdrawals and re-grants, with random action priorities,
/// through the engine with held messages: caps are never exceeded, nothing is sent without consent or twice, a sweep sends
/// the highest-priority due message first, and every held message ends sent or cancelled.
/// </summary>
public sealed class HeldMessagePropertyTests
{
    private static readonly CustomerId Ann = new("ann");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    private enum Kind
    {
        Trigger,
        Sweep,
        Advance,
        Withdraw,
        Grant,
    }

    private sealed record Step(Kind Kind, int Minutes)
    {
        public override string ToString() => Kind == Kind.Advance ? $"Advance({Minutes} min)" : Kind.ToString();
    }

    private static readonly Gen<Step> StepGen =
        from kind in Gen.Frequency((6, Gen.Constant(Kind.Trigger)), (3, Gen.Constant(Kind.Sweep)), (5, Gen.Constant(Kind.Advance)), (1, Gen.Constant(Kind.Withdraw)), (1, Gen.Constant(Kind.Grant)))
        from minutes in Gen.Elements(1, 30, 240, 719, 1441, 2900)
        select new Step(kind, minutes);

    [Fact]
    public void Engine_AnySequenceWithHeldMessages_KeepsCapsConsentAndPriorityOrder()
    {
        var cases = (from priorities in Gen.ArrayOf(Gen.Choose(0, 3), 3)
                     from n in Gen.Choose(1, 30)
                     from steps in Gen.ArrayOf(StepGen, n)
                     select (Priorities: priorities, Steps: steps)).ToArbitrary();

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(cases, c => Run(c.Priorities, c.Steps)));
    }

    private static bool Run(int[] priorities, Step[] steps)
    {
        var clock = new LedgerClock(T0);
        var email = new InMemoryChannelSender(Channel.Email);
        var actions = Enumerable.Range(0, 3).Select(i => new ActionDefinition
        {
            Id = "a" + i, Name = "A" + i, Channels = [Channel.Email], Value = 10m - i, BasePropensity = 0.1, Priority = priorities[i], HoldFor = TimeSpan.FromDays(4),
        }).ToArray();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.AddEngagement().AddChannel(email).UseActions(ActionCatalog.Create(actions));
        using var provider = services.BuildServiceProvider();
        var engine = DeliveringEngine.From(provider);
        var granted = true;
        var grants = 0;
        engine.RecordConsentAsync(Consent("g0", ConsentStatus.Granted, T0.AddMinutes(-1))).AsTask().GetAwaiter().GetResult();
        var sends = new List<(DateTimeOffset At, bool Granted)>();
        var triggers = 0;
        var sentCount = 0;

        void NoteSends()
        {
            while (sentCount < email.Messages.Count)
            {
                sends.Add((clock.Now, granted));
                sentCount++;
            }
        }

        foreach (var step in steps)
        {
            switch (step.Kind)
            {
                case Kind.Trigger:
                    engine.TrackAsync(new AddedToCart { EventId = "t" + triggers++, CustomerId = Ann, Timestamp = clock.Now, Identifiers = [AnnEmail], ProductId = "p" }).AsTask().GetAwaiter().GetResult();
                    break;
                case Kind.Sweep:
                    var outcomes = engine.ReleaseHeldAsync().AsTask().GetAwaiter().GetResult();
                    var released = outcomes.Where(o => o.Status == HeldMessageStatus.Released).ToList();
                    var passedOver = outcomes.Where(o => o.Status == HeldMessageStatus.Rescheduled
                        || (o.Reason == HoldReasons.Expired && o.Record.ExpiresAt > clock.Now)).ToList(); // deferred again, not expired before the sweep
                    if (released.Count > 0 && passedOver.Any(r => r.Record.Priority > released.Min(x => x.Record.Priority)))
                    {
                        return false; // a lower-priority message went while a higher one waited
                    }

                    break;
                case Kind.Advance:
                    clock.Now = clock.Now.AddMinutes(step.Minutes);
                    break;
                case Kind.Withdraw:
                    engine.RecordConsentAsync(Consent("w" + grants++, ConsentStatus.Withdrawn, clock.Now)).AsTask().GetAwaiter().GetResult();
                    granted = false;
                    break;
                default:
                    engine.RecordConsentAsync(Consent("g" + ++grants, ConsentStatus.Granted, clock.Now)).AsTask().GetAwaiter().GetResult();
                    granted = true;
                    break;
            }

            NoteSends();
        }

        // Long after everything expired, a final sweep leaves nothing held.
        clock.Now = clock.Now.AddDays(5);
        engine.ReleaseHeldAsync().AsTask().GetAwaiter().GetResult();
        NoteSends();
        var log = provider.GetRequiredService<IDispatchStore>().ListAsync(Ann, T0.AddDays(-1)).AsTask().GetAwaiter().GetResult();

        var capsHeld = sends.All(s => sends.Count(o => o.At > s.At - TimeSpan.FromDays(1) && o.At <= s.At) <= 1
            && sends.Count(o => o.At > s.At - TimeSpan.FromDays(7) && o.At <= s.At) <= 3);
        var consentHeld = sends.All(s => s.Granted);
        var once = email.Messages.Select(m => m.DispatchId).Distinct().Count() == email.Messages.Count;
        var resolved = log.All(d => d.Status is DispatchStatus.Sent or DispatchStatus.Cancelled);
        return capsHeld && consentHeld && once && resolved && log.Count(d => d.Status == DispatchStatus.Sent) == email.Messages.Count;
    }

    private static ConsentRecord Consent(string id, ConsentStatus status, DateTimeOffset at) => new()
    {
        RecordId = id,
        CustomerId = Ann,
        Channel = Channel.Email,
        Purpose = Purpose.Marketing,
        Identifier = AnnEmail,
        Status = status,
        Source = "form",
        Evidence = status == ConsentStatus.Granted ? new ConsentEvidence("v1", "form") : null,
        EffectiveAt = at,
    };
}
