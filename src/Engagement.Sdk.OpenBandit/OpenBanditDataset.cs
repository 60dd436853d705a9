using System.Globalization;
using Engagement.Sdk.Decisioning.Evaluation;
using nietras.SeparatedValues;

namespace Engagement.Sdk.OpenBandit;

/// <summary>One impression of the Open Bandit Dataset: an item shown at a position, whether it was clicked, and the logging policy's propensity.</summary>
/// <param name="Index">The row's index (the file's first, unnamed column).</param>
/// <param name="Timestamp">When it was shown.</param>
/// <param name="ItemId">The item shown (the action).</param>
/// <param name="Position">The slot it was shown in, from 1 (the context).</param>
/// <param name="Click">1 when it was clicked, else 0.</param>
/// <param name="Propensity">The probability with which the logging policy showed this item at this position, in (0, 1].</param>
public sealed record OpenBanditRound(long Index, DateTimeOffset Timestamp, int ItemId, int Position, int Click, double Propensity);

/// <summary>
/// Reads logs in the Open Bandit Dataset CSV format (Saito et al. 2020): a header, then one row per impression with the columns
/// <c>,timestamp,item_id,position,click,propensity_score</c> followed by any number of feature columns (<c>user_feature_*</c>,
/// <c>user-item_affinity_*</c>), which are accepted and not used (the evaluation here is per position, context-free). Every
/// row is validated; a bad value fails with a <see cref="DecisionLogException"/> naming the line and the column.
/// </summary>
public static class OpenBanditDataset
{
    /// <summary>The columns every file must have.</summary>
    public static IReadOnlyList<string> RequiredColumns { get; } = ["timestamp", "item_id", "position", "click", "propensity_score"];

    /// <summary>Reads the rounds of a file.</summary>
    /// <param name="path">The CSV file.</param>
    /// <returns>The rounds, in file order.</returns>
    /// <exception cref="DecisionLogException">The header lacks a column, or a row has a bad value.</exception>
    public static IReadOnlyList<OpenBanditRound> ReadRounds(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var reader = Sep.Reader(o => o with { HasHeader = true, CultureInfo = CultureInfo.InvariantCulture }).FromFile(path);
        return ReadRounds(reader);
    }

    /// <summary>Reads the rounds of CSV text.</summary>
    /// <param name="reader">The text.</param>
    /// <returns>The rounds, in order.</returns>
    /// <exception cref="DecisionLogException">The header lacks a column, or a row has a bad value.</exception>
    public static IReadOnlyList<OpenBanditRound> ReadRounds(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        using var sep = Sep.Reader(o => o with { HasHeader = true, CultureInfo = CultureInfo.InvariantCulture }).From(reader);
        return ReadRounds(sep);
    }

    /// <summary>Reads a file into a decision log: the position is the context and the item the action (no channel).</summary>
    /// <param name="path">The CSV file.</param>
    /// <returns>The log.</returns>
    /// <exception cref="DecisionLogException">The header lacks a column, or a row has a bad value.</exception>
    public static DecisionLog ReadLog(string path) => ToDecisionLog(ReadRounds(path));

    /// <summary>The decision log of <paramref name="rounds"/>: the position is the context and the item the action (no channel).</summary>
    /// <param name="rounds">The rounds.</param>
    /// <returns>The log.</returns>
    public static DecisionLog ToDecisionLog(IEnumerable<OpenBanditRound> rounds)
    {
        ArgumentNullException.ThrowIfNull(rounds);
        var builder = new DecisionLog.Builder();
        var contexts = new Dictionary<int, string>();
        var actions = new Dictionary<int, string>();
        foreach (var r in rounds)
        {
            if (!contexts.TryGetValue(r.Position, out var context))
            {
                context = r.Position.ToString(CultureInfo.InvariantCulture);
                contexts.Add(r.Position, context);
            }

            if (!actions.TryGetValue(r.ItemId, out var action))
            {
                action = r.ItemId.ToString(CultureInfo.InvariantCulture);
                actions.Add(r.ItemId, action);
            }

            builder.Add(new LoggedDecision(context, action, null, r.Propensity, r.Click));
        }

        return builder.Build();
    }

    private static List<OpenBanditRound> ReadRounds(SepReader reader)
    {
        if (reader.IsEmpty || !reader.HasHeader)
        {
            throw new DecisionLogException(1, "header", null, "the file is empty; expected a header with " + string.Join(", ", RequiredColumns));
        }

        var header = reader.Header;
        var columns = new int[RequiredColumns.Count];
        for (var c = 0; c < columns.Length; c++)
        {
            if (!header.TryIndexOf(RequiredColumns[c], out columns[c]))
            {
                throw new DecisionLogException(1, RequiredColumns[c], null, "is missing from the header (" + string.Join(", ", RequiredColumns) + " are required)");
            }
        }

        var hasIndex = header.ColNames.Count > 0 && header.ColNames[0].Length == 0;
        var rounds = new List<OpenBanditRound>();
        var line = 1L;
        try
        {
            foreach (var row in reader)
            {
                line = row.LineNumberFrom;
                rounds.Add(Parse(row, columns, hasIndex, line, rounds.Count));
            }
        }
        catch (InvalidDataException ex)
        {
            throw new DecisionLogException(line + 1, "row", null, ex.Message);
        }

        return rounds;
    }

    private static OpenBanditRound Parse(SepReader.Row row, int[] columns, bool hasIndex, long line, long ordinal)
    {
        var index = ordinal;
        if (hasIndex && !long.TryParse(row[0].Span, NumberStyles.Integer, CultureInfo.InvariantCulture, out index))
        {
            throw Bad(row, 0, "index", line, "must be an integer");
        }

        if (!DateTimeOffset.TryParse(row[columns[0]].Span, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var timestamp))
        {
            throw Bad(row, columns[0], "timestamp", line, "must be a date and time");
        }

        if (!int.TryParse(row[columns[1]].Span, NumberStyles.Integer, CultureInfo.InvariantCulture, out var item) || item < 0)
        {
            throw Bad(row, columns[1], "item_id", line, "must be an integer at least 0");
        }

        if (!int.TryParse(row[columns[2]].Span, NumberStyles.Integer, CultureInfo.InvariantCulture, out var position) || position < 1)
        {
            throw Bad(row, columns[2], "position", line, "must be an integer at least 1");
        }

        var clickText = row[columns[3]].Span;
        var click = clickText is "0" or "0.0" ? 0 : clickText is "1" or "1.0" ? 1 : -1;
        if (click < 0)
        {
            throw Bad(row, columns[3], "click", line, "must be 0 or 1");
        }

        if (!double.TryParse(row[columns[4]].Span, NumberStyles.Float, CultureInfo.InvariantCulture, out var propensity) || !(propensity > 0 && propensity <= 1))
        {
            throw Bad(row, columns[4], "propensity_score", line, "must be a probability in (0, 1]");
        }

        return new OpenBanditRound(index, timestamp, item, position, click, propensity);
    }

    private static DecisionLogException Bad(SepReader.Row row, int column, string field, long line, string rule)
        => new(line, field, row[column].ToString(), rule);
}
