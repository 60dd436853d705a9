using System.Runtime.ExceptionServices;

namespace Engagement.Sdk.Value.Clv;

/// <summary>
/// <see cref="Parallel.For(int, int, Action{int})"/> without the <see cref="AggregateException"/>: an exception thrown by an
/// iteration reaches the caller as itself, with its stack trace. When several iterations throw, it is the one of the lowest
/// iteration (the loop breaks, so every lower iteration still runs), which is the exception a sequential loop would have
/// thrown — the same error on every run, however the threads were scheduled.
/// </summary>
internal static class ClvParallel
{
    /// <summary>Runs <paramref name="body"/> for [<paramref name="from"/>, <paramref name="to"/>) in parallel.</summary>
    public static void For(int from, int to, Action<int> body, int maxDegreeOfParallelism = -1)
    {
        Exception? first = null;
        var firstIndex = long.MaxValue;
        var gate = new object();
        Parallel.For(from, to, new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism }, (i, state) =>
        {
            try
            {
                body(i);
            }
            catch (Exception ex)
            {
                lock (gate)
                {
                    if (i < firstIndex)
                    {
                        firstIndex = i;
                        first = ex;
                    }
                }

                state.Break();
            }
        });

        if (first is not null)
        {
            ExceptionDispatchInfo.Capture(first).Throw();
        }
    }
}
