using System.Runtime.ExceptionServices;
using Engagement.Sdk;
using Engagement.Sdk.Value.Clv;

namespace ClvReport;

/// <summary>
/// The customers' distinct calibration histories (x, tₓ, T): predictions are computed once per distinct history and read per
/// customer through <see cref="RowOf"/>, so a million customers cost what their few hundred thousand distinct histories cost.
/// </summary>
internal sealed class Histories
{
    public Histories(RfmSummary summary)
    {
        var customers = summary.Customers;
        RowOf = new int[customers.Length];
        var index = new Dictionary<(int, double, double), int>();
        List<double> x = [], tx = [], t = [], count = [];
        for (var i = 0; i < customers.Length; i++)
        {
            var c = customers[i];
            var key = (c.Frequency, c.Recency, c.Age);
            if (!index.TryGetValue(key, out var row))
            {
                row = x.Count;
                index.Add(key, row);
                x.Add(c.Frequency);
                tx.Add(c.Recency);
                t.Add(c.Age);
                count.Add(0);
            }

            count[row]++;
            RowOf[i] = row;
        }

        X = [.. x];
        Tx = [.. tx];
        T = [.. t];
        Customers = [.. count];
    }

    /// <summary>The model input: one weighted row per distinct history.</summary>
    public RfmData ToData() => RfmData.Create(Enumerable.Range(0, Count).Select(i => (X[i], Tx[i], T[i], Customers[i])));

    /// <summary>Each customer's row.</summary>
    public int[] RowOf { get; }

    public double[] X { get; }

    public double[] Tx { get; }

    public double[] T { get; }

    /// <summary>How many customers share each history.</summary>
    public double[] Customers { get; }

    public int Count => X.Length;
}

/// <summary>One transaction model's predictions per distinct history.</summary>
/// <param name="PAlive">P(alive | x, tₓ, T).</param>
/// <param name="Expected">E[Y(horizon) | x, tₓ, T].</param>
/// <param name="Holdout">E[Y(holdout length) | x, tₓ, T], or <see langword="null"/> without a holdout.</param>
/// <param name="Dert">Discounted expected residual transactions at the discount rate, or <see langword="null"/> where the model has none.</param>
internal sealed record Predictions(double[] PAlive, double[] Expected, double[]? Holdout, double[]? Dert);

/// <summary>One transaction model's run: the fit and its predictions, or why it failed.</summary>
internal sealed record ModelRun(string Name, ITransactionModel? Model, ClvFit? Fit, Predictions? Predictions, string? Error)
{
    public bool Succeeded => Error is null;
}

/// <summary>Fits the transaction models and predicts for every distinct history, each model on its own.</summary>
internal static class ModelRuns
{
    /// <summary>The transaction models, in report order.</summary>
    public static readonly string[] Names = ["bgnbd", "mbgnbd", "pnbd"];

    public static (ITransactionModel Model, ClvFit Fit) Fit(string name, RfmData data, ClvFitOptions? options)
    {
        switch (name)
        {
            case "bgnbd":
                var bg = BgNbdModel.Fit(data, options: options);
                return (bg, bg.FitResult!);
            case "mbgnbd":
                var mbg = BgNbdModel.Fit(data, modified: true, options);
                return (mbg, mbg.FitResult!);
            case "pnbd":
                var pnbd = ParetoNbdModel.Fit(data, options);
                return (pnbd, pnbd.FitResult!);
            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, "unknown model");
        }
    }

    /// <summary>
    /// Runs one model: the fit, then P(alive), E[Y(horizon)], E[Y(holdout)] and DERT per distinct history. Any failure of
    /// the model (it cannot be fitted, or a prediction fails) is caught and reported as the run's error; the caller goes on
    /// with the other models.
    /// </summary>
    public static ModelRun Run(string name, RfmData data, Histories histories, double horizon, double? holdout, double discountRate, Func<string, RfmData, (ITransactionModel, ClvFit)> fit, Progress progress)
    {
        try
        {
            var (model, result) = progress.Step($"fitting {name}", () => fit(name, data));
            var predictions = progress.Step($"predicting {name} for {histories.Count:N0} distinct histories", () => Predict(model, histories, horizon, holdout, discountRate));
            return new ModelRun(name, model, result, predictions, null);
        }
        catch (Exception ex) when (ex is ClvModelException or EngagementValidationException or ArithmeticException)
        {
            progress.Report($"{name} failed: {ex.Message}");
            return new ModelRun(name, null, null, null, ex.Message);
        }
    }

    private static Predictions Predict(ITransactionModel model, Histories h, double horizon, double? holdout, double discountRate)
    {
        var pAlive = new double[h.Count];
        model.ProbabilityAlive(h.X, h.Tx, h.T, pAlive);
        var expected = new double[h.Count];
        model.ConditionalExpectedTransactions(horizon, h.X, h.Tx, h.T, expected);
        double[]? holdoutExpected = null;
        if (holdout is { } length)
        {
            if (length == horizon)
            {
                holdoutExpected = expected;
            }
            else
            {
                holdoutExpected = new double[h.Count];
                model.ConditionalExpectedTransactions(length, h.X, h.Tx, h.T, holdoutExpected);
            }
        }

        var dert = Dert.For(model, discountRate, h);
        return new Predictions(pAlive, expected, holdoutExpected, dert);
    }

    /// <summary>A parallel loop whose failure is the exception itself (the lowest index's), not an <see cref="AggregateException"/>.</summary>
    public static void ParallelFor(int count, Action<int> body)
    {
        const int Chunk = 4096;
        var chunks = (count + Chunk - 1) / Chunk;
        var errors = new Exception?[chunks];
        Parallel.For(0, chunks, c =>
        {
            try
            {
                for (var i = c * Chunk; i < Math.Min(count, (c + 1) * Chunk); i++)
                {
                    body(i);
                }
            }
            catch (Exception ex)
            {
                errors[c] = ex;
            }
        });
        if (Array.Find(errors, e => e is not null) is { } first)
        {
            ExceptionDispatchInfo.Capture(first).Throw();
        }
    }
}
