using System.Globalization;
using Engagement.Sdk;
using Engagement.Sdk.Value.Clv;
using nietras.SeparatedValues;

namespace ClvReport;

/// <summary>Which process the covariates of <c>--covariates</c> act on.</summary>
internal enum CovariateTarget
{
    /// <summary>The purchase process and the drop-out process (each column in both).</summary>
    Both,

    /// <summary>The purchase process only.</summary>
    Purchase,

    /// <summary>The drop-out process only.</summary>
    Dropout,
}

/// <summary>Time-invariant covariates read from a file: one row per customer, numeric columns after the customer id.</summary>
/// <param name="Path">The file.</param>
/// <param name="Names">The covariate columns, in file order.</param>
/// <param name="Values">Each customer's values, in the order of <paramref name="Names"/>.</param>
internal sealed record CovariateTable(string Path, IReadOnlyList<string> Names, IReadOnlyDictionary<string, double[]> Values)
{
    /// <summary>
    /// Reads a CSV file with a header: the customer id column (<paramref name="customerColumn"/>, case ignored) and one numeric
    /// column per covariate (invariant culture; a categorical covariate is given as 0/1 columns, one per level but one).
    /// </summary>
    /// <exception cref="InputException">The header has no covariate or no customer column, a customer appears twice, or a value is not a finite number.</exception>
    public static CovariateTable Read(string path, string customerColumn, char? separator)
    {
        var options = new SepReaderOptions(separator is { } s ? new Sep(s) : null)
        {
            HasHeader = true,
            Unescape = true,
            ColNameComparer = StringComparer.OrdinalIgnoreCase,
        };
        using var reader = options.FromFile(path);
        var header = reader.Header;
        if (!header.TryIndexOf(customerColumn, out var idColumn))
        {
            throw new InputException(1, $"no column '{customerColumn}' (--customer-column) in the covariates header; the columns are: {string.Join(", ", header.ColNames)}");
        }

        var columns = Enumerable.Range(0, header.ColNames.Count).Where(i => i != idColumn).ToArray();
        if (columns.Length == 0)
        {
            throw new InputException(1, $"the covariates header names only the customer column '{customerColumn}': add one numeric column per covariate");
        }

        var names = columns.Select(i => header.ColNames[i].Trim()).ToArray();
        for (var i = 0; i < names.Length; i++)
        {
            if (names[i].Length == 0 || Array.IndexOf(names, names[i], 0, i) >= 0)
            {
                throw new InputException(1, $"covariate column {i + 1} ('{names[i]}') must have a name of its own");
            }
        }

        var values = new Dictionary<string, double[]>(StringComparer.Ordinal);
        try
        {
            foreach (var row in reader)
            {
                var line = row.LineNumberFrom;
                var id = row[idColumn].Span.Trim().ToString();
                if (id.Length == 0)
                {
                    throw new InputException(line, $"the customer id ({customerColumn}) is empty");
                }

                var vector = new double[columns.Length];
                for (var k = 0; k < columns.Length; k++)
                {
                    var text = row[columns[k]].Span.Trim();
                    if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out vector[k]) || !double.IsFinite(vector[k]))
                    {
                        throw new InputException(line, $"'{text}' ({names[k]}) is not a finite number: covariates are numeric (give a categorical one as 0/1 columns, one per level but one)");
                    }
                }

                if (!values.TryAdd(id, vector))
                {
                    throw new InputException(line, $"customer '{id}' appears a second time: give each customer one row");
                }
            }
        }
        catch (InvalidDataException ex)
        {
            // Sep reports a row with fewer or more fields than the header, or an unterminated quote, this way.
            throw new InputException(0, ex.Message);
        }

        if (values.Count == 0)
        {
            throw new InputException(1, "the covariates file has a header but no customers");
        }

        return new CovariateTable(path, names, values);
    }

    /// <summary>The calibration histories with each customer's covariates, for the chosen processes.</summary>
    /// <exception cref="InputException">A customer of the summary has no row in the file.</exception>
    public CovariateRfmData Data(RfmSummary summary, CovariateTarget target)
    {
        var missing = summary.Customers.Where(c => !Values.ContainsKey(c.CustomerId)).Select(c => c.CustomerId).ToList();
        if (missing.Count > 0)
        {
            throw new InputException(0, string.Create(CultureInfo.InvariantCulture, $"{missing.Count:N0} customer(s) of the transactions have no covariates row, the first '{missing[0]}': every customer needs one"));
        }

        var purchase = target is CovariateTarget.Both or CovariateTarget.Purchase ? Names : [];
        var dropout = target is CovariateTarget.Both or CovariateTarget.Dropout ? Names : [];
        return CovariateRfmData.Create(
            purchase,
            dropout,
            summary.Customers.Select(c =>
            {
                var v = Values[c.CustomerId];
                return (c.CustomerId, (double)c.Frequency, c.Recency, c.Age, purchase.Count > 0 ? v : [], dropout.Count > 0 ? v : []);
            }));
    }
}

