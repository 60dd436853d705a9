using System.Diagnostics;

var started = Stopwatch.GetTimestamp();
var exit = await Quickstart.QuickstartApp.RunAsync(args, Console.Out);
await Console.Error.WriteLineAsync($"Finished in {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s.");
return exit;
