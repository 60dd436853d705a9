namespace Engagement.Sdk.Benchmarks;

/// <summary>
/// Runs the benchmarks (BenchmarkDotNet's switcher), or <c>--profile-memory [count]</c> to measure retained profile memory,
/// <c>--journey-memory [count]</c> for the journeys' state, <c>--sweep-cpu memory|sqlite send|nosend [customers] [sweeps]</c>
/// for the sweep's CPU time, <c>--decision-latency [actions] [decisions]</c> for the percentiles of single decisions, or
/// <c>--outbox-cpu Row [rounds]</c> for the CPU time of a row of the outbox benchmarks.
/// </summary>
public static class Program
{
    /// <summary>The entry point.</summary>
    /// <param name="args">BenchmarkDotNet's arguments, <c>--profile-memory [count]</c> or <c>--decision-latency [actions] [decisions]</c>.</param>
    public static void Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--profile-memory")
        {
            Core.ProfileMemory.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000);
            return;
        }

        if (args.Length > 0 && args[0] == "--journey-memory")
        {
            Journeys.JourneyMemory.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000);
            return;
        }

        if (args.Length > 2 && args[0] == "--sweep-cpu")
        {
            Journeys.SweepProfile.Run(args);
            return;
        }

        if (args.Length > 0 && args[0] == "--decision-latency")
        {
            Core.DecisionLatency.Run(
                args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100,
                args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000);
            return;
        }

        if (args.Length > 1 && args[0] == "--outbox-cpu")
        {
            Core.OutboxProfile.Run(args);
            return;
        }

        BenchmarkDotNet.Running.BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
