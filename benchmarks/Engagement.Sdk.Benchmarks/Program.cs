namespace Engagement.Sdk.Benchmarks;

/// <summary>
/// Runs the benchmarks (BenchmarkDotNet's switcher), or <c>--profile-memory [count]</c> to measure retained profile memory,
/// <c>--journey-memory [count]</c> for the journeys' state, <c>--sweep-cpu memory|sqlite send|nosend [customers] [sweeps]</c>
/// for the sweep's CPU time, <c>--decision-latency [actions] [decisions] [thompson]</c> for the percentiles of single decisions,
/// <c>--ope-cpu [repetitions]</c> for the wall-clock and processor time of off-policy evaluation,
/// <c>--outbox-cpu Row [rounds]</c> for the CPU time of a row of the outbox benchmarks,
/// <c>--clv-bootstrap-cpu [rounds]</c> for the CPU time of the refit bootstrap on 1,000,000 customers,
/// <c>--ingest-cpu Row [rounds]</c> for the CPU time of a row of the ingestion benchmarks, or
/// <c>--webshop-load [batches] [--views-only] [--in-flight N]</c> for the web sample's load loop.
/// </summary>
public static class Program
{
    /// <summary>The entry point.</summary>
    /// <param name="args">BenchmarkDotNet's arguments, or one of the modes above.</param>
    public static void Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--webshop-load")
        {
            var inFlight = Array.IndexOf(args, "--in-flight") is var at and > 0 && at + 1 < args.Length ? int.Parse(args[at + 1], System.Globalization.CultureInfo.InvariantCulture) : 1;
            Samples.WebShopLoad.RunAsync(args.Length > 1 && !args[1].StartsWith("--", StringComparison.Ordinal) ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100, !args.Contains("--views-only"), inFlight).GetAwaiter().GetResult();
            return;
        }

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

        if (args.Length > 0 && args[0] == "--ope-cpu")
        {
            Decisioning.OffPolicyEvaluationBenchmarks.MeasureCpu(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3);
            return;
        }

        if (args.Length > 0 && args[0] == "--decision-latency")
        {
            Core.DecisionLatency.Run(
                args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100,
                args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000,
                args.Length > 3 && args[3] == "thompson");
            return;
        }

        if (args.Length > 0 && args[0] == "--clv-bootstrap-cpu")
        {
            Clv.ClvBootstrapBenchmarks.MeasureCpu(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2);
            return;
        }

        if (args.Length > 1 && args[0] == "--ingest-cpu")
        {
            Core.IngestProfile.Run(args);
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
