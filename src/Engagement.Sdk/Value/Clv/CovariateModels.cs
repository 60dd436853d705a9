using System.Collections.Immutable;

namespace Engagement.Sdk.Value.Clv;

/// <summary>
/// Customers' calibration histories with time-invariant covariates (gender, acquisition channel, region, a score…): one
/// vector for the purchase process and one for the drop-out process (the same columns may appear in both). Customers with
/// the same covariate values are grouped and their identical histories merged, so categorical covariates fit as fast as the
/// plain models.
/// </summary>
public sealed class CovariateRfmData
{
    private CovariateRfmData(ImmutableArray<string> purchase, ImmutableArray<string> dropout, List<Group> groups, double totalWeight, RfmData all)
    {
        PurchaseCovariates = purchase;
        DropoutCovariates = dropout;
        Groups = groups;
        TotalWeight = totalWeight;
        WithoutCovariates = all;
    }

    /// <summary>The names of the covariates of the purchase process, in order.</summary>
    public ImmutableArray<string> PurchaseCovariates { get; }

    /// <summary>The names of the covariates of the drop-out process, in order.</summary>
    public ImmutableArray<string> DropoutCovariates { get; }

    /// <summary>The number of customers (Σ weights).</summary>
    public double TotalWeight { get; }

    /// <summary>The number of distinct covariate vectors.</summary>
    public int DistinctCovariateVectors => Groups.Count;

    /// <summary>The same customers without their covariates: the data of the nested model.</summary>
    public RfmData WithoutCovariates { get; }

    internal List<Group> Groups { get; }

    /// <summary>Builds the data, validating every customer.</summary>
    /// <param name="purchaseCovariates">The names of the purchase-process covariates (may be empty).</param>
    /// <param name="dropoutCovariates">The names of the drop-out-process covariates (may be empty).</param>
    /// <param name="customers">Each customer's id, history (x, tₓ, T) and covariate values, in the order of the names.</param>
    /// <returns>The data.</returns>
    /// <exception cref="EngagementValidationException">A name is empty or repeated, or a customer's history or covariate breaks its rule; the exception names the customer.</exception>
    public static CovariateRfmData Create(
        IReadOnlyList<string> purchaseCovariates,
        IReadOnlyList<string> dropoutCovariates,
        IEnumerable<(string CustomerId, double X, double Tx, double T, double[] Purchase, double[] Dropout)> customers)
    {
        ArgumentNullException.ThrowIfNull(purchaseCovariates);
        ArgumentNullException.ThrowIfNull(dropoutCovariates);
        ArgumentNullException.ThrowIfNull(customers);
        RequireNames(purchaseCovariates, "purchaseCovariates");
        RequireNames(dropoutCovariates, "dropoutCovariates");
        var groups = new Dictionary<Key, (double[] Purchase, double[] Dropout, List<(double, double, double, double)> Rows)>();
        var all = new List<(double, double, double, double)>();
        var index = 0;
        foreach (var (id, x, tx, t, purchase, dropout) in customers)
        {
            var who = string.IsNullOrEmpty(id) ? $"customers[{index}]" : $"customer '{id}'";
            PredictionInputs.History(x, tx, t, who + ".x", who + ".tx", who + ".T");
            RequireValues(purchase, purchaseCovariates, who);
            RequireValues(dropout, dropoutCovariates, who);
            var key = new Key([.. purchase, .. dropout]);
            if (!groups.TryGetValue(key, out var group))
            {
                group = ([.. purchase], [.. dropout], []);
                groups.Add(key, group);
            }

            group.Rows.Add((x, tx, t, 1));
            all.Add((x, tx, t, 1));
            index++;
        }

        var list = groups.Values.Select(g => new Group(g.Purchase, g.Dropout, RfmData.Create(g.Rows))).ToList();
        return new CovariateRfmData([.. purchaseCovariates], [.. dropoutCovariates], list, all.Count, RfmData.Create(all));
    }

