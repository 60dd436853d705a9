namespace Engagement.Sdk.Value.Clv;

/// <summary>
/// Exact draws of a multinomial resample: the counts of N draws with replacement over rows of probabilities wᵢ/W. Rows whose
/// expected count λᵢ = N wᵢ/W is at most <see cref="SmallMean"/> (the many rows of one or a few customers) are drawn by
/// Poissonisation, the rest (a few heavy rows) by conditional binomials:
/// <list type="number">
/// <item>the number of draws that fall on the light rows is N_S ~ Binomial(N, W_S/W), and the heavy rows share the rest by
/// binomials conditional on the rows before them (a multinomial splits into independent multinomials given the group totals);</item>
/// <item>each light row gets an independent Poisson(λᵢ) count by inversion from its e^(−λᵢ), computed once per sampler, so a
/// row costs one uniform and about λᵢ + 1 multiplications; given their total M these counts are Multinomial(M, wᵢ/W_S);</item>
/// <item>the total is then corrected to N_S exactly: when M &gt; N_S, M − N_S of the M drawn customers are removed uniformly
/// at random (a uniform subsample of a multinomial sample is multinomial); when M &lt; N_S, N_S − M further customers are
/// drawn over the light rows by the alias method. The correction is of the order of √N customers.</item>
/// </list>
/// Every step takes its randomness from the one seeded stream, in a fixed order, so a seed gives the same counts.
/// </summary>
internal sealed class MultinomialSampler
{
    /// <summary>The largest expected count of a row drawn by Poisson inversion.</summary>
    internal const double SmallMean = 30;

    private readonly double[] _weights;
    private readonly double _total;
    private readonly long _customers;
    private readonly int[] _light;
    private readonly int[] _heavy;
    private readonly double _lightMass;
    private readonly double[] _mean;
    private readonly double[] _zero;
    private readonly double[] _aliasProbability;
    private readonly int[] _alias;

    /// <summary>Prepares draws of <paramref name="customers"/> customers over rows of weights <paramref name="weights"/> (summing to <paramref name="total"/>).</summary>
    public MultinomialSampler(double[] weights, double total, long customers)
    {
        _weights = weights;
        _total = total;
        _customers = customers;
        var scale = total > 0 ? customers / total : 0;
        var light = new List<int>();
        var heavy = new List<int>();
        for (var i = 0; i < weights.Length; i++)
        {
            (weights[i] * scale <= SmallMean ? light : heavy).Add(i);
        }

        _light = [.. light];
        _heavy = [.. heavy];
        _mean = new double[_light.Length];
        _zero = new double[_light.Length];
        var cache = new Dictionary<double, double>();
        for (var j = 0; j < _light.Length; j++)
        {
            var w = weights[_light[j]];
            _lightMass += w;
            _mean[j] = w * scale;
            if (!cache.TryGetValue(w, out var zero))
            {
                cache[w] = zero = Math.Exp(-_mean[j]);
            }

            _zero[j] = zero;
        }

        (_aliasProbability, _alias) = Alias(_light.Select(i => weights[i]).ToArray());
    }

    /// <summary>Writes one resample's counts (one per row) into <paramref name="counts"/>.</summary>
    public void Draw(Random random, double[] counts)
    {
        Array.Clear(counts, 0, _weights.Length);
        if (_light.Length == 0)
        {
            ConditionalBinomials(random, _customers, _total, _heavy, counts);
            return;
        }

        var lightCustomers = _heavy.Length == 0 ? _customers : Resampling.Binomial(random, _customers, Math.Clamp(_lightMass / _total, 0, 1));
        ConditionalBinomials(random, _customers - lightCustomers, _total - _lightMass, _heavy, counts);

        long drawn = 0;
        for (var j = 0; j < _light.Length; j++)
        {
            var k = Poisson(random, _mean[j], _zero[j]);
            counts[_light[j]] = k;
            drawn += k;
        }

        if (drawn > lightCustomers)
        {
            Remove(random, counts, drawn, drawn - lightCustomers);
        }
        else
        {
            for (var extra = lightCustomers - drawn; extra > 0; extra--)
            {
                var j = random.Next(_light.Length);
                counts[_light[random.NextDouble() < _aliasProbability[j] ? j : _alias[j]]]++;
            }
        }
    }

    /// <summary>Poisson(λ) by inversion from P(0) = e^(−λ) (about λ + 1 steps).</summary>
    private static long Poisson(Random random, double mean, double zero)
    {
        var u = random.NextDouble();
        var probability = zero;
        long k = 0;
        while (u > probability)
        {
            u -= probability;
            k++;
            probability *= mean / k;
            if (probability <= 0)
            {
                break;
            }
        }

        return k;
    }

    /// <summary>Removes <paramref name="remove"/> of the <paramref name="drawn"/> customers on the light rows, a uniformly random subset (Floyd's sampling of distinct positions).</summary>
    private void Remove(Random random, double[] counts, long drawn, long remove)
    {
        var chosen = new HashSet<long>();
        for (var j = drawn - remove; j < drawn; j++)
        {
            var t = random.NextInt64(j + 1);
            chosen.Add(chosen.Contains(t) ? j : t);
        }

        var positions = chosen.ToArray();
        Array.Sort(positions);
        long before = 0;
        var next = 0;
        for (var j = 0; j < _light.Length && next < positions.Length; j++)
        {
            var row = _light[j];
            var end = before + (long)counts[row];
            while (next < positions.Length && positions[next] < end)
            {
                counts[row]--;
                next++;
            }

            before = end;
        }
    }

    /// <summary>The conditional binomials of <paramref name="customers"/> draws over <paramref name="rows"/> (of total weight <paramref name="mass"/>).</summary>
    private void ConditionalBinomials(Random random, long customers, double mass, int[] rows, double[] counts)
    {
        var remaining = customers;
        for (var j = 0; j < rows.Length; j++)
        {
            var i = rows[j];
            if (remaining == 0 || j == rows.Length - 1)
            {
                counts[i] = remaining;
                remaining = 0;
                continue;
            }

            var p = mass > 0 ? Math.Clamp(_weights[i] / mass, 0, 1) : 1;
            var drawn = Resampling.Binomial(random, remaining, p);
            counts[i] = drawn;
            remaining -= drawn;
            mass -= _weights[i];
        }
    }

    /// <summary>Walker's alias tables: row i is drawn with probability weight[i]/Σ weights.</summary>
    internal static (double[] Probability, int[] Alias) Alias(double[] weights)
    {
        var n = weights.Length;
        var probability = new double[n];
        var alias = new int[n];
        var total = weights.Sum();
        var scaled = weights.Select(w => total > 0 ? w * n / total : 1).ToArray();
        var small = new Stack<int>();
        var large = new Stack<int>();
        for (var i = 0; i < n; i++)
        {
            (scaled[i] < 1 ? small : large).Push(i);
        }

        while (small.Count > 0 && large.Count > 0)
        {
            var s = small.Pop();
            var l = large.Pop();
            probability[s] = scaled[s];
            alias[s] = l;
            scaled[l] += scaled[s] - 1;
            (scaled[l] < 1 ? small : large).Push(l);
        }

        foreach (var i in large.Concat(small))
        {
            probability[i] = 1;
        }

        return (probability, alias);
    }
}
