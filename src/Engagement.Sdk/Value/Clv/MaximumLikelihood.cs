using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;

namespace Engagement.Sdk.Value.Clv;

/// <summary>A fitted model's estimates.</summary>
/// <param name="Names">The parameters' names, in order.</param>
/// <param name="Values">The estimates.</param>
/// <param name="StandardErrors">Standard errors from the inverse Hessian of the total (penalised) log-likelihood, by the delta method from the fitted scale; NaN where the Hessian is singular (<see cref="FitDiagnostics.Issues"/> says so).</param>
/// <param name="LogLikelihood">The total log-likelihood at the estimates, summed over customers (without the penalty).</param>
/// <param name="Customers">Σ weights of the data fitted.</param>
/// <param name="Diagnostics">How the optimisation went.</param>
public sealed record ClvFit(ImmutableArray<string> Names, ImmutableArray<double> Values, ImmutableArray<double> StandardErrors, double LogLikelihood, double Customers, FitDiagnostics Diagnostics)
{
    /// <summary>The estimate of one parameter by name.</summary>
    /// <param name="name">The name.</param>
    /// <returns>The value.</returns>
    /// <exception cref="EngagementValidationException">The model has no parameter of that name.</exception>
    public double this[string name]
    {
        get
        {
            var at = Names.IndexOf(name);
            return at >= 0 ? Values[at] : throw new EngagementValidationException(nameof(name), name, "must be one of the model's parameters (" + string.Join(", ", Names) + ")");
        }
    }

    /// <summary>The number of estimated parameters, k.</summary>
    public int ParameterCount => Values.Length;

    /// <summary>Akaike's information criterion, 2k − 2 LL: lower is better, between models fitted to the same customers.</summary>
    public double Aic => (2.0 * ParameterCount) - (2 * LogLikelihood);

    /// <summary>The Bayesian information criterion, k ln N − 2 LL with N = <see cref="Customers"/>: lower is better.</summary>
    public double Bic => (ParameterCount * Math.Log(Customers)) - (2 * LogLikelihood);

    /// <summary>
    /// The covariance matrix of the estimates (row-major, k × k, in the parameters' natural scale by the delta method); NaN
    /// throughout when the Hessian is singular.
    /// </summary>
    public ImmutableArray<double> Covariance { get; init; } = [];

    /// <summary>The covariance in the fitted scale (log for positive parameters, linear for coefficients), row-major.</summary>
    internal ImmutableArray<double> WorkingCovariance { get; init; } = [];

    /// <summary>How many leading parameters are fitted on the log scale (the rest, covariate coefficients, linearly).</summary>
    internal int LogScaleCount { get; init; }

    /// <summary>The penalty's centre in the fitted scale (the logarithm of each parameter's scale), one per parameter.</summary>
    internal ImmutableArray<double> Centre { get; init; } = [];
}

/// <summary>
/// Maximum-likelihood fitting with BFGS, a backtracking line search and analytic gradients, over the logarithm of each
/// positive parameter (and covariate coefficients as they are), with an optional L2 penalty; afterwards the Hessian is
/// analysed for flat directions, boundaries and singularity.
/// </summary>
internal static class MaximumLikelihood
{
    /// <summary>A parameter more than this far (in ln) from its scale is at a boundary: six orders of magnitude.</summary>
    private static readonly double BoundaryLog = Math.Log(1e6);

    /// <summary>Once a parameter is this far (in ln) from its scale the optimisation stops: ten orders of magnitude.</summary>
    private static readonly double RunawayLog = Math.Log(1e10);

    /// <summary>A total log-likelihood that writes its gradient in the natural parameters.</summary>
    public delegate double LogLikelihood(ReadOnlySpan<double> parameters, Span<double> gradient);

    /// <summary>Fits a model whose parameters are all positive (log scale), with 1 as the penalty's centre for each.</summary>
    public static ClvFit Fit(string model, string[] names, LogLikelihood logLikelihood, double[] start, double customers, ClvFitOptions? options = null)
        => Fit(new Problem(model, names, logLikelihood, start, customers) { Scales = null }, options);