    private static void RequireNames(IReadOnlyList<string> names, string field)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(names[i]))
            {
                throw new EngagementValidationException($"{field}[{i}]", names[i], "must be a non-empty covariate name");
            }

            for (var j = 0; j < i; j++)
            {
                if (names[j] == names[i])
                {
                    throw new EngagementValidationException($"{field}[{i}]", names[i], "must not repeat another covariate's name");
                }
            }
        }
    }

    private static void RequireValues(double[] values, IReadOnlyList<string> names, string who)
    {
        if (values is null || values.Length != names.Count)
        {
            throw new EngagementValidationException(who + ".covariates", values?.Length ?? 0, $"must hold one value per covariate ({names.Count}: {string.Join(", ", names)})");
        }

        for (var i = 0; i < values.Length; i++)
        {
            if (!double.IsFinite(values[i]))
            {
                throw new EngagementValidationException($"{who}.{names[i]}", values[i], "must be a finite number");
            }
        }
    }

    /// <summary>Customers sharing one covariate vector.</summary>
    internal sealed record Group(double[] Purchase, double[] Dropout, RfmData Data);

    private sealed class Key(double[] values) : IEquatable<Key>
    {
        private readonly double[] _values = values;

        public bool Equals(Key? other) => other is not null && _values.AsSpan().SequenceEqual(other._values);

        public override bool Equals(object? obj) => Equals(obj as Key);

        public override int GetHashCode()
        {
            var hash = new HashCode();
            foreach (var v in _values)
            {
                hash.Add(v);
            }

            return hash.ToHashCode();
        }
    }
}

/// <summary>
/// The Pareto/NBD model with time-invariant covariates (Fader and Hardie 2007, note 019; as in CLVTools): customer i's
/// purchase-rate distribution has rate αᵢ = α₀ exp(−γᵀzᵢ) and their death-rate distribution βᵢ = β₀ exp(−δᵀwᵢ), r and s
/// shared. A positive γ raises the expected purchase rate r/αᵢ; a positive δ raises the expected death rate s/βᵢ (shorter
/// lifetimes). Every prediction is that of <see cref="ForCustomer"/>'s plain model.
/// </summary>
public sealed class ParetoNbdCovariateModel
{
    private ParetoNbdCovariateModel(double r, double alpha, double s, double beta, ImmutableArray<string> purchaseNames, ImmutableArray<double> purchase, ImmutableArray<string> dropoutNames, ImmutableArray<double> dropout, ClvFit? fit)
    {
        (R, Alpha, S, Beta) = (r, alpha, s, beta);
        (PurchaseCovariates, PurchaseCoefficients, DropoutCovariates, DropoutCoefficients) = (purchaseNames, purchase, dropoutNames, dropout);
        FitResult = fit;
    }

    /// <summary>r: the shape of the purchase-rate distribution.</summary>
    public double R { get; }

    /// <summary>α₀: the purchase-rate distribution's rate for a customer whose covariates are all 0.</summary>
    public double Alpha { get; }

    /// <summary>s: the shape of the death-rate distribution.</summary>
    public double S { get; }

    /// <summary>β₀: the death-rate distribution's rate for a customer whose covariates are all 0.</summary>
    public double Beta { get; }

    /// <summary>The purchase covariates' names.</summary>
    public ImmutableArray<string> PurchaseCovariates { get; }

    /// <summary>γ: one coefficient per purchase covariate.</summary>
    public ImmutableArray<double> PurchaseCoefficients { get; }

    /// <summary>The drop-out covariates' names.</summary>
    public ImmutableArray<string> DropoutCovariates { get; }

    /// <summary>δ: one coefficient per drop-out covariate.</summary>
    public ImmutableArray<double> DropoutCoefficients { get; }

    /// <summary>The fit, when fitted: parameters r, alpha, s, beta, then <c>purchase:NAME</c> and <c>dropout:NAME</c> coefficients.</summary>
    public ClvFit? FitResult { get; }

