Console.WriteLine("Quickstart");
