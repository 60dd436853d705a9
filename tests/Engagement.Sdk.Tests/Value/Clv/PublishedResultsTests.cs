using System.Globalization;
using Engagement.Sdk.Value.Clv;

namespace Engagement.Sdk.Tests.Value.Clv;

/// <summary>
/// The models against the published estimates: Fader, Hardie and Lee (2005) on the CDNOW sample, Batislam et al. (2007),
/// Schmittlein et al. (1987) as refitted by Fader and Hardie, Fader and Hardie's Gamma-Gamma note, and Fader, Hardie and
/// Shang (2010) on the donations. Tolerance: parameters within 1e-3 relative, log-likelihood within 0.01.
/// </summary>
public sealed class PublishedResultsTests
{
    private static readonly Lazy<(RfmSummary Summary, Dictionary<string, string> SampleIds)> Cdnow = new(LoadCdnow);

    [SharedDataFact]
    public void FromTransactions_CdnowSample_ReproducesThePublishedSummaryToTwoDecimals()
    {
        var (summary, sampleIds) = Cdnow.Value;
        var expected = System.IO.File.ReadLines(SharedData.File("cdnow/cdnow_customers_summary_with_transactions.csv")).Skip(1)
            .Select(line => line.Split(','))
            .ToDictionary(f => f[0], f => (X: int.Parse(f[1], CultureInfo.InvariantCulture), Tx: double.Parse(f[2], CultureInfo.InvariantCulture), T: double.Parse(f[3], CultureInfo.InvariantCulture), Zbar: double.Parse(f[4], CultureInfo.InvariantCulture)));

        summary.Customers.Should().HaveCount(2357);
        expected.Should().HaveCount(2357);
        foreach (var customer in summary.Customers)
        {
            var row = expected[sampleIds[customer.CustomerId]];
            customer.Frequency.Should().Be(row.X, customer.CustomerId);
            Math.Round(customer.Recency, 2).Should().BeApproximately(row.Tx, 1e-9, customer.CustomerId);
            Math.Round(customer.Age, 2).Should().BeApproximately(row.T, 1e-9, customer.CustomerId);
            ((double)Math.Round(customer.MeanRepeatSpend, 2, MidpointRounding.AwayFromZero)).Should().BeApproximately(row.Zbar, 1e-9, customer.CustomerId);
        }
    }

    [SharedDataFact]
    public void FromTransactions_CdnowHoldoutTo19980630_Holds1882RepeatTransactions()
    {
        Cdnow.Value.Summary.HoldoutTransactions.Should().Be(1882);
        Cdnow.Value.Summary.RepeatTransactions.Should().Be(2457);
    }

    [SharedDataFact]
    public void BgNbd_Cdnow_MatchesFaderHardieLee2005()
    {
        var model = BgNbdModel.Fit(Cdnow.Value.Summary.ToData());

        Expect(model.FitResult!, [("r", 0.2426), ("alpha", 4.4136), ("a", 0.7929), ("b", 2.4259)], -9582.43);
    }

    [SharedDataFact]
    public void MbgNbd_Cdnow_MatchesThePublishedEstimates()
    {
        var model = BgNbdModel.Fit(Cdnow.Value.Summary.ToData(), modified: true);

        Expect(model.FitResult!, [("r", 0.5248), ("alpha", 6.1831), ("a", 0.8914), ("b", 1.6140)], -9582.14);
    }

    [SharedDataFact]
    public void ParetoNbd_Cdnow_MatchesThePublishedEstimates()
    {
        var model = ParetoNbdModel.Fit(Cdnow.Value.Summary.ToData());

        Expect(model.FitResult!, [("r", 0.5533), ("alpha", 10.578), ("s", 0.6063), ("beta", 11.669)], -9594.98);
    }

    [SharedDataFact]
    public void GammaGamma_CdnowRepeatBuyers_MatchesThePublishedEstimates()
    {
        var model = GammaGammaModel.Fit(Cdnow.Value.Summary);

        model.FitResult!.Customers.Should().Be(946);
        Expect(model.FitResult, [("p", 6.2496), ("q", 3.7442), ("gamma", 15.4435)], -4055.92);
    }

    [SharedDataFact]
    public void BgBb_Donations_MatchesFaderHardieShang2010()
    {
        var patterns = System.IO.File.ReadLines(SharedData.File("donations/donations.csv")).Skip(1)
            .Select(line => line.Split(','))
            .Select(f => (int.Parse(f[0], CultureInfo.InvariantCulture), int.Parse(f[1], CultureInfo.InvariantCulture), int.Parse(f[2], CultureInfo.InvariantCulture), double.Parse(f[3], CultureInfo.InvariantCulture)))
            .ToList();

        var model = BgBbModel.Fit(patterns);

        model.FitResult!.Customers.Should().Be(11104);
        Expect(model.FitResult, [("alpha", 1.2035), ("beta", 0.7497), ("gamma", 0.6567), ("delta", 2.7834)], -33225.58);
    }

    [SharedDataFact]
    public void BgNbd_CdnowExampleCustomer_ExpectsThePublishedPurchases()
    {
        var model = BgNbdModel.Fit(Cdnow.Value.Summary.ToData());

        // FHL (2005): a customer with x = 2, t_x = 30.43, T = 38.86 is expected to make 1.226 purchases in the next 39 weeks.
        model.ConditionalExpectedTransactions(39, 2, 30.43, 38.86).Should().BeApproximately(1.226, 5e-4);
    }

    private static void Expect(ClvFit fit, (string Name, double Value)[] parameters, double logLikelihood)
    {
        fit.Diagnostics.Converged.Should().BeTrue();
        foreach (var (name, value) in parameters)
        {
            fit[name].Should().BeApproximately(value, Math.Abs(value) * 1e-3, name);
        }

        fit.LogLikelihood.Should().BeApproximately(logLikelihood, 0.01);
        fit.StandardErrors.Should().OnlyContain(se => double.IsFinite(se) && se > 0);
    }

    private static (RfmSummary, Dictionary<string, string>) LoadCdnow()
    {
        var sampleIds = new Dictionary<string, string>(StringComparer.Ordinal);
        var transactions = new List<Transaction>();
        foreach (var line in System.IO.File.ReadLines(SharedData.File("cdnow/CDNOW_sample.txt")))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            sampleIds[f[0]] = int.Parse(f[1], CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture);
            transactions.Add(new Transaction(f[0], DateOnly.ParseExact(f[2], "yyyyMMdd", CultureInfo.InvariantCulture), decimal.Parse(f[4], CultureInfo.InvariantCulture)));
        }

        return (RfmSummary.FromTransactions(transactions, new DateOnly(1997, 9, 30), new DateOnly(1998, 6, 30)), sampleIds);
    }
}
