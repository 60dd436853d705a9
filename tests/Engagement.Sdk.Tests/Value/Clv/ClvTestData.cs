using System.Globalization;
using Engagement.Sdk.Value.Clv;

namespace Engagement.Sdk.Tests.Value.Clv;

/// <summary>The CDNOW sample summarised as in the papers (calibration to 1997-09-30, holdout to 1998-06-30, weeks), loaded once.</summary>
internal static class ClvTestData
{
    private static readonly Lazy<RfmSummary> LazyCdnow = new(() =>
    {
        var transactions = new List<Transaction>();
        foreach (var line in File.ReadLines(SharedData.File("cdnow/CDNOW_sample.txt")))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            transactions.Add(new Transaction(f[0], DateOnly.ParseExact(f[2], "yyyyMMdd", CultureInfo.InvariantCulture), decimal.Parse(f[4], CultureInfo.InvariantCulture)));
        }

        return RfmSummary.FromTransactions(transactions, new DateOnly(1997, 9, 30), new DateOnly(1998, 6, 30));
    });

    private static readonly Lazy<BgNbdModel> LazyBgNbd = new(() => BgNbdModel.Fit(Cdnow.ToData()));

    private static readonly Lazy<ParetoNbdModel> LazyPareto = new(() => ParetoNbdModel.Fit(Cdnow.ToData()));

    /// <summary>The summary.</summary>
    public static RfmSummary Cdnow => LazyCdnow.Value;

    /// <summary>BG/NBD fitted to it.</summary>
    public static BgNbdModel CdnowBgNbd => LazyBgNbd.Value;

    /// <summary>Pareto/NBD fitted to it.</summary>
    public static ParetoNbdModel CdnowPareto => LazyPareto.Value;

    /// <summary>The donations (x, tₓ, n = 6) patterns with counts.</summary>
    public static List<(int X, int Tx, int N, double Weight)> Donations()
        => [.. File.ReadLines(SharedData.File("donations/donations.csv")).Skip(1)
            .Select(line => line.Split(','))
            .Select(f => (int.Parse(f[0], CultureInfo.InvariantCulture), int.Parse(f[1], CultureInfo.InvariantCulture), int.Parse(f[2], CultureInfo.InvariantCulture), double.Parse(f[3], CultureInfo.InvariantCulture)))];
}
