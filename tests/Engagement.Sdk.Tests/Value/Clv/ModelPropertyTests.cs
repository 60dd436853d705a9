using Engagement.Sdk.Value.Clv;
using FsCheck;
using FsCheck.Fluent;

namespace Engagement.Sdk.Tests.Value.Clv;

/// <summary>The analytic gradients of every likelihood agree with central finite differences at random parameters and data.</summary>
public sealed class ModelPropertyTests
{
    private static readonly Config Config = Config.QuickThrowOnFailure.WithMaxTest(60);

    private static readonly Gen<double> Positive = Gen.Choose(5, 400).Select(i => i / 50.0);

    private static readonly Arbitrary<(double[] Parameters, RfmData Data)> RfmCases =
        (from parameters in Gen.CollectToArray(Enumerable.Repeat(Positive, 4))
         from rows in Gen.ListOf(
             from x in Gen.Choose(0, 12)
             from t in Gen.Choose(1, 60)
             from tx in Gen.Choose(1, 60)
             from w in Gen.Choose(1, 5)
             select ((double)x, x == 0 ? 0.0 : Math.Min(tx, t) * 0.93, t * 1.0, (double)w),
             8)
         select (parameters, RfmData.Create(rows))).ToArbitrary();

    [Fact]
    public void BgNbdGradient_RandomPoints_MatchesFiniteDifferences()
        => Check.One(Config, Prop.ForAll(RfmCases, c => GradientMatches(c.Parameters, (p, g) => BgNbdModel.LogLikelihood(p, c.Data, g))));

    [Fact]
    public void MbgNbdGradient_RandomPoints_MatchesFiniteDifferences()
        => Check.One(Config, Prop.ForAll(RfmCases, c => GradientMatches(c.Parameters, (p, g) => BgNbdModel.LogLikelihood(p, c.Data, g, modified: true))));

    [Fact]
    public void ParetoNbdGradient_RandomPoints_MatchesFiniteDifferences()
        => Check.One(Config, Prop.ForAll(RfmCases, c => GradientMatches(c.Parameters, (p, g) => ParetoNbdModel.LogLikelihood(p, c.Data, g))));

    [Fact]
    public void GammaGammaGradient_RandomPoints_MatchesFiniteDifferences()
    {
        var cases = (from parameters in Gen.CollectToArray(Enumerable.Repeat(Positive, 3))
                     from rows in Gen.ListOf(
                         from x in Gen.Choose(1, 10)
                         from m in Gen.Choose(1, 2000)
                         select (x, m / 10.0, 1.0),
                         6)
                     select (parameters, rows.ToList())).ToArbitrary();

        Check.One(Config, Prop.ForAll(cases, c => GradientMatches(c.parameters, (p, g) => GammaGammaModel.LogLikelihood(p, c.Item2, g))));
    }

    [Fact]
    public void BgBbGradient_RandomPoints_MatchesFiniteDifferences()
    {
        var cases = (from parameters in Gen.CollectToArray(Enumerable.Repeat(Positive, 4))
                     from rows in Gen.ListOf(
                         from n in Gen.Choose(1, 8)
                         from x in Gen.Choose(0, n)
                         from tx in Gen.Choose(Math.Max(x, 1), n)
                         from w in Gen.Choose(1, 50)
                         select (x, x == 0 ? 0 : tx, n, (double)w),
                         6)
                     select (parameters, rows.ToList())).ToArbitrary();

        Check.One(Config, Prop.ForAll(cases, c => GradientMatches(c.parameters, (p, g) => BgBbModel.LogLikelihood(p, c.Item2, g))));
    }

    private delegate double LogLikelihood(ReadOnlySpan<double> parameters, Span<double> gradient);

    private static bool GradientMatches(double[] parameters, LogLikelihood logLikelihood)
    {
        var analytic = new double[parameters.Length];
        var value = logLikelihood(parameters, analytic);
        if (!double.IsFinite(value))
        {
            return false;
        }

        for (var i = 0; i < parameters.Length; i++)
        {
            var h = 1e-6 * parameters[i];
            var plus = (double[])parameters.Clone();
            var minus = (double[])parameters.Clone();
            plus[i] += h;
            minus[i] -= h;
            var numeric = (logLikelihood(plus, []) - logLikelihood(minus, [])) / (2 * h);
            if (Math.Abs(numeric - analytic[i]) > 1e-5 * Math.Max(1, Math.Abs(numeric)) + (1e-7 * Math.Abs(value)))
            {
                return false;
            }
        }

        return true;
    }
}
