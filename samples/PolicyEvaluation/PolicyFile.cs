using System.Globalization;
using Engagement.Sdk.Decisioning.Evaluation;
using nietras.SeparatedValues;

namespace PolicyEvaluation;

/// <summary>Reads a context-free evaluation policy: a CSV <c>item_id,position,probability</c>, the probabilities of each position summing to 1.</summary>
internal static class PolicyFile
{
    /// <summary>Reads the policy.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The policy over positions (contexts) and items (actions), keyed as the Open Bandit reader keys them.</returns>
    /// <exception cref="DecisionLogException">A header column is missing, a value is bad, or an item is listed twice for a position.</exception>
    /// <exception cref="Engagement.Sdk.EngagementValidationException">A position's probabilities do not sum to 1.</exception>
    public static EvaluationPolicy Read(string path)
    {
        using var reader = Sep.Reader(o => o with { HasHeader = true, CultureInfo = CultureInfo.InvariantCulture }).FromFile(path);
        if (reader.IsEmpty || !reader.HasHeader)
        {
            throw new DecisionLogException(1, "header", null, "the file is empty; expected item_id,position,probability");
        }

        string[] names = ["item_id", "position", "probability"];
        var columns = new int[3];
        for (var c = 0; c < 3; c++)
        {
            if (!reader.Header.TryIndexOf(names[c], out columns[c]))
            {
                throw new DecisionLogException(1, names[c], null, "is missing from the header (item_id, position and probability are required)");
            }
        }

        var builder = new EvaluationPolicy.Builder();
        var seen = new HashSet<(int, int)>();
        var rows = 0;
        foreach (var row in reader)
        {
            long line = row.LineNumberFrom;
            if (!int.TryParse(row[columns[0]].Span, NumberStyles.Integer, CultureInfo.InvariantCulture, out var item) || item < 0)
            {
                throw new DecisionLogException(line, "item_id", row[columns[0]].ToString(), "must be an integer at least 0");
            }

            if (!int.TryParse(row[columns[1]].Span, NumberStyles.Integer, CultureInfo.InvariantCulture, out var position) || position < 1)
            {
                throw new DecisionLogException(line, "position", row[columns[1]].ToString(), "must be an integer at least 1");
            }

            if (!double.TryParse(row[columns[2]].Span, NumberStyles.Float, CultureInfo.InvariantCulture, out var probability) || !(probability >= 0 && probability <= 1))
            {
                throw new DecisionLogException(line, "probability", row[columns[2]].ToString(), "must be a probability in [0, 1]");
            }

            if (!seen.Add((item, position)))
            {
                throw new DecisionLogException(line, "item_id", row[columns[0]].ToString(), $"is listed twice for position {position}");
            }

            builder.Set(position.ToString(CultureInfo.InvariantCulture), new DecisionArm(item.ToString(CultureInfo.InvariantCulture), null), probability);
            rows++;
        }

        if (rows == 0)
        {
            throw new DecisionLogException(2, "probability", null, "the policy lists no item");
        }

        return builder.Build();
    }
}
