using System.Collections.Immutable;
using System.Globalization;

namespace Engagement.Sdk.Decisioning.Evaluation;

/// <summary>
/// A stochastic policy to evaluate offline: for each context, the probability of each arm, summing to 1. Immutable; build it
/// with <see cref="Builder"/>. Arms not listed for a context have probability 0.
/// </summary>
public sealed class EvaluationPolicy
{
    /// <summary>How far a context's probabilities may sum from 1.</summary>
    public const double SumTolerance = 1e-6;

    private readonly ImmutableDictionary<string, ImmutableDictionary<DecisionArm, double>> _byContext;

    private EvaluationPolicy(ImmutableDictionary<string, ImmutableDictionary<DecisionArm, double>> byContext) => _byContext = byContext;

    /// <summary>The contexts the policy covers.</summary>
    public IEnumerable<string> Contexts => _byContext.Keys;

    /// <summary>The probability of <paramref name="arm"/> in <paramref name="context"/>.</summary>
    /// <param name="context">The context.</param>
    /// <param name="arm">The arm.</param>
    /// <returns>The probability (0 for an arm not listed).</returns>
    /// <exception cref="EngagementValidationException">The policy does not cover <paramref name="context"/>.</exception>
    public double Probability(string context, DecisionArm arm)
        => Distribution(context).TryGetValue(arm, out var p) ? p : 0;

    /// <summary>Whether the policy covers <paramref name="context"/>.</summary>
    /// <param name="context">The context.</param>
    /// <returns><see langword="true"/> when it gives probabilities for it.</returns>
    public bool Covers(string context) => _byContext.ContainsKey(context);

    /// <summary>The arms the policy may choose in <paramref name="context"/> and their probabilities.</summary>
    /// <param name="context">The context.</param>
    /// <returns>The distribution.</returns>
    /// <exception cref="EngagementValidationException">The policy does not cover <paramref name="context"/>.</exception>
    public ImmutableDictionary<DecisionArm, double> Distribution(string context)
        => _byContext.TryGetValue(context, out var d) ? d : throw new EngagementValidationException("policy.context", context, "is not covered by the evaluation policy, but appears in the log");

    /// <summary>Accumulates a policy's probabilities and checks them at <see cref="Build"/>. Not thread-safe.</summary>
    public sealed class Builder
    {
        private readonly Dictionary<string, Dictionary<DecisionArm, double>> _byContext = new(StringComparer.Ordinal);

        /// <summary>Sets the probability of <paramref name="arm"/> in <paramref name="context"/>.</summary>
        /// <param name="context">The context.</param>
        /// <param name="arm">The arm.</param>
        /// <param name="probability">The probability, in [0, 1].</param>
        /// <returns>This builder.</returns>
        /// <exception cref="EngagementValidationException">The context or action is empty, the probability is outside [0, 1], or the arm was already set for the context.</exception>
        public Builder Set(string context, DecisionArm arm, double probability)
        {
            if (string.IsNullOrEmpty(context))
            {
                throw new EngagementValidationException(nameof(context), context, "must not be empty");
            }

            if (string.IsNullOrEmpty(arm.Action))
            {
                throw new EngagementValidationException("arm.Action", arm.Action, "must not be empty");
            }

            if (!(probability >= 0 && probability <= 1))
            {
                throw new EngagementValidationException(nameof(probability), probability, "must be in [0, 1]");
            }

            if (!_byContext.TryGetValue(context, out var arms))
            {
                arms = [];
                _byContext.Add(context, arms);
            }

            if (!arms.TryAdd(arm, probability))
            {
                throw new EngagementValidationException(nameof(arm), arm, $"is given twice for context '{context}'");
            }

            return this;
        }

