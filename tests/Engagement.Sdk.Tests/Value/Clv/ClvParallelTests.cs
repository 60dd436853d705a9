using Engagement.Sdk.Value.Clv;

namespace Engagement.Sdk.Tests.Value.Clv;

public sealed class ClvParallelTests
{
    [Fact]
    public void For_IterationsThrow_TheLowestIterationsExceptionReachesTheCallerUnwrapped()
    {
        var act = () => ClvParallel.For(0, 10_000, i =>
        {
            if (i % 1000 == 999)
            {
                throw new ClvModelException($"iteration {i}");
            }
        });

        act.Should().Throw<ClvModelException>().WithMessage("iteration 999");
    }

    [Fact]
    public void ConditionalExpectedTransactions_BadCustomerInALargeBatch_IsNamedAndNotWrapped()
    {
        const int N = 100_000;
        var x = Enumerable.Range(0, N).Select(i => (double)(i % 5)).ToArray();
        var tx = x.Select(v => v * 2).ToArray();
        var age = Enumerable.Repeat(30.0, N).ToArray();
        tx[70_001] = 40;
        foreach (ITransactionModel model in new ITransactionModel[] { BgNbdModel.FromParameters(0.24, 4.4, 0.79, 2.4), ParetoNbdModel.FromParameters(0.55, 10.6, 0.61, 11.7) })
        {
            FluentActions.Invoking(() => model.ConditionalExpectedTransactions(39, x, tx, age, new double[N]))
                .Should().Throw<EngagementValidationException>().Which.Field.Should().Be("tx[70001]");
        }
    }

    [Fact]
    public void GammaGamma_ZeroSpendRepeatBuyer_IsNamedByCustomerId()
    {
        var start = new DateOnly(2025, 1, 1);
        var summary = RfmSummary.FromTransactions(
            [
                new Transaction("anna", start, 10), new Transaction("anna", start.AddDays(3), 12),
                new Transaction("once", start, 8),
                new Transaction("free-bob", start, 9), new Transaction("free-bob", start.AddDays(5), 0),
                new Transaction("carl", start, 20), new Transaction("carl", start.AddDays(9), 25),
            ],
            start.AddDays(30));

        FluentActions.Invoking(() => GammaGammaModel.Fit(summary)).Should().Throw<ClvModelException>().WithMessage("*customer 'free-bob'*");
    }

    [Fact]
    public void GammaGamma_ZeroSpendRow_IsNamedByItsIndexInTheCallersList()
    {
        // Row 3 of the caller's list, not row 1 of the repeat buyers left after dropping x = 0.
        FluentActions.Invoking(() => GammaGammaModel.Fit([(0, 0.0, 1.0), (2, 10.0, 1.0), (0, 0.0, 1.0), (1, 0.0, 1.0), (3, 5.0, 1.0)]))
            .Should().Throw<ClvModelException>().WithMessage("*customers[3]*");
    }
}