    /// <summary>A model with given parameters.</summary>
    /// <param name="r">r &gt; 0.</param>
    /// <param name="alpha">α₀ &gt; 0.</param>
    /// <param name="s">s &gt; 0.</param>
    /// <param name="beta">β₀ &gt; 0.</param>
    /// <param name="purchase">The purchase covariates' names and coefficients.</param>
    /// <param name="dropout">The drop-out covariates' names and coefficients.</param>
    /// <returns>The model.</returns>
    /// <exception cref="EngagementValidationException">A parameter or coefficient breaks its rule.</exception>
    public static ParetoNbdCovariateModel FromParameters(double r, double alpha, double s, double beta, IReadOnlyList<(string Name, double Coefficient)> purchase, IReadOnlyList<(string Name, double Coefficient)> dropout)
    {
        ModelParameters.RequirePositive(("r", r), ("alpha", alpha), ("s", s), ("beta", beta));
        CovariateParameters.RequireCoefficients(purchase, "purchase");
        CovariateParameters.RequireCoefficients(dropout, "dropout");
        return new ParetoNbdCovariateModel(r, alpha, s, beta, [.. purchase.Select(p => p.Name)], [.. purchase.Select(p => p.Coefficient)], [.. dropout.Select(p => p.Name)], [.. dropout.Select(p => p.Coefficient)], null);
    }

    /// <summary>Fits the model by maximum likelihood, starting from the fit without covariates.</summary>
    /// <param name="data">The customers and their covariates.</param>
    /// <param name="options">The fitting options (a penalty also shrinks the coefficients towards 0); <see langword="null"/> for the defaults.</param>
    /// <returns>The fitted model.</returns>
    /// <exception cref="ClvModelException">The data cannot identify the model.</exception>
    public static ParetoNbdCovariateModel Fit(CovariateRfmData data, ClvFitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var baseline = ParetoNbdModel.Fit(data.WithoutCovariates, options);
        var (kp, kd) = (data.PurchaseCovariates.Length, data.DropoutCovariates.Length);
        var names = new[] { "r", "alpha", "s", "beta" }.Concat(data.PurchaseCovariates.Select(n => "purchase:" + n)).Concat(data.DropoutCovariates.Select(n => "dropout:" + n)).ToArray();
        var start = new double[4 + kp + kd];
        (start[0], start[1], start[2], start[3]) = (baseline.R, baseline.Alpha, baseline.S, baseline.Beta);
        var meanT = Math.Max(data.WithoutCovariates.MeanAge, 1e-3);
        var fit = MaximumLikelihood.Fit(
            new MaximumLikelihood.Problem("Pareto/NBD with covariates", names, (p, g) => LogLikelihood(p, data, g), start, data.TotalWeight) { Scales = [1, meanT, 1, meanT], LogScaleCount = 4 },
            options);
        var v = fit.Values;
        return new ParetoNbdCovariateModel(v[0], v[1], v[2], v[3], data.PurchaseCovariates, [.. v.Skip(4).Take(kp)], data.DropoutCovariates, [.. v.Skip(4 + kp)], fit);
    }

    /// <summary>The total log-likelihood at (r, α₀, s, β₀, γ…, δ…) and its gradient.</summary>
    /// <param name="parameters">r, α₀, s, β₀, then the purchase and the drop-out coefficients.</param>
    /// <param name="data">The data.</param>
    /// <param name="gradient">Receives the gradient; may be empty.</param>
    /// <returns>The log-likelihood.</returns>
    public static double LogLikelihood(ReadOnlySpan<double> parameters, CovariateRfmData data, Span<double> gradient)
    {
        ArgumentNullException.ThrowIfNull(data);
        var (kp, kd) = (data.PurchaseCovariates.Length, data.DropoutCovariates.Length);
        var p = parameters.ToArray();
        return CovariateParameters.SumOverGroups(data, p.Length, gradient, (group, grad) =>
        {
            var alpha = p[1] * Math.Exp(-CovariateParameters.Dot(p, 4, group.Purchase));
            var beta = p[3] * Math.Exp(-CovariateParameters.Dot(p, 4 + kp, group.Dropout));
            Span<double> g = stackalloc double[4];
            var ll = ParetoNbdModel.LogLikelihood([p[0], alpha, p[2], beta], group.Data, g);
            grad[0] += g[0];
            grad[1] += g[1] * alpha / p[1];
            grad[2] += g[2];
            grad[3] += g[3] * beta / p[3];
            for (var k = 0; k < kp; k++)
            {
                grad[4 + k] -= g[1] * alpha * group.Purchase[k];
            }

            for (var k = 0; k < kd; k++)
            {
                grad[4 + kp + k] -= g[3] * beta * group.Dropout[k];
            }

            return ll;
        });
    }

