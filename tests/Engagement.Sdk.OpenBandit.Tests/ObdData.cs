using System.Globalization;
using Engagement.Sdk.Decisioning.Evaluation;
using Engagement.Sdk.Tests;

namespace Engagement.Sdk.OpenBandit.Tests;

/// <summary>The Open Bandit Dataset sample among the shared data sets, and the policies the tests derive from it.</summary>
internal static class ObdData
{
    public static string File(string behaviour, string campaign) => SharedData.File(Path.Combine("obd", behaviour, campaign, campaign + ".csv"));

    /// <summary>The empirical distribution of the items a log shows at each position: the "bts" policy as its own log saw it.</summary>
    public static EvaluationPolicy EmpiricalPolicy(IReadOnlyList<OpenBanditRound> rounds)
    {
        var builder = new EvaluationPolicy.Builder();
        foreach (var position in rounds.GroupBy(r => r.Position))
        {
            var total = (double)position.Count();
            foreach (var item in position.GroupBy(r => r.ItemId))
            {
                builder.Set(position.Key.ToString(CultureInfo.InvariantCulture), new DecisionArm(item.Key.ToString(CultureInfo.InvariantCulture), null), item.Count() / total);
            }
        }

        return builder.Build();
    }
}

/// <summary>A fact that needs the Open Bandit Dataset sample; skipped, with the reason, when it is absent.</summary>
public sealed class ObdFactAttribute : FactAttribute
{
    public ObdFactAttribute()
    {
        if (SharedData.Directory is null || !Directory.Exists(Path.Combine(SharedData.Directory, "obd")))
        {
            Skip = "The Open Bandit Dataset sample (../shared/data/obd beside the repository, or ENGAGEMENT_SDK_SHARED_DATA) is absent; it is not redistributed with the code.";
        }
    }
}

/// <summary>A theory that needs the Open Bandit Dataset sample; skipped, with the reason, when it is absent.</summary>
public sealed class ObdTheoryAttribute : TheoryAttribute
{
    public ObdTheoryAttribute()
    {
        if (SharedData.Directory is null || !Directory.Exists(Path.Combine(SharedData.Directory, "obd")))
        {
            Skip = "The Open Bandit Dataset sample (../shared/data/obd beside the repository, or ENGAGEMENT_SDK_SHARED_DATA) is absent; it is not redistributed with the code.";
        }
    }
}
