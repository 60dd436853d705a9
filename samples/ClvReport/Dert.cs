using Engagement.Sdk.Value.Clv;

namespace ClvReport;

/// <summary>Discounted expected residual transactions per distinct history, where the library offers them for the model.</summary>
internal static class Dert
{
    /// <summary>DERT at a continuous discount rate per time unit for each distinct history, or <see langword="null"/> when the model has none.</summary>
    public static double[]? For(ITransactionModel model, double discountRate, Histories histories)
    {
        _ = model;
        _ = discountRate;
        _ = histories;
        return null;
    }
}