    /// <summary>Fits <paramref name="problem"/>.</summary>
    public static ClvFit Fit(Problem problem, ClvFitOptions? options)
    {
        options ??= ClvFitOptions.Default;
        options.Validate();
        var clock = Stopwatch.StartNew();
        var n = problem.Start.Length;
        var logCount = problem.LogScaleCount < 0 ? n : problem.LogScaleCount;
        var centre = new double[n];
        for (var i = 0; i < logCount; i++)
        {
            centre[i] = problem.Scales is null ? 0 : Math.Log(problem.Scales[i]);
        }

        var lambda = options.Penalty;
        var customers = problem.Customers;
        var evaluations = 0;
        var theta = new double[n];
        var gradTheta = new double[n];

        double Objective(double[] u, double[] grad)
        {
            evaluations++;
            return PenalisedObjective(problem.Function, u, grad, logCount, centre, lambda, customers, theta, gradTheta);
        }

        var x = new double[n];
        for (var i = 0; i < n; i++)
        {
            x[i] = i < logCount ? Math.Log(problem.Start[i]) : problem.Start[i];
        }

        var g = new double[n];
        var f = Objective(x, g);
        if (!double.IsFinite(f))
        {
            throw new ClvModelException($"{problem.Model}: the log-likelihood is not finite at the starting point.");
        }

        const double Tolerance = 1e-9;
        var h = Identity(n);
        var iterations = 0;
        var converged = false;
        var stalled = false;
        var runaway = false;
        var outward = new int[n];
        var xNew = new double[n];
        var gNew = new double[n];
        var direction = new double[n];
        for (; iterations < options.MaxIterations; iterations++)
        {
            if (MaxAbs(g) < Tolerance)
            {
                converged = true;
                break;
            }

            var slope = DescentDirection(ref h, g, direction);

            var norm = Math.Sqrt(Dot(direction, direction));
            var step = norm > 3 ? 3 / norm : 1.0;
            var accepted = false;
            for (var tries = 0; tries < 60; tries++)
            {
                for (var i = 0; i < n; i++)
                {
                    xNew[i] = x[i] + (step * direction[i]);
                }

                var fNew = Objective(xNew, gNew);
                if (double.IsFinite(fNew) && fNew <= f + (1e-4 * step * slope))
                {
                    accepted = true;
                    var s = new double[n];
                    var y = new double[n];
                    for (var i = 0; i < n; i++)
                    {
                        s[i] = xNew[i] - x[i];
                        y[i] = gNew[i] - g[i];
                    }

                    UpdateInverseHessian(h, s, y);
                    for (var i = 0; i < logCount; i++)
                    {
                        // A parameter beyond the boundary that keeps moving outwards, step after step, is running away.
                        var before = Math.Abs(x[i] - centre[i]);
                        var after = Math.Abs(xNew[i] - centre[i]);
                        outward[i] = after > before && after > BoundaryLog ? outward[i] + 1 : 0;
                        runaway |= after > RunawayLog || outward[i] >= 10;
                    }

                    Array.Copy(xNew, x, n);
                    Array.Copy(gNew, g, n);

                    var improvement = f - fNew;
                    f = fNew;
                    if (improvement >= 0 && improvement < 1e-16 * Math.Max(1, Math.Abs(f)) && MaxAbs(g) < 1e-6)
                    {
                        converged = true;
                    }

                    break;
                }

                step *= 0.5;
            }

            if (runaway)
            {
                // The estimate is running to the edge of the range: going on only costs time (the analysis below reports it).
                iterations++;
                break;
            }

            if (!accepted || converged)
            {
                stalled = !accepted;
                converged |= MaxAbs(g) < 1e-6;
                break;
            }
        }

        var estimates = new double[n];
        ToNatural(x, logCount, estimates);
        var totalLl = problem.Function(estimates, gradTheta);
        var analysis = Analyse(problem, x, logCount, centre, lambda, estimates);
        clock.Stop();

        Diagnostics.EngagementTelemetry.RecordFit(problem.Model, converged, clock.Elapsed);

        var issues = new List<FitIssue>();
        if (!converged && !runaway)
        {
            issues.Add(new FitIssue(
                FitIssueKind.NotConverged,
                [],
                string.Create(CultureInfo.InvariantCulture, $"{problem.Model} did not converge: {(stalled ? "the line search found no better point" : $"stopped after {iterations} iterations")} with gradient {FitDiagnostics.Format(MaxAbs(g))} (tolerance {Tolerance:G1})")));
        }

        issues.AddRange(analysis.Issues);
        var diagnostics = new FitDiagnostics(iterations, evaluations, MaxAbs(g), converged, clock.Elapsed)
        {
            Issues = [.. issues],
            Penalty = lambda,
            SmallestCurvature = analysis.SmallestCurvature,
        };
        return new ClvFit([.. problem.Names], [.. estimates], [.. analysis.StandardErrors], totalLl, customers, diagnostics)
        {
            Covariance = [.. analysis.Covariance],
            WorkingCovariance = [.. analysis.WorkingCovariance],
            LogScaleCount = logCount,
            Centre = [.. centre],
        };
    }

