using System.Collections.Immutable;
using System.Globalization;

namespace Engagement.Sdk.Value.Clv;

/// <summary>
/// How a maximum-likelihood fit is run. The defaults reproduce the published estimates; a penalty is for data that cannot
/// pin the parameters down (few customers, no heterogeneity, a handful of repeat buyers).
/// </summary>
public sealed record ClvFitOptions
{
    /// <summary>The options with every default: no penalty, at most 1,000 iterations.</summary>
    public static ClvFitOptions Default { get; } = new();

    /// <summary>
    /// The L2 penalty λ on the parameters in the scale they are fitted on (the logarithm of each positive parameter, the
    /// coefficient itself for a covariate): the fit maximises the mean log-likelihood per customer minus
    /// λ · Σ (ln θ − ln θ₀)², where θ₀ is 1 for a shape and the data's scale for a rate or scale parameter (the mean age T
    /// for α and β, the mean spend for Gamma-Gamma's γ), and minus λ · Σ γ² for covariate coefficients. Because the
    /// penalty is on the mean log-likelihood and on scale-free logarithms, the same λ means the same pull whatever the
    /// number of customers, the time unit or the currency.
    /// </summary>
    /// <value>At least 0 and finite; default 0 (plain maximum likelihood). Values between 0.001 and 0.1 are typical.</value>
    public double Penalty { get; init; }

    /// <summary>The most BFGS iterations before the fit stops and reports that it did not converge.</summary>
    /// <value>At least 1; default 1,000.</value>
    public int MaxIterations { get; init; } = 1000;

    /// <summary>Checks the options.</summary>
    /// <exception cref="EngagementValidationException">A value breaks its rule; the exception names it.</exception>
    public void Validate()
    {
        if (!(Penalty >= 0) || double.IsInfinity(Penalty))
        {
            throw new EngagementValidationException("options.Penalty", Penalty, "must be a finite penalty, at least 0");
        }

        if (MaxIterations < 1)
        {
            throw new EngagementValidationException("options.MaxIterations", MaxIterations, "must be at least 1");
        }
    }
}

/// <summary>Why a fit's estimates should not be taken at face value.</summary>
public enum FitIssueKind
{
    /// <summary>The optimiser stopped (iteration limit, no further progress) before the gradient vanished.</summary>
    NotConverged,

    /// <summary>A parameter ran to the edge of its range (0 or +∞, more than six orders of magnitude from the data's scale): the likelihood keeps improving as it runs away.</summary>
    ParameterAtBoundary,

    /// <summary>The likelihood is flat along some combination of parameters: the data do not determine it (for example no heterogeneity to measure).</summary>
    FlatLikelihood,

    /// <summary>The Hessian at the estimates cannot be inverted (or is not that of a maximum): the affected standard errors are NaN.</summary>
    SingularHessian,
}

/// <summary>One problem with a fit.</summary>
/// <param name="Kind">What kind of problem.</param>
/// <param name="Parameters">The parameters involved, by name.</param>
/// <param name="Message">What was found, in plain words, with the numbers.</param>
public sealed record FitIssue(FitIssueKind Kind, ImmutableArray<string> Parameters, string Message);

/// <summary>How an optimisation went, and whether its answer can be trusted.</summary>
/// <param name="Iterations">BFGS iterations.</param>
/// <param name="Evaluations">Likelihood evaluations.</param>
/// <param name="GradientNorm">The largest absolute gradient component of the (penalised) mean log-likelihood in the fitted scale at the end.</param>
/// <param name="Converged">Whether the gradient fell below the tolerance.</param>
/// <param name="Elapsed">The wall-clock time of the fit.</param>
public sealed record FitDiagnostics(int Iterations, int Evaluations, double GradientNorm, bool Converged, TimeSpan Elapsed)
{
    /// <summary>The problems found: empty for a well-determined fit.</summary>
    public ImmutableArray<FitIssue> Issues { get; init; } = [];

    /// <summary>
    /// Whether the data do not determine the estimates: a parameter at a boundary, a flat direction of the likelihood or a
    /// singular Hessian. Such estimates are arbitrary along the flat direction (refit with <see cref="ClvFitOptions.Penalty"/>);
    /// predictions may still be sensible when the flat direction does not affect them.
    /// </summary>
    public bool IsDegenerate => Issues.Any(i => i.Kind != FitIssueKind.NotConverged);

    /// <summary>The penalty λ the fit used (see <see cref="ClvFitOptions.Penalty"/>).</summary>
    public double Penalty { get; init; }

    /// <summary>
    /// The smallest curvature of the total log-likelihood (without the penalty) along any direction in the fitted scale: the
    /// smallest eigenvalue of the negative Hessian. Near 0 means a flat direction; 1/√ of it is the largest standard error
    /// of any unit combination of log-parameters.
    /// </summary>
    public double SmallestCurvature { get; init; } = double.NaN;

    /// <summary>One line per issue, or "ok".</summary>
    /// <returns>The summary.</returns>
    public string Summary() => Issues.IsEmpty ? "ok" : string.Join("; ", Issues.Select(i => i.Message));

    internal static string Format(double value) => value.ToString("G4", CultureInfo.InvariantCulture);
}