/// <summary>
/// Fits the covariate versions of the fitted models that have one (BG/NBD and Pareto/NBD, as CLVTools offers) and tests each
/// against the same model without covariates by the likelihood ratio: the plain model is the covariate model with every
/// coefficient 0, so 2 (LL_covariates − LL_plain) is asymptotically χ² with as many degrees of freedom as coefficients.
/// </summary>
internal static class CovariateRuns
{
    /// <summary>The models with a covariate version.</summary>
    public static readonly string[] Models = ["bgnbd", "pnbd"];

    public static CovariateReport Run(CovariateTable table, CovariateTarget target, CovariateRfmData data, IReadOnlyList<ModelRun> runs, ClvFitOptions? options, Progress progress)
    {
        var reports = new List<CovariateModelReport>();
        foreach (var run in runs.Where(r => Models.Contains(r.Name)))
        {
            if (run.Fit is not { } plain)
            {
                reports.Add(CovariateModelReport.Failed(run.Name, $"the model without covariates failed ({run.Error})"));
                continue;
            }

            reports.Add(progress.Step($"fitting {run.Name} with {data.PurchaseCovariates.Length + data.DropoutCovariates.Length} covariate coefficient(s) on {data.DistinctCovariateVectors:N0} distinct covariate vectors", () => Fit(run.Name, plain, data, options)));
        }

        return new CovariateReport(
            table.Path,
            target.ToString().ToLowerInvariant(),
            data.PurchaseCovariates,
            data.DropoutCovariates,
            data.DistinctCovariateVectors,
            reports);
    }

    private static CovariateModelReport Fit(string name, ClvFit plain, CovariateRfmData data, ClvFitOptions? options)
    {
        ClvFit fit;
        try
        {
            fit = name == "bgnbd" ? BgNbdCovariateModel.Fit(data, options).FitResult! : ParetoNbdCovariateModel.Fit(data, options).FitResult!;
        }
        catch (Exception ex) when (ex is ClvModelException or EngagementValidationException)
        {
            return CovariateModelReport.Failed(name, ex.Message);
        }

        LikelihoodRatioReport? test = null;
        string? testError = null;
        try
        {
            var lr = ModelComparison.LikelihoodRatio(plain, fit);
            test = new LikelihoodRatioReport(name, lr.Statistic, lr.DegreesOfFreedom, lr.PValue);
        }
        catch (Exception ex) when (ex is ClvModelException or EngagementValidationException)
        {
            testError = ex.Message;
        }

        return new CovariateModelReport(
            name,
            fit.Names.Zip(fit.Values).ToDictionary(x => x.First, x => Report.Finite(x.Second)),
            fit.Names.Zip(fit.StandardErrors).ToDictionary(x => x.First, x => Report.Finite(x.Second)),
            fit.LogLikelihood,
            fit.Aic,
            fit.Bic,
            fit.Diagnostics.Converged,
            test,
            testError,
            null);
    }
}
