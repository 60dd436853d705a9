return PolicyEvaluation.PolicyEvaluationApp.Run(args, Console.Out, Console.Error);