    /// <summary>The plain Pareto/NBD model of a customer with these covariate values: (r, α₀ e^(−γᵀz), s, β₀ e^(−δᵀw)).</summary>
    /// <param name="purchase">The purchase covariates, in the order of <see cref="PurchaseCovariates"/>.</param>
    /// <param name="dropout">The drop-out covariates, in the order of <see cref="DropoutCovariates"/>.</param>
    /// <returns>The customer's model; every prediction is available on it.</returns>
    /// <exception cref="EngagementValidationException">A vector has the wrong length or a value is not finite.</exception>
    public ParetoNbdModel ForCustomer(ReadOnlySpan<double> purchase, ReadOnlySpan<double> dropout)
    {
        CovariateParameters.RequireVector(purchase, PurchaseCovariates, "purchase");
        CovariateParameters.RequireVector(dropout, DropoutCovariates, "dropout");
        return ParetoNbdModel.FromParameters(R, Alpha * Math.Exp(-CovariateParameters.Dot(PurchaseCoefficients.AsSpan(), purchase)), S, Beta * Math.Exp(-CovariateParameters.Dot(DropoutCoefficients.AsSpan(), dropout)));
    }

    /// <summary>Simulates customers with the given covariates, each observed for an age drawn uniformly from [minAge, maxAge].</summary>
    /// <param name="customers">Each customer's purchase and drop-out covariates.</param>
    /// <param name="minAge">The shortest observation.</param>
    /// <param name="maxAge">The longest observation.</param>
    /// <param name="seed">The random seed.</param>
    /// <returns>The data, customers named c0, c1, ….</returns>
    public CovariateRfmData Simulate(IReadOnlyList<(double[] Purchase, double[] Dropout)> customers, double minAge, double maxAge, int seed)
    {
        ArgumentNullException.ThrowIfNull(customers);
        var random = new Random(seed);
        var rows = new List<(string, double, double, double, double[], double[])>(customers.Count);
        for (var i = 0; i < customers.Count; i++)
        {
            var (purchase, dropout) = customers[i];
            var age = minAge + (random.NextDouble() * (maxAge - minAge));
            var (x, tx) = ForCustomer(purchase, dropout).SimulateOne(random, age, false);
            rows.Add(("c" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), x, tx, age, purchase, dropout));
        }

        return CovariateRfmData.Create(PurchaseCovariates, DropoutCovariates, rows);
    }
}

/// <summary>
/// The BG/NBD model with time-invariant covariates: customer i's purchase-rate distribution has rate
/// αᵢ = α₀ exp(−γᵀzᵢ), and their drop-out probability is Beta(aᵢ, bᵢ) with aᵢ = a₀ exp(γₐᵀwᵢ) and bᵢ = b₀ exp(γ_bᵀwᵢ), r
/// shared. A positive γ raises the purchase rate; separate coefficients for a and b let a covariate move the mean drop-out
/// probability aᵢ/(aᵢ + bᵢ) as well as its spread (CLVTools uses one vector for both, which keeps the mean fixed).
/// Every prediction is that of <see cref="ForCustomer"/>'s plain model.
/// </summary>
public sealed class BgNbdCovariateModel
{
    private BgNbdCovariateModel(double r, double alpha, double a, double b, ImmutableArray<string> purchaseNames, ImmutableArray<double> purchase, ImmutableArray<string> dropoutNames, ImmutableArray<double> dropoutA, ImmutableArray<double> dropoutB, ClvFit? fit)
    {
        (R, Alpha, A, B) = (r, alpha, a, b);
        (PurchaseCovariates, PurchaseCoefficients, DropoutCovariates, DropoutACoefficients, DropoutBCoefficients) = (purchaseNames, purchase, dropoutNames, dropoutA, dropoutB);
        FitResult = fit;
    }

