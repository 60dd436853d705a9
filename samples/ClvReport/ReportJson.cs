using System.Text.Json.Serialization;

namespace ClvReport;

/// <summary>The JSON report.</summary>
public sealed record ReportDocument(
    int Customers,
    int RepeatTransactions,
    int? HoldoutActual,
    string Unit,
    string Data,
    IReadOnlyList<ModelReport> Models,
    SpendReport? Spend,
    string? SpendError);

/// <summary>One transaction model in the JSON report; a model that failed has <c>error</c> set, empty parameters and null numbers. A number that is not finite (a standard error of a model the data cannot pin down) is null.</summary>
public sealed record ModelReport(
    string Name,
    IReadOnlyDictionary<string, double?> Parameters,
    IReadOnlyDictionary<string, double?> StandardErrors,
    double? LogLikelihood,
    double? HoldoutPredicted,
    double? MeanPAlive,
    double? FitMilliseconds,
    bool Converged,
    string? Error);

/// <summary>The spend model in the JSON report.</summary>
public sealed record SpendReport(IReadOnlyDictionary<string, double> Parameters, int Customers, double LogLikelihood);

/// <summary>Source-generated JSON for the report.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ReportDocument))]
public sealed partial class ReportJsonContext : JsonSerializerContext
{
}
