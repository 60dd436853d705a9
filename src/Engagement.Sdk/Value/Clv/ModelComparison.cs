using System.Globalization;

namespace Engagement.Sdk.Value.Clv;

/// <summary>A likelihood-ratio test of a model against a more general one that nests it.</summary>
/// <param name="Statistic">2 (LL_full − LL_nested), asymptotically χ² under the nested model.</param>
/// <param name="DegreesOfFreedom">The number of extra parameters of the full model.</param>
/// <param name="PValue">P(χ²_df ≥ statistic): small values favour the full model.</param>
public sealed record LikelihoodRatioTest(double Statistic, int DegreesOfFreedom, double PValue);

/// <summary>How far a model's holdout predictions were from what customers did.</summary>
/// <param name="Customers">How many customers were compared.</param>
/// <param name="MeanAbsoluteError">MAE: mean |predicted − actual|.</param>
/// <param name="RootMeanSquaredError">RMSE: √ mean (predicted − actual)².</param>
/// <param name="MeanSquaredLogError">MSLE: mean (ln(1 + predicted) − ln(1 + actual))², which weighs relative errors and is not dominated by a few heavy buyers.</param>
/// <param name="TotalActual">Σ actual.</param>
/// <param name="TotalPredicted">Σ predicted.</param>
public sealed record HoldoutErrors(int Customers, double MeanAbsoluteError, double RootMeanSquaredError, double MeanSquaredLogError, double TotalActual, double TotalPredicted)
{
    /// <summary>Σ predicted − Σ actual: the error of the aggregate forecast.</summary>
    public double TotalError => TotalPredicted - TotalActual;

    /// <summary>(Σ predicted − Σ actual)/Σ actual (NaN when nothing happened in the holdout).</summary>
    public double RelativeTotalError => TotalActual == 0 ? double.NaN : TotalError / TotalActual;
}

/// <summary>Comparing fitted models: information criteria are on <see cref="ClvFit"/>; likelihood-ratio tests and holdout errors are here.</summary>
public static class ModelComparison
{
    /// <summary>
    /// The likelihood-ratio test of <paramref name="nested"/> against <paramref name="full"/>, fitted to the same customers,
    /// where the nested model is the full one with some parameters fixed (a covariate model against the same model without
    /// covariates, whose coefficients are 0). BG/NBD against Pareto/NBD, or against MBG/NBD, is not such a pair: compare
    /// those by <see cref="ClvFit.Aic"/> and <see cref="ClvFit.Bic"/>.
    /// </summary>
    /// <param name="nested">The restricted model's fit.</param>
    /// <param name="full">The general model's fit.</param>
    /// <returns>The statistic, the degrees of freedom and the p-value.</returns>
    /// <exception cref="EngagementValidationException">The fits are not a nested pair fitted to the same customers without a penalty; the exception says which rule.</exception>
    /// <exception cref="ClvModelException">The full fit's log-likelihood is clearly below the nested one's: it did not find its maximum.</exception>
    public static LikelihoodRatioTest LikelihoodRatio(ClvFit nested, ClvFit full)
    {
        ArgumentNullException.ThrowIfNull(nested);
        ArgumentNullException.ThrowIfNull(full);
        if (full.ParameterCount <= nested.ParameterCount || nested.Names.Any(n => !full.Names.Contains(n)))
        {
            throw new EngagementValidationException(
                nameof(nested),
                string.Join(", ", nested.Names),
                "must be nested in the full model: its parameters must be a proper subset of the full model's (" + string.Join(", ", full.Names) + ")");
        }

        if (Math.Abs(nested.Customers - full.Customers) > 1e-9 * Math.Max(1, full.Customers))
        {
            throw new EngagementValidationException(nameof(full), full.Customers, "must be fitted to the same customers as the nested model (" + nested.Customers.ToString(CultureInfo.InvariantCulture) + ")");
        }

        if (nested.Diagnostics.Penalty != 0 || full.Diagnostics.Penalty != 0)
        {
            throw new EngagementValidationException(nested.Diagnostics.Penalty != 0 ? nameof(nested) : nameof(full), "penalty", "must be an unpenalised fit: a penalised log-likelihood has no χ² reference distribution");
        }

        var statistic = 2 * (full.LogLikelihood - nested.LogLikelihood);
        if (statistic < -1e-6 * Math.Max(1, Math.Abs(full.LogLikelihood)))
        {
            throw new ClvModelException(string.Create(CultureInfo.InvariantCulture, $"The full model's log-likelihood ({full.LogLikelihood}) is below the nested model's ({nested.LogLikelihood}): its fit did not reach the maximum ({full.Diagnostics.Summary()})."));
        }

        statistic = Math.Max(0, statistic);
        var df = full.ParameterCount - nested.ParameterCount;
        return new LikelihoodRatioTest(statistic, df, Distributions.ChiSquareSurvival(statistic, df));
    }

    /// <summary>Holdout error metrics of per-customer predictions (expected transactions, or spend) against what each customer did.</summary>
    /// <param name="actual">What each customer did in the holdout: finite, at least 0.</param>
    /// <param name="predicted">What the model predicted for each: finite, at least 0, as many as <paramref name="actual"/>.</param>
    /// <param name="customerIds">The customers' ids, to name a bad value; optional.</param>
    /// <returns>The metrics.</returns>
    /// <exception cref="EngagementValidationException">The lengths differ, there are no customers, or a value breaks its rule (named by customer).</exception>
    public static HoldoutErrors Holdout(ReadOnlySpan<double> actual, ReadOnlySpan<double> predicted, IReadOnlyList<string>? customerIds = null)
    {
        if (actual.Length != predicted.Length)
        {
            throw new EngagementValidationException(nameof(predicted), predicted.Length, "must hold one prediction per customer (" + actual.Length.ToString(CultureInfo.InvariantCulture) + ")");
        }

        if (actual.Length == 0)
        {
            throw new EngagementValidationException(nameof(actual), 0, "must hold at least one customer");
        }

        if (customerIds is not null && customerIds.Count != actual.Length)
        {
            throw new EngagementValidationException(nameof(customerIds), customerIds.Count, "must name every customer (" + actual.Length.ToString(CultureInfo.InvariantCulture) + ")");
        }

        double absolute = 0, squared = 0, log = 0, totalActual = 0, totalPredicted = 0;
        for (var i = 0; i < actual.Length; i++)
        {
            var who = customerIds is null ? null : $"customer '{customerIds[i]}'.";
            Require(actual[i], who is null ? $"actual[{i}]" : who + "actual");
            Require(predicted[i], who is null ? $"predicted[{i}]" : who + "predicted");
            var error = predicted[i] - actual[i];
            absolute += Math.Abs(error);
            squared += error * error;
            var logError = ClvQuadrature.LogOnePlus(predicted[i]) - ClvQuadrature.LogOnePlus(actual[i]);
            log += logError * logError;
            totalActual += actual[i];
            totalPredicted += predicted[i];
        }

        var n = actual.Length;
        return new HoldoutErrors(n, absolute / n, Math.Sqrt(squared / n), log / n, totalActual, totalPredicted);

        static void Require(double value, string field)
        {
            if (!(value >= 0) || double.IsInfinity(value))
            {
                throw new EngagementValidationException(field, value, "must be a finite count or amount, at least 0");
            }
        }
    }
}