    /// <summary>r: the shape of the purchase-rate distribution.</summary>
    public double R { get; }

    /// <summary>α₀: the purchase-rate distribution's rate for a customer whose covariates are all 0.</summary>
    public double Alpha { get; }

    /// <summary>a₀: the first shape of the drop-out probability for a customer whose covariates are all 0.</summary>
    public double A { get; }

    /// <summary>b₀: the second shape of the drop-out probability for a customer whose covariates are all 0.</summary>
    public double B { get; }

    /// <summary>The purchase covariates' names.</summary>
    public ImmutableArray<string> PurchaseCovariates { get; }

    /// <summary>γ: one coefficient per purchase covariate.</summary>
    public ImmutableArray<double> PurchaseCoefficients { get; }

    /// <summary>The drop-out covariates' names.</summary>
    public ImmutableArray<string> DropoutCovariates { get; }

    /// <summary>γₐ: one coefficient per drop-out covariate, on a.</summary>
    public ImmutableArray<double> DropoutACoefficients { get; }

    /// <summary>γ_b: one coefficient per drop-out covariate, on b.</summary>
    public ImmutableArray<double> DropoutBCoefficients { get; }

    /// <summary>The fit, when fitted: parameters r, alpha, a, b, then <c>purchase:NAME</c>, <c>dropout.a:NAME</c> and <c>dropout.b:NAME</c> coefficients.</summary>
    public ClvFit? FitResult { get; }

    /// <summary>A model with given parameters.</summary>
    /// <param name="r">r &gt; 0.</param>
    /// <param name="alpha">α₀ &gt; 0.</param>
    /// <param name="a">a₀ &gt; 0.</param>
    /// <param name="b">b₀ &gt; 0.</param>
    /// <param name="purchase">The purchase covariates' names and coefficients.</param>
    /// <param name="dropout">The drop-out covariates' names and their coefficients on a and on b.</param>
    /// <returns>The model.</returns>
    /// <exception cref="EngagementValidationException">A parameter or coefficient breaks its rule.</exception>
    public static BgNbdCovariateModel FromParameters(double r, double alpha, double a, double b, IReadOnlyList<(string Name, double Coefficient)> purchase, IReadOnlyList<(string Name, double OnA, double OnB)> dropout)
    {
        ModelParameters.RequirePositive(("r", r), ("alpha", alpha), ("a", a), ("b", b));
        CovariateParameters.RequireCoefficients(purchase, "purchase");
        CovariateParameters.RequireCoefficients([.. dropout.Select(d => (d.Name, d.OnA))], "dropout");
        CovariateParameters.RequireCoefficients([.. dropout.Select(d => (d.Name, d.OnB))], "dropout");
        return new BgNbdCovariateModel(r, alpha, a, b, [.. purchase.Select(p => p.Name)], [.. purchase.Select(p => p.Coefficient)], [.. dropout.Select(d => d.Name)], [.. dropout.Select(d => d.OnA)], [.. dropout.Select(d => d.OnB)], null);
    }