        /// <summary>The policy.</summary>
        /// <returns>The policy.</returns>
        /// <exception cref="EngagementValidationException">No context was set, or a context's probabilities do not sum to 1 (within <see cref="SumTolerance"/>).</exception>
        public EvaluationPolicy Build()
        {
            if (_byContext.Count == 0)
            {
                throw new EngagementValidationException("policy", 0, "must give probabilities for at least one context");
            }

            foreach (var (context, arms) in _byContext)
            {
                var sum = 0.0;
                foreach (var p in arms.Values)
                {
                    sum += p;
                }

                if (Math.Abs(sum - 1) > SumTolerance)
                {
                    throw new EngagementValidationException($"policy[{context}]", sum.ToString("R", CultureInfo.InvariantCulture), "the probabilities of a context must sum to 1");
                }
            }

            return new EvaluationPolicy(_byContext.ToImmutableDictionary(c => c.Key, c => c.Value.ToImmutableDictionary(), StringComparer.Ordinal));
        }
    }
}

/// <summary>Predicts the expected reward of an arm in a context: the regression model of the direct method and doubly robust estimators.</summary>
public interface IRewardModel
{
    /// <summary>The expected reward of <paramref name="arm"/> in <paramref name="context"/>.</summary>
    /// <param name="context">The context.</param>
    /// <param name="arm">The arm.</param>
    /// <returns>The expected reward, in [0, 1].</returns>
    double Predict(string context, DecisionArm arm);
}

/// <summary>
/// The default reward model: each arm's mean reward in each context of a log, shrunk toward the context's mean reward by
/// <see cref="Shrinkage"/> pseudo-observations: q(x, a) = (responses(x, a) + m · r̄(x)) / (rounds(x, a) + m). An arm never
/// logged in a context gets the context's mean.
/// </summary>
public sealed class TabularRewardModel : IRewardModel
{
    private readonly Dictionary<(string, DecisionArm), double> _q;
    private readonly Dictionary<string, double> _contextMean;

    private TabularRewardModel(Dictionary<(string, DecisionArm), double> q, Dictionary<string, double> contextMean, double shrinkage)
    {
        _q = q;
        _contextMean = contextMean;
        Shrinkage = shrinkage;
    }

    /// <summary>The pseudo-observations m of the context mean in each arm's estimate.</summary>
    public double Shrinkage { get; }

    /// <summary>Fits the model to <paramref name="log"/>.</summary>
    /// <param name="log">The log.</param>
    /// <param name="shrinkage">The pseudo-observations m, at least 0.</param>
    /// <returns>The model.</returns>
    /// <exception cref="EngagementValidationException"><paramref name="shrinkage"/> is negative or not finite.</exception>
    public static TabularRewardModel Fit(DecisionLog log, double shrinkage = 20)
    {
        ArgumentNullException.ThrowIfNull(log);
        if (!(shrinkage >= 0) || double.IsInfinity(shrinkage))
        {
            throw new EngagementValidationException(nameof(shrinkage), shrinkage, "must be at least 0 and finite");
        }

        var contexts = log.Contexts.Length;
        var arms = log.Arms.Length;
        var rounds = new long[contexts * arms];
        var responses = new long[contexts * arms];
        var contextRounds = new long[contexts];
        var contextResponses = new long[contexts];
        var ctx = log.ContextIndices;
        var arm = log.ArmIndices;
        var rewards = log.Rewards;
        for (var i = 0; i < log.Count; i++)
        {
            var cell = (ctx[i] * arms) + arm[i];
            rounds[cell]++;
            responses[cell] += rewards[i];
            contextRounds[ctx[i]]++;
            contextResponses[ctx[i]] += rewards[i];
        }

        var q = new Dictionary<(string, DecisionArm), double>();
        var means = new Dictionary<string, double>(StringComparer.Ordinal);
        for (var c = 0; c < contexts; c++)
        {
            var mean = contextRounds[c] == 0 ? 0 : (double)contextResponses[c] / contextRounds[c];
            means.Add(log.Contexts[c], mean);
            for (var a = 0; a < arms; a++)
            {
                var cell = (c * arms) + a;
                if (rounds[cell] > 0)
                {
                    q.Add((log.Contexts[c], log.Arms[a]), (responses[cell] + (shrinkage * mean)) / (rounds[cell] + shrinkage));
                }
            }
        }

        return new TabularRewardModel(q, means, shrinkage);
    }

    /// <inheritdoc />
    public double Predict(string context, DecisionArm arm)
        => _q.TryGetValue((context, arm), out var value) ? value : _contextMean.GetValueOrDefault(context);
}
