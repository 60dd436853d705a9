Console.WriteLine("ClvReport");