    /// <summary>Fits the model by maximum likelihood, starting from the fit without covariates.</summary>
    /// <param name="data">The customers and their covariates.</param>
    /// <param name="options">The fitting options (a penalty also shrinks the coefficients towards 0); <see langword="null"/> for the defaults.</param>
    /// <returns>The fitted model.</returns>
    /// <exception cref="ClvModelException">The data cannot identify the model.</exception>
    public static BgNbdCovariateModel Fit(CovariateRfmData data, ClvFitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var baseline = BgNbdModel.Fit(data.WithoutCovariates, options: options);
        var (kp, kd) = (data.PurchaseCovariates.Length, data.DropoutCovariates.Length);
        var names = new[] { "r", "alpha", "a", "b" }
            .Concat(data.PurchaseCovariates.Select(n => "purchase:" + n))
            .Concat(data.DropoutCovariates.Select(n => "dropout.a:" + n))
            .Concat(data.DropoutCovariates.Select(n => "dropout.b:" + n)).ToArray();
        var start = new double[4 + kp + (2 * kd)];
        (start[0], start[1], start[2], start[3]) = (baseline.R, baseline.Alpha, baseline.A, baseline.B);
        var meanT = Math.Max(data.WithoutCovariates.MeanAge, 1e-3);
        var fit = MaximumLikelihood.Fit(
            new MaximumLikelihood.Problem("BG/NBD with covariates", names, (p, g) => LogLikelihood(p, data, g), start, data.TotalWeight) { Scales = [1, meanT, 1, 1], LogScaleCount = 4 },
            options);
        var v = fit.Values;
        return new BgNbdCovariateModel(v[0], v[1], v[2], v[3], data.PurchaseCovariates, [.. v.Skip(4).Take(kp)], data.DropoutCovariates, [.. v.Skip(4 + kp).Take(kd)], [.. v.Skip(4 + kp + kd)], fit);
    }

    /// <summary>The total log-likelihood at (r, α₀, a₀, b₀, γ…, γₐ…, γ_b…) and its gradient.</summary>
    /// <param name="parameters">r, α₀, a₀, b₀, then the purchase, the a and the b coefficients.</param>
    /// <param name="data">The data.</param>
    /// <param name="gradient">Receives the gradient; may be empty.</param>
    /// <returns>The log-likelihood.</returns>
    public static double LogLikelihood(ReadOnlySpan<double> parameters, CovariateRfmData data, Span<double> gradient)
    {
        ArgumentNullException.ThrowIfNull(data);
        var (kp, kd) = (data.PurchaseCovariates.Length, data.DropoutCovariates.Length);
        var p = parameters.ToArray();
        return CovariateParameters.SumOverGroups(data, p.Length, gradient, (group, grad) =>
        {
            var alpha = p[1] * Math.Exp(-CovariateParameters.Dot(p, 4, group.Purchase));
            var a = p[2] * Math.Exp(CovariateParameters.Dot(p, 4 + kp, group.Dropout));
            var b = p[3] * Math.Exp(CovariateParameters.Dot(p, 4 + kp + kd, group.Dropout));
            Span<double> g = stackalloc double[4];
            var ll = BgNbdModel.LogLikelihood([p[0], alpha, a, b], group.Data, g);
            grad[0] += g[0];
            grad[1] += g[1] * alpha / p[1];
            grad[2] += g[2] * a / p[2];
            grad[3] += g[3] * b / p[3];
            for (var k = 0; k < kp; k++)
            {
                grad[4 + k] -= g[1] * alpha * group.Purchase[k];
            }

            for (var k = 0; k < kd; k++)
            {
                grad[4 + kp + k] += g[2] * a * group.Dropout[k];
                grad[4 + kp + kd + k] += g[3] * b * group.Dropout[k];
            }

            return ll;
        });
    }

    /// <summary>The plain BG/NBD model of a customer with these covariate values: (r, α₀ e^(−γᵀz), a₀ e^(γₐᵀw), b₀ e^(γ_bᵀw)).</summary>
    /// <param name="purchase">The purchase covariates, in the order of <see cref="PurchaseCovariates"/>.</param>
    /// <param name="dropout">The drop-out covariates, in the order of <see cref="DropoutCovariates"/>.</param>
    /// <returns>The customer's model; every prediction is available on it.</returns>
    /// <exception cref="EngagementValidationException">A vector has the wrong length or a value is not finite.</exception>
    public BgNbdModel ForCustomer(ReadOnlySpan<double> purchase, ReadOnlySpan<double> dropout)
    {
        CovariateParameters.RequireVector(purchase, PurchaseCovariates, "purchase");
        CovariateParameters.RequireVector(dropout, DropoutCovariates, "dropout");
        return BgNbdModel.FromParameters(
            R,
            Alpha * Math.Exp(-CovariateParameters.Dot(PurchaseCoefficients.AsSpan(), purchase)),
            A * Math.Exp(CovariateParameters.Dot(DropoutACoefficients.AsSpan(), dropout)),
            B * Math.Exp(CovariateParameters.Dot(DropoutBCoefficients.AsSpan(), dropout)));
    }

