return await StrategySimulator.StrategySimulatorApp.RunAsync(args, Console.Out, Console.Error, Environment.CurrentDirectory);
