using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Decisioning.Learning;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Tests.Decisioning;

public sealed class ActionUpliftTests
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Measure_SentAgainstControl_DifferenceOfRatesWithAnIntervalCoveringTheTruth()
    {
        // 8 % of customers buy anyway; the offer lifts that to 12 % for those sent it. 10 % of decisions are held out.
        var random = new BanditRandom(5);
        var log = new List<DispatchRecord>();
        var bought = new HashSet<string>();
        for (var i = 0; i < 20_000; i++)
        {
            var control = random.NextDouble() < 0.1;
            var dispatch = Dispatch("d" + i, "offer", control ? "global" : null);
            log.Add(dispatch);
            if (random.NextDouble() < (control ? 0.08 : 0.12))
            {
                bought.Add(dispatch.DispatchId);
            }
        }

        log.Add(new DispatchRecord { DispatchId = "manual", CustomerId = new CustomerId("x"), Channel = Channel.Email, Purpose = Purpose.Marketing, ActionId = "offer", CreatedAt = T0 });

        var uplift = ActionUplift.Measure(log, d => bought.Contains(d.DispatchId), "offer")!;

        uplift.ControlCustomers.Should().BeInRange(1_800, 2_200);
        (uplift.TreatmentCustomers + uplift.ControlCustomers).Should().Be(20_000, "the dispatch the SDK did not decide is ignored");
        uplift.Control.Should().BeApproximately(0.08, 0.02);
        uplift.Treatment.Should().BeApproximately(0.12, 0.01);
        0.04.Should().BeInRange(uplift.CiLow, uplift.CiHigh);
        uplift.CiLow.Should().BeGreaterThan(0, "20,000 decisions show a 4-point lift");
    }

    [Fact]
    public void Measure_FiltersByActionAndControlGroup_AndNeedsTwoOfEach()
    {
        List<DispatchRecord> log =
        [
            Dispatch("1", "a", null), Dispatch("2", "a", null), Dispatch("3", "a", "action"), Dispatch("4", "a", "global"),
            Dispatch("5", "b", null), Dispatch("6", "b", "action"), Dispatch("7", "b", "action"),
        ];

        var a = ActionUplift.Measure(log, d => d.DispatchId is "1" or "3", "a")!;
        var all = ActionUplift.Measure(log, _ => false, controlGroup: "action")!;

        (a.TreatmentCustomers, a.ControlCustomers, a.Treatment, a.Control).Should().Be((2, 2, 0.5, 0.5));
        (all.TreatmentCustomers, all.ControlCustomers).Should().Be((3, 3));
        ActionUplift.Measure(log, _ => true, "a", "global").Should().BeNull("one would-be send is too few");
    }

    private static DispatchRecord Dispatch(string id, string action, string? controlGroup) => new()
    {
        DispatchId = id, CustomerId = new CustomerId("c" + id), Channel = Channel.Email, Purpose = Purpose.Marketing, ActionId = action, CreatedAt = T0,
        Status = controlGroup is null ? DispatchStatus.Sent : DispatchStatus.Cancelled,
        Decision = new DispatchDecision { DecisionId = "dec-" + id, Policy = "champion", ChoiceProbability = 0.9, ControlGroup = controlGroup },
    };
}
