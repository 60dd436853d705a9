using System.Collections.Immutable;
using System.Diagnostics;

namespace Engagement.Sdk.Value.Clv;

/// <summary>How an optimisation went.</summary>
/// <param name="Iterations">BFGS iterations.</param>
/// <param name="Evaluations">Likelihood evaluations.</param>
/// <param name="GradientNorm">The largest absolute gradient component of the mean log-likelihood in log-parameters at the end.</param>
/// <param name="Converged">Whether the gradient fell below the tolerance.</param>
/// <param name="Elapsed">The wall-clock time of the fit.</param>
public sealed record FitDiagnostics(int Iterations, int Evaluations, double GradientNorm, bool Converged, TimeSpan Elapsed);

/// <summary>A fitted model's estimates.</summary>
/// <param name="Names">The parameters' names, in order.</param>
/// <param name="Values">The estimates.</param>
/// <param name="StandardErrors">Standard errors from the inverse Hessian of the total log-likelihood (delta method from log-parameters); NaN where the Hessian is singular.</param>
/// <param name="LogLikelihood">The total log-likelihood at the estimates, summed over customers.</param>
/// <param name="Customers">Σ weights of the data fitted.</param>
/// <param name="Diagnostics">How the optimisation went.</param>
public sealed record ClvFit(ImmutableArray<string> Names, ImmutableArray<double> Values, ImmutableArray<double> StandardErrors, double LogLikelihood, double Customers, FitDiagnostics Diagnostics)
{
    /// <summary>The estimate of one parameter by name.</summary>
    /// <param name="name">The name.</param>
    /// <returns>The value.</returns>
    public double this[string name] => Values[Names.IndexOf(name)];
}

/// <summary>Maximum-likelihood fitting over log-parameters with BFGS, a backtracking line search and analytic gradients.</summary>
internal static class MaximumLikelihood
{
    /// <summary>A total log-likelihood that writes its gradient in the natural parameters.</summary>
    public delegate double LogLikelihood(ReadOnlySpan<double> parameters, Span<double> gradient);

    public static ClvFit Fit(string model, string[] names, LogLikelihood logLikelihood, double[] start, double customers, double tolerance = 1e-9, int maxIterations = 1000)
    {
        var clock = Stopwatch.StartNew();
        var n = start.Length;
        var evaluations = 0;
        var theta = new double[n];
        var gradTheta = new double[n];

        double Objective(double[] u, double[] grad)
        {
            evaluations++;
            for (var i = 0; i < n; i++)
            {
                theta[i] = Math.Exp(u[i]);
            }

            var ll = logLikelihood(theta, gradTheta);
            if (!double.IsFinite(ll))
            {
                return double.PositiveInfinity;
            }

            for (var i = 0; i < n; i++)
            {
                grad[i] = -theta[i] * gradTheta[i] / customers;
            }

            return -ll / customers;
        }

        var x = start.Select(v => Math.Log(v)).ToArray();
        var g = new double[n];
        var f = Objective(x, g);
        if (!double.IsFinite(f))
        {
            throw new ClvModelException($"{model}: the log-likelihood is not finite at the starting point.");
        }

        var h = Identity(n);
        var iterations = 0;
        var converged = false;
        var xNew = new double[n];
        var gNew = new double[n];
        var direction = new double[n];
        for (; iterations < maxIterations; iterations++)
        {
            if (MaxAbs(g) < tolerance)
            {
                converged = true;
                break;
            }

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

            var norm = Math.Sqrt(Dot(direction, direction));
            var step = norm > 3 ? 3 / norm : 1.0;
            double fNew;
            var accepted = false;
            for (var tries = 0; tries < 60; tries++)
            {
                for (var i = 0; i < n; i++)
                {
                    xNew[i] = x[i] + (step * direction[i]);
                }

                fNew = Objective(xNew, gNew);
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

            if (!accepted || converged)
            {
                converged |= MaxAbs(g) < 1e-6;
                break;
            }
        }

        var estimates = x.Select(v => Math.Exp(v)).ToArray();
        var totalLl = logLikelihood(estimates, gradTheta);
        var errors = StandardErrors(logLikelihood, x, n);
        clock.Stop();
        Diagnostics.EngagementTelemetry.RecordFit(model, converged, clock.Elapsed);
        return new ClvFit([.. names], [.. estimates], [.. errors], totalLl, customers, new FitDiagnostics(iterations, evaluations, MaxAbs(g), converged, clock.Elapsed));
    }

    /// <summary>Standard errors by the delta method: the Hessian of the total log-likelihood in log-parameters by central differences of the analytic gradient.</summary>
    private static double[] StandardErrors(LogLikelihood logLikelihood, double[] u, int n)
    {
        var hessian = new double[n, n];
        var plus = new double[n];
        var minus = new double[n];
        var theta = new double[n];
        for (var j = 0; j < n; j++)
        {
            var step = 1e-5 * Math.Max(1, Math.Abs(u[j]));
            GradientInLog(logLikelihood, u, j, step, theta, plus);
            GradientInLog(logLikelihood, u, j, -step, theta, minus);
            for (var i = 0; i < n; i++)
            {
                hessian[i, j] = -(plus[i] - minus[i]) / (2 * step);
            }
        }

        for (var i = 0; i < n; i++)
        {
            for (var j = i + 1; j < n; j++)
            {
                hessian[i, j] = hessian[j, i] = (hessian[i, j] + hessian[j, i]) / 2;
            }
        }

        var inverse = Invert(hessian);
        var errors = new double[n];
        for (var i = 0; i < n; i++)
        {
            errors[i] = inverse is null || inverse[i, i] <= 0 ? double.NaN : Math.Exp(u[i]) * Math.Sqrt(inverse[i, i]);
        }

        return errors;
    }

    private static void GradientInLog(LogLikelihood logLikelihood, double[] u, int j, double step, double[] theta, double[] result)
    {
        for (var i = 0; i < u.Length; i++)
        {
            theta[i] = Math.Exp(u[i] + (i == j ? step : 0));
        }

        var grad = new double[u.Length];
        logLikelihood(theta, grad);
        for (var i = 0; i < u.Length; i++)
        {
            result[i] = theta[i] * grad[i];
        }
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

    private static double[,]? Invert(double[,] m)
    {
        var n = m.GetLength(0);
        var a = (double[,])m.Clone();
        var inv = Identity(n);
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

            if (Math.Abs(a[pivot, col]) < 1e-300)
            {
                return null;
            }

            for (var k = 0; k < n; k++)
            {
                (a[col, k], a[pivot, k]) = (a[pivot, k], a[col, k]);
                (inv[col, k], inv[pivot, k]) = (inv[pivot, k], inv[col, k]);
            }

            var d = a[col, col];
            for (var k = 0; k < n; k++)
            {
                a[col, k] /= d;
                inv[col, k] /= d;
            }

            for (var row = 0; row < n; row++)
            {
                if (row == col)
                {
                    continue;
                }

                var factor = a[row, col];
                for (var k = 0; k < n; k++)
                {
                    a[row, k] -= factor * a[col, k];
                    inv[row, k] -= factor * inv[col, k];
                }
            }
        }

        return inv;
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
}