    // The quasi-Newton direction −H g and its slope gᵀd; where that is not a descent direction (the curvature estimate went
    // wrong), the steepest descent −g instead, with H reset to the identity.
    private static double DescentDirection(ref double[,] h, double[] g, double[] direction)
    {
        var n = g.Length;
        for (var i = 0; i < n; i++)
        {
            direction[i] = 0;
            for (var j = 0; j < n; j++)
            {
                direction[i] -= h[i, j] * g[j];
            }
        }

        var slope = Dot(direction, g);
        if (slope >= 0)
        {
            h = Identity(n);
            for (var i = 0; i < n; i++)
            {
                direction[i] = -g[i];
            }

            slope = Dot(direction, g);
        }

        return slope;
    }

    // The minimised objective at u (the working scale: logs of the first logCount parameters): minus the mean log-likelihood
    // plus the L2 penalty around centre, with its gradient in grad; +∞ where the likelihood cannot be evaluated (a special
    // function that would need too many terms this far out) or is not finite, which the line search treats as infeasible.
    private static double PenalisedObjective(LogLikelihood logLikelihood, double[] u, double[] grad, int logCount, double[] centre, double lambda, double customers, double[] theta, double[] gradTheta)
    {
        var n = u.Length;
        ToNatural(u, logCount, theta);
        double ll;
        try
        {
            ll = logLikelihood(theta, gradTheta);
        }
        catch (ClvModelException)
        {
            return double.PositiveInfinity;
        }

        if (!double.IsFinite(ll))
        {
            return double.PositiveInfinity;
        }

        var penalty = 0.0;
        for (var i = 0; i < n; i++)
        {
            var d = u[i] - centre[i];
            penalty += d * d;
            grad[i] = (-(i < logCount ? theta[i] : 1) * gradTheta[i] / customers) + (2 * lambda * d);
            if (!double.IsFinite(grad[i]))
            {
                return double.PositiveInfinity;
            }
        }

        return (-ll / customers) + (lambda * penalty);
    }

