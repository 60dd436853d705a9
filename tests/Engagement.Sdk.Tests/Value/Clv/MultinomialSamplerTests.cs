using Engagement.Sdk.Value.Clv;

namespace Engagement.Sdk.Tests.Value.Clv;

/// <summary>
/// The resample sampler: Poisson counts on the light rows corrected to the exact total, conditional binomials on the heavy
/// rows. Its counts must have the multinomial's distribution, not the Poisson's.
/// </summary>
public sealed class MultinomialSamplerTests
{
    [Fact]
    public void Draw_ManyLightRows_HasTheMultinomialMarginalsAndSubsetVariance()
    {
        // 2,000 rows of one customer, 300 of three, two heavy rows of 400 and 1,000: N = 4,300 customers.
        var weights = Enumerable.Repeat(1.0, 2_000).Concat(Enumerable.Repeat(3.0, 300)).Concat([400.0, 1_000.0]).ToArray();
        var total = weights.Sum();
        var sampler = new MultinomialSampler(weights, total, (long)total);
        var counts = new double[weights.Length];
        var histogram = new double[4];
        double sum = 0, sumSquares = 0, heavy = 0;
        const int Resamples = 4_000;
        for (var k = 0; k < Resamples; k++)
        {
            sampler.Draw(new Random(Resampling.Seed(7, k, 0)), counts);
            counts.Sum().Should().Be(total);
            counts.Should().OnlyContain(c => c >= 0 && c == Math.Floor(c));
            for (var i = 0; i < 2_000; i++)
            {
                histogram[Math.Min(3, (int)counts[i])]++;
            }

            // Rows 1,000..2,149: a subset across the one- and three-customer rows.
            var subset = counts.AsSpan(1_000, 1_150).ToArray().Sum();
            sum += subset;
            sumSquares += subset * subset;
            heavy += counts[^1];
        }

        // A one-customer row's count is Binomial(N, 1/N): P(0) = P(1) ≈ 0.3679, P(2) ≈ 0.1839.
        var n = total;
        var p0 = Math.Pow(1 - (1 / n), n);
        var p1 = n * (1 / n) * Math.Pow(1 - (1 / n), n - 1);
        var p2 = n * (n - 1) / 2 * Math.Pow(1 / n, 2) * Math.Pow(1 - (1 / n), n - 2);
        var cells = 2_000.0 * Resamples;
        (histogram[0] / cells).Should().BeApproximately(p0, 0.003);
        (histogram[1] / cells).Should().BeApproximately(p1, 0.003);
        (histogram[2] / cells).Should().BeApproximately(p2, 0.003);

        // The subset's total is Binomial(N, w_A/W): its variance N p (1 − p) is well below the Poisson's N p.
        var pA = (1_000 + (150 * 3.0)) / total;
        var mean = sum / Resamples;
        var variance = (sumSquares / Resamples) - (mean * mean);
        mean.Should().BeApproximately(n * pA, 4 * Math.Sqrt(n * pA * (1 - pA) / Resamples));
        variance.Should().BeApproximately(n * pA * (1 - pA), 0.1 * n * pA * (1 - pA));
        (heavy / Resamples).Should().BeApproximately(1_000, 4 * Math.Sqrt(1_000 * (1 - (1_000 / total)) / Resamples));
    }

    [Fact]
    public void Draw_SameSeed_GivesTheSameCounts()
    {
        var weights = Enumerable.Range(0, 500).Select(i => (double)(1 + (i % 7))).Concat([90.0]).ToArray();
        var sampler = new MultinomialSampler(weights, weights.Sum(), (long)weights.Sum());
        var (first, second) = (new double[weights.Length], new double[weights.Length]);

        sampler.Draw(new Random(42), first);
        sampler.Draw(new Random(42), second);

        second.Should().Equal(first);
        first.Should().NotEqual(weights, "a resample is not the data");
    }
}
