using System.Text.Json.Serialization;

namespace PolicyEvaluation;

/// <summary>The JSON report: the rounds, the logging policy's own mean reward, the effective sample size and the estimates.</summary>
internal sealed record ReportJson(int Rounds, double OnPolicyMeanReward, double EffectiveSampleSize, IReadOnlyList<EstimatorJson> Estimators);

/// <summary>One estimator's value and bootstrap interval (null without resamples).</summary>
internal sealed record EstimatorJson(string Name, double Value, double? CiLow, double? CiHigh);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(ReportJson))]
internal sealed partial class ReportJsonContext : JsonSerializerContext;