    /// <summary>
    /// Refits <paramref name="fit"/>'s model to other data (a resample of its customers) from its estimates: quasi-Newton
    /// steps in the fitted scale with the fit's own inverse Hessian as the first curvature, so a resample of a large data set
    /// converges in a few likelihood evaluations. No Hessian analysis follows (only the estimates are wanted). It stops when
    /// twice the log-likelihood still to be gained, estimated by the Newton decrement, is below 10⁻⁶ (a step of about a
    /// thousandth of a standard error), and gives up after <paramref name="maxIterations"/> steps or at a non-finite likelihood.
    /// Trial points stay within <see cref="TrustRadius"/> standard errors of the fit's estimates (when it has a covariance):
    /// a resample whose likelihood rises towards the edge of the parameter space stops at that distance.
    /// </summary>
    /// <param name="fit">The fit to start from; its penalty, centre and scales are kept.</param>
    /// <param name="logLikelihood">The total log-likelihood of the new data.</param>
    /// <param name="customers">Σ weights of the new data.</param>
    /// <param name="maxIterations">The most quasi-Newton steps.</param>
    /// <param name="estimates">Receives the estimates (natural scale).</param>
    /// <returns>The number of likelihood evaluations, or −1 when the refit failed.</returns>
    internal static int Refit(ClvFit fit, LogLikelihood logLikelihood, double customers, int maxIterations, Span<double> estimates)
    {
        var n = fit.ParameterCount;
        var logCount = fit.LogScaleCount;
        var centre = fit.Centre.IsDefaultOrEmpty ? new double[n] : fit.Centre.ToArray();
        var lambda = fit.Diagnostics.Penalty;
        var theta = new double[n];
        var gradTheta = new double[n];
        var evaluations = 0;

        double Objective(double[] u, double[] grad)
        {
            evaluations++;
            return PenalisedObjective(logLikelihood, u, grad, logCount, centre, lambda, customers, theta, gradTheta);
        }

        // The first inverse Hessian of the mean objective: the fit's covariance in the fitted scale times its customers.
        var h = Identity(n);
        var precision = (double[,]?)null;
        if (fit.WorkingCovariance.Length == n * n && fit.WorkingCovariance.All(double.IsFinite))
        {
            for (var i = 0; i < n; i++)
            {
                for (var j = 0; j < n; j++)
                {
                    h[i, j] = fit.WorkingCovariance[(i * n) + j] * fit.Customers;
                }
            }

            precision = Inverse(fit.WorkingCovariance, n);
        }

        var x = new double[n];
        for (var i = 0; i < n; i++)
        {
            x[i] = i < logCount ? Math.Log(fit.Values[i]) : fit.Values[i];
        }

        var origin = (double[])x.Clone();

        var g = new double[n];
        var f = Objective(x, g);
        if (!double.IsFinite(f))
        {
            return -1;
        }

        var xNew = new double[n];
        var gNew = new double[n];
        var direction = new double[n];
        var s = new double[n];
        var y = new double[n];
        for (var iteration = 0; iteration < maxIterations; iteration++)
        {
            var slope = DescentDirection(ref h, g, direction);

            // −slope = gᵀ H g is the Newton decrement of the mean objective; times the customers, twice the total
            // log-likelihood still to be gained. Below 10⁻⁶ the remaining step is about a thousandth of a standard error;
            // asking for more only chases the rounding noise of sums over many rows.
            if (-slope * customers < 1e-6 || MaxAbs(g) < 1e-12)
            {
                ToNatural(x, logCount, theta);
                theta.CopyTo(estimates);
                return evaluations;
            }

            var norm = Math.Sqrt(Dot(direction, direction));
            var step = norm > 3 ? 3 / norm : 1.0;
            if (precision is not null)
            {
                // The trust region: no trial point further than TrustRadius standard errors (in the fit's own metric)
                // from the full data's estimates. Where a resample's likelihood keeps rising along a ridge to the edge of
                // the parameter space (a Pareto/NBD resample whose death rates look homogeneous sends s and β to
                // infinity together), the refit stops at the region's edge: the likelihood there is within a few
                // hundredths of its supremum, so the data cannot tell the two apart, and the likelihood is never
                // evaluated out where its special functions need millions of terms.
                var reach = StepToBoundary(precision, origin, x, direction, TrustRadius);
                if (reach < 1e-6)
                {
                    ToNatural(x, logCount, theta);
                    theta.CopyTo(estimates);
                    return evaluations;
                }

                step = Math.Min(step, reach);
            }

            var accepted = false;
            for (var tries = 0; tries < 30; tries++)
            {
                for (var i = 0; i < n; i++)
                {
                    xNew[i] = x[i] + (step * direction[i]);
                }

                var fNew = Objective(xNew, gNew);
                if (double.IsFinite(fNew) && fNew <= f + (1e-4 * step * slope))
                {
                    accepted = true;
                    for (var i = 0; i < n; i++)
                    {
                        s[i] = xNew[i] - x[i];
                        y[i] = gNew[i] - g[i];
                    }

                    UpdateInverseHessian(h, s, y);
                    Array.Copy(xNew, x, n);
                    Array.Copy(gNew, g, n);
                    f = fNew;
                    break;
                }

                step *= 0.5;
            }

            if (!accepted)
            {
                // No better point along the direction: at the precision of the arithmetic this is the maximum when little
                // likelihood is left to gain.
                if (-slope * customers < 1e-3 || MaxAbs(g) < 1e-7)
                {
                    ToNatural(x, logCount, theta);
                    theta.CopyTo(estimates);
                    return evaluations;
                }

                return -1;
            }
        }

        return -1;
    }

