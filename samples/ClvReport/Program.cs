return ClvReport.ClvReportApp.Run(args, Console.Out, Console.Error);