    /// <summary>Simulates customers with the given covariates, each observed for an age drawn uniformly from [minAge, maxAge].</summary>
    /// <param name="customers">Each customer's purchase and drop-out covariates.</param>
    /// <param name="minAge">The shortest observation.</param>
    /// <param name="maxAge">The longest observation.</param>
    /// <param name="seed">The random seed.</param>
    /// <returns>The data, customers named c0, c1, ….</returns>
    public CovariateRfmData Simulate(IReadOnlyList<(double[] Purchase, double[] Dropout)> customers, double minAge, double maxAge, int seed)
    {
        ArgumentNullException.ThrowIfNull(customers);
        var random = new Random(seed);
        var rows = new List<(string, double, double, double, double[], double[])>(customers.Count);
        for (var i = 0; i < customers.Count; i++)
        {
            var (purchase, dropout) = customers[i];
            var age = minAge + (random.NextDouble() * (maxAge - minAge));
            var (x, tx) = ForCustomer(purchase, dropout).SimulateOne(random, age, false);
            rows.Add(("c" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), x, tx, age, purchase, dropout));
        }

        return CovariateRfmData.Create(PurchaseCovariates, DropoutCovariates, rows);
    }
}

/// <summary>What the covariate models share.</summary>
internal static class CovariateParameters
{
    public static double Dot(ReadOnlySpan<double> coefficients, ReadOnlySpan<double> values)
    {
        var sum = 0.0;
        for (var i = 0; i < values.Length; i++)
        {
            sum += coefficients[i] * values[i];
        }

        return sum;
    }

    public static double Dot(double[] parameters, int offset, double[] values) => Dot(parameters.AsSpan(offset, values.Length), values);

    public static void RequireCoefficients(IReadOnlyList<(string Name, double Coefficient)> coefficients, string field)
    {
        ArgumentNullException.ThrowIfNull(coefficients);
        for (var i = 0; i < coefficients.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(coefficients[i].Name))
            {
                throw new EngagementValidationException($"{field}[{i}].Name", coefficients[i].Name, "must be a non-empty covariate name");
            }

            if (!double.IsFinite(coefficients[i].Coefficient))
            {
                throw new EngagementValidationException($"{field}[{i}].Coefficient", coefficients[i].Coefficient, "must be a finite number");
            }
        }
    }

    public static void RequireVector(ReadOnlySpan<double> values, ImmutableArray<string> names, string field)
    {
        if (values.Length != names.Length)
        {
            throw new EngagementValidationException(field, values.Length, $"must hold one value per covariate ({names.Length}: {string.Join(", ", names)})");
        }

        for (var i = 0; i < values.Length; i++)
        {
            if (!double.IsFinite(values[i]))
            {
                throw new EngagementValidationException($"{field}.{names[i]}", values[i], "must be a finite number");
            }
        }
    }

    /// <summary>Σ over the covariate groups of a group's log-likelihood, each group's gradient written by <paramref name="group"/>; in parallel over groups, added in group order.</summary>
    public static double SumOverGroups(CovariateRfmData data, int width, Span<double> gradient, Func<CovariateRfmData.Group, double[], double> group)
    {
        var groups = data.Groups;
        var values = new double[groups.Count];
        var gradients = new double[groups.Count][];
        void One(int i)
        {
            gradients[i] = new double[width];
            values[i] = group(groups[i], gradients[i]);
        }

        if (groups.Count > 64)
        {
            ClvParallel.For(0, groups.Count, One);
        }
        else
        {
            for (var i = 0; i < groups.Count; i++)
            {
                One(i);
            }
        }

        var total = 0.0;
        if (gradient.Length >= width)
        {
            gradient[..width].Clear();
        }

        for (var i = 0; i < groups.Count; i++)
        {
            total += values[i];
            if (gradient.Length >= width)
            {
                for (var k = 0; k < width; k++)
                {
                    gradient[k] += gradients[i][k];
                }
            }
        }

        return total;
    }
}