    /// <summary>
    /// How far (in standard errors of the full data's fit, the Mahalanobis distance in the fitted scale) a refit may move
    /// from the full data's estimates. A regular resample's estimates lie within about 4 of them (the square root of a
    /// χ² quantile far in its tail); only a resample whose likelihood keeps rising towards the edge of the parameter space
    /// reaches 6.
    /// </summary>
    internal const double TrustRadius = 6;

    /// <summary>The largest t ≥ 0 with x + t·d within <paramref name="radius"/> of <paramref name="origin"/> in the metric <paramref name="precision"/> (0 when x is on the edge and d points out).</summary>
    private static double StepToBoundary(double[,] precision, double[] origin, double[] x, double[] d, double radius)
    {
        var n = x.Length;
        double a = 0, b = 0, c = 0;
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                var p = precision[i, j];
                a += d[i] * p * d[j];
                b += (x[i] - origin[i]) * p * d[j];
                c += (x[i] - origin[i]) * p * (x[j] - origin[j]);
            }
        }

        if (!(a > 0))
        {
            return double.PositiveInfinity;
        }

        var discriminant = (b * b) - (a * (c - (radius * radius)));
        return discriminant <= 0 ? 0 : Math.Max(0, (-b + Math.Sqrt(discriminant)) / a);
    }

    /// <summary>The inverse of a symmetric positive definite matrix (row-major), or null when it is not.</summary>
    private static double[,]? Inverse(ImmutableArray<double> matrix, int n)
    {
        var a = new double[n, 2 * n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                a[i, j] = matrix[(i * n) + j];
            }

            a[i, n + i] = 1;
        }

        for (var col = 0; col < n; col++)
        {
            var pivot = col;
            for (var row = col + 1; row < n; row++)
            {
                if (Math.Abs(a[row, col]) > Math.Abs(a[pivot, col]))
                {
                    pivot = row;
                }
            }

            if (!(Math.Abs(a[pivot, col]) > 0))
            {
                return null;
            }

            for (var j = 0; j < 2 * n; j++)
            {
                (a[col, j], a[pivot, j]) = (a[pivot, j], a[col, j]);
            }

            var scale = 1 / a[col, col];
            for (var j = 0; j < 2 * n; j++)
            {
                a[col, j] *= scale;
            }

            for (var row = 0; row < n; row++)
            {
                if (row != col && a[row, col] != 0)
                {
                    var factor = a[row, col];
                    for (var j = 0; j < 2 * n; j++)
                    {
                        a[row, j] -= factor * a[col, j];
                    }
                }
            }
        }

        var inverse = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                inverse[i, j] = a[i, n + j];
            }
        }

        return inverse;
    }

    private static void ToNatural(double[] u, int logCount, double[] theta)
    {
        for (var i = 0; i < u.Length; i++)
        {
            theta[i] = i < logCount ? Math.Exp(u[i]) : u[i];
        }
    }

    /// <summary>
    /// The Hessian of the total log-likelihood in the fitted scale (central differences of the analytic gradient), its
    /// eigen-decomposition, and what it says: flat directions and boundaries from the data's own curvature, standard errors
    /// and the covariance from the penalised curvature (the penalty adds 2λN to every eigenvalue).
    /// </summary>
    private static Analysis Analyse(Problem problem, double[] u, int logCount, double[] centre, double lambda, double[] estimates)
    {
        var n = u.Length;
        var names = problem.Names;
        var information = new double[n, n];
        var plus = new double[n];
        var minus = new double[n];
        var finite = true;
        for (var j = 0; j < n; j++)
        {
            var step = 1e-5 * Math.Max(1, Math.Abs(u[j]));
            finite &= GradientInFittedScale(problem.Function, u, logCount, j, step, plus);
            finite &= GradientInFittedScale(problem.Function, u, logCount, j, -step, minus);
            for (var i = 0; i < n; i++)
            {
                information[i, j] = -(plus[i] - minus[i]) / (2 * step);
            }
        }

        for (var i = 0; i < n; i++)
        {
            for (var j = i + 1; j < n; j++)
            {
                information[i, j] = information[j, i] = (information[i, j] + information[j, i]) / 2;
            }
        }

        var issues = new List<FitIssue>();
        var boundary = new List<string>();
        for (var i = 0; i < logCount; i++)
        {
            if (Math.Abs(u[i] - centre[i]) > BoundaryLog)
            {
                boundary.Add(names[i]);
            }
        }

        if (boundary.Count > 0)
        {
            issues.Add(new FitIssue(
                FitIssueKind.ParameterAtBoundary,
                [.. boundary],
                problem.Model + ": " + string.Join(", ", boundary.Select(b => b + " = " + FitDiagnostics.Format(estimates[Array.IndexOf(names, b)]))) + " ran to the edge of the parameter range (more than 10⁶ times from the data's scale); the likelihood keeps improving that way, so the data cannot estimate it — consider a penalty (ClvFitOptions.Penalty)"));
        }

        var nanAll = Enumerable.Repeat(double.NaN, n).ToArray();
        var nanMatrix = Enumerable.Repeat(double.NaN, n * n).ToArray();
        if (!finite || !AllFinite(information))
        {
            issues.Add(new FitIssue(FitIssueKind.SingularHessian, [.. names], problem.Model + ": the Hessian is not finite at the estimates; no standard errors"));
            return new Analysis(issues, nanAll, nanMatrix, nanMatrix, double.NaN);
        }

        // The data's curvature: a direction along which the total log-likelihood changes by less than 0.005 over a unit
        // step in the fitted scale (a factor e in a parameter) is one the data do not determine. When an estimate runs
        // away, the optimiser stops where the mean gradient is below 10⁻⁹, and the curvature there is of the same order,
        // so a curvature below 10⁻⁷ per customer is flat too.
        var (values, vectors) = SymmetricEigen(information);
        var smallest = values.Min();
        var flatBelow = Math.Max(1e-2, 1e-7 * problem.Customers);
        for (var k = 0; k < n; k++)
        {
            if (values[k] < flatBelow)
            {
                var involved = Involved(vectors, k, names);
                var curved = values[k] > 0;
                issues.Add(new FitIssue(
                    !curved && lambda == 0 ? FitIssueKind.SingularHessian : FitIssueKind.FlatLikelihood,
                    [.. involved],
                    problem.Model + (curved ? ": the likelihood is flat along a combination of " : ": the likelihood does not curve down along a combination of ") + string.Join(", ", involved)
                        + " (curvature " + FitDiagnostics.Format(values[k]) + ")"
                        + (lambda > 0 ? "; the penalty, not the data, holds the estimates there" : "; the data cannot determine it — consider a penalty (ClvFitOptions.Penalty)")));
            }
        }

        // Standard errors from the penalised curvature (what was maximised).
        var penalised = (double[,])information.Clone();
        for (var i = 0; i < n; i++)
        {
            penalised[i, i] += 2 * lambda * problem.Customers;
        }

        var (pValues, pVectors) = SymmetricEigen(penalised);
        var largest = pValues.Max();
        var singular = pValues.Select((v, k) => (v, k)).Where(e => !(e.v > 1e-12 * largest) || !(e.v > 0)).Select(e => e.k).ToList();
        var working = new double[n * n];
        var errors = new double[n];
        var covariance = new double[n * n];
        if (singular.Count > 0)
        {
            var involved = singular.SelectMany(k => Involved(pVectors, k, names)).Distinct().ToList();
            if (!issues.Any(i => i.Kind == FitIssueKind.SingularHessian))
            {
                issues.Add(new FitIssue(FitIssueKind.SingularHessian, [.. involved], problem.Model + ": the Hessian is singular along a combination of " + string.Join(", ", involved) + "; their standard errors are NaN"));
            }

            for (var i = 0; i < n; i++)
            {
                errors[i] = involved.Contains(names[i]) ? double.NaN : 0;
            }
        }

        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                var sum = 0.0;
                for (var k = 0; k < n; k++)
                {
                    sum += pVectors[i, k] * pVectors[j, k] / pValues[k];
                }

                working[(i * n) + j] = singular.Count > 0 ? double.NaN : sum;
            }
        }

        for (var i = 0; i < n; i++)
        {
            var si = i < logCount ? estimates[i] : 1;
            if (!double.IsNaN(errors[i]))
            {
                var variance = 0.0;
                for (var k = 0; k < n; k++)
                {
                    // Directions the Hessian cannot resolve are left out (a pseudo-inverse) for the parameters not in them.
                    variance += singular.Contains(k) ? 0 : pVectors[i, k] * pVectors[i, k] / pValues[k];
                }

                errors[i] = si * Math.Sqrt(variance);
            }

            for (var j = 0; j < n; j++)
            {
                covariance[(i * n) + j] = si * (j < logCount ? estimates[j] : 1) * working[(i * n) + j];
            }
        }

        return new Analysis(issues, errors, covariance, working, smallest);
    }

    /// <summary>The parameters with a weight of at least 0.2 in eigenvector <paramref name="k"/>.</summary>
    private static List<string> Involved(double[,] vectors, int k, string[] names)
    {
        var list = new List<string>();
        for (var i = 0; i < names.Length; i++)
        {
            if (Math.Abs(vectors[i, k]) >= 0.2)
            {
                list.Add(names[i]);
            }
        }

        return list;
    }

    private static bool GradientInFittedScale(LogLikelihood logLikelihood, double[] u, int logCount, int j, double step, double[] result)
    {
        var theta = new double[u.Length];
        for (var i = 0; i < u.Length; i++)
        {
            var ui = u[i] + (i == j ? step : 0);
            theta[i] = i < logCount ? Math.Exp(ui) : ui;
        }

        var grad = new double[u.Length];
        double ll;
        try
        {
            ll = logLikelihood(theta, grad);
        }
        catch (ClvModelException)
        {
            return false;
        }

        for (var i = 0; i < u.Length; i++)
        {
            result[i] = (i < logCount ? theta[i] : 1) * grad[i];
        }

        return double.IsFinite(ll);
    }

    /// <summary>The eigenvalues and eigenvectors (columns) of a symmetric matrix by cyclic Jacobi rotations.</summary>
    internal static (double[] Values, double[,] Vectors) SymmetricEigen(double[,] matrix)
    {
        var n = matrix.GetLength(0);
        var a = (double[,])matrix.Clone();
        var v = Identity(n);
        for (var sweep = 0; sweep < 100; sweep++)
        {
            var off = 0.0;
            var scale = 0.0;
            for (var i = 0; i < n; i++)
            {
                scale += a[i, i] * a[i, i];
                for (var j = i + 1; j < n; j++)
                {
                    off += a[i, j] * a[i, j];
                }
            }

            if (off <= 1e-30 * Math.Max(scale, 1e-300))
            {
                break;
            }

            for (var p = 0; p < n; p++)
            {
                for (var q = p + 1; q < n; q++)
                {
                    if (a[p, q] == 0)
                    {
                        continue;
                    }

                    var tau = (a[q, q] - a[p, p]) / (2 * a[p, q]);
                    var t = Math.Sign(tau == 0 ? 1 : tau) / (Math.Abs(tau) + Math.Sqrt(1 + (tau * tau)));
                    var c = 1 / Math.Sqrt(1 + (t * t));
                    var s = t * c;
                    for (var k = 0; k < n; k++)
                    {
                        var akp = a[k, p];
                        var akq = a[k, q];
                        a[k, p] = (c * akp) - (s * akq);
                        a[k, q] = (s * akp) + (c * akq);
                    }

                    for (var k = 0; k < n; k++)
                    {
                        var apk = a[p, k];
                        var aqk = a[q, k];
                        a[p, k] = (c * apk) - (s * aqk);
                        a[q, k] = (s * apk) + (c * aqk);
                    }

                    for (var k = 0; k < n; k++)
                    {
                        var vkp = v[k, p];
                        var vkq = v[k, q];
                        v[k, p] = (c * vkp) - (s * vkq);
                        v[k, q] = (s * vkp) + (c * vkq);
                    }
                }
            }
        }

        var values = new double[n];
        for (var i = 0; i < n; i++)
        {
            values[i] = a[i, i];
        }

        return (values, v);
    }

    private static bool AllFinite(double[,] m)
    {
        foreach (var e in m)
        {
            if (!double.IsFinite(e))
            {
                return false;
            }
        }

        return true;
    }

    private static void UpdateInverseHessian(double[,] h, double[] s, double[] y)
    {
        var sy = Dot(s, y);
        if (sy <= 1e-12 * Math.Sqrt(Dot(s, s) * Dot(y, y)))
        {
            return;
        }

        var n = s.Length;
        var hy = new double[n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                hy[i] += h[i, j] * y[j];
            }
        }

        var yhy = Dot(y, hy);
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                h[i, j] += (((sy + yhy) * s[i] * s[j]) / (sy * sy)) - (((hy[i] * s[j]) + (s[i] * hy[j])) / sy);
            }
        }
    }

    private static double[,] Identity(int n)
    {
        var m = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            m[i, i] = 1;
        }

        return m;
    }

    private static double Dot(double[] a, double[] b)
    {
        var sum = 0.0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    private static double MaxAbs(double[] v) => v.Max(e => Math.Abs(e));

    /// <summary>A likelihood to maximise.</summary>
    /// <param name="Model">The model's name, for messages.</param>
    /// <param name="Names">The parameters' names.</param>
    /// <param name="Function">The total log-likelihood and its gradient in the natural parameters.</param>
    /// <param name="Start">The starting point, natural scale.</param>
    /// <param name="Customers">Σ weights.</param>
    internal sealed record Problem(string Model, string[] Names, LogLikelihood Function, double[] Start, double Customers)
    {
        /// <summary>The natural scale of each log-scale parameter (the penalty's centre), or <see langword="null"/> for 1 each.</summary>
        public double[]? Scales { get; init; }

        /// <summary>How many leading parameters are positive and fitted on the log scale; −1 for all.</summary>
        public int LogScaleCount { get; init; } = -1;
    }

    private sealed record Analysis(List<FitIssue> Issues, double[] StandardErrors, double[] Covariance, double[] WorkingCovariance, double SmallestCurvature);
}
