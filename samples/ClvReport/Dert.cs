using Engagement.Sdk.Value.Clv;

namespace ClvReport;

/// <summary>Discounted expected residual transactions per distinct history.</summary>
internal static class Dert
{
    /// <summary>DERT at a continuous discount rate per time unit for each distinct history (the library's batch computation).</summary>
    public static double[] For(ITransactionModel model, double discountRate, Histories histories)
    {
        var result = new double[histories.Count];
        model.DiscountedExpectedTransactions(discountRate, histories.X, histories.Tx, histories.T, result);
        return result;
    }
}
