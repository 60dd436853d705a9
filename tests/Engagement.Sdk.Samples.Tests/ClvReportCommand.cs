using ClvReport;
using Engagement.Sdk.Value.Clv;

namespace Engagement.Sdk.Samples.Tests;

/// <summary>Runs ClvReport in process, as its command line would, and captures what it prints.</summary>
internal static class ClvReportCommand
{
    /// <summary>Runs the command line.</summary>
    public static (int Exit, string Stdout, string Stderr) Run(params string[] args) => Run(null, args);

    /// <summary>Runs the command line with a given way of fitting each transaction model.</summary>
    public static (int Exit, string Stdout, string Stderr) Run(Func<string, RfmData, (ITransactionModel, ClvFit)>? fit, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = ClvReportApp.Run(args, stdout, stderr, fit);
        return (exit, stdout.ToString(), stderr.ToString());
    }
}
