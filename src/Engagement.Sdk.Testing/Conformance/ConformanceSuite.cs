using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;
using System.Runtime.ExceptionServices;

namespace Engagement.Sdk.Testing.Conformance;

/// <summary>Marks a method of a <see cref="ConformanceSuite"/> as one check; repeat it with arguments for a check run once per case.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true, Inherited = true)]
public sealed class ConformanceCheckAttribute : Attribute
{
    /// <summary>Marks a check, run with the given arguments (none for a check without parameters).</summary>
    /// <param name="arguments">The arguments of this case.</param>
    public ConformanceCheckAttribute(params object?[] arguments) => Arguments = arguments;

    /// <summary>Gets the arguments of this case.</summary>
    /// <value>Empty for a check without parameters.</value>
    public IReadOnlyList<object?> Arguments { get; }
}

/// <summary>
/// The base of every conformance suite: a set of named checks, each a plain asynchronous method that throws
/// <see cref="ConformanceException"/> (or the store's own exception) when the store does not conform. The kit depends on
/// no test framework: a test project runs the checks by name, one test per check, with a few lines for its framework (see
/// docs/adapters.md), or all at once with <see cref="RunAllAsync"/>.
/// </summary>
public abstract class ConformanceSuite
{
    /// <summary>Gets the names of the checks of a suite type, in declaration order; a case of a check with arguments is named <c>Check(argument, …)</c>.</summary>
    /// <param name="suiteType">The suite type (a <see cref="ConformanceSuite"/>).</param>
    /// <returns>The names.</returns>
    public static IReadOnlyList<string> CheckNamesOf([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicMethods)] Type suiteType)
    {
        ArgumentNullException.ThrowIfNull(suiteType);
        return CasesOf(suiteType).Select(c => c.Name).ToList();
    }

    /// <summary>Gets the check names of a suite type as rows of one string each, the shape test frameworks take for data-driven tests.</summary>
    /// <param name="suiteType">The suite type.</param>
    /// <returns>One row per check.</returns>
    public static IEnumerable<object[]> CheckRowsOf([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicMethods)] Type suiteType)
        => CheckNamesOf(suiteType).Select(n => new object[] { n });

    /// <summary>Gets the names of this suite's checks.</summary>
    /// <returns>The names.</returns>
    public IReadOnlyList<string> CheckNames() => CheckNamesOf(GetType());

    /// <summary>Runs one check by name on this suite instance.</summary>
    /// <param name="checkName">A name from <see cref="CheckNames"/>.</param>
    /// <returns>A task that fails when the store does not conform.</returns>
    /// <exception cref="ArgumentException">No check has that name.</exception>
    public async Task RunAsync(string checkName)
    {
        ArgumentNullException.ThrowIfNull(checkName);
        var check = CasesOf(GetType()).FirstOrDefault(c => c.Name == checkName)
            ?? throw new ArgumentException($"The suite {GetType().Name} has no check named '{checkName}'.", nameof(checkName));
        object? result;
        try
        {
            result = check.Method.Invoke(this, check.Arguments);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }

        if (result is Task task)
        {
            await task.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs every check of a suite, each on a fresh instance from <paramref name="createSuite"/> (disposed afterwards when it
    /// is disposable), and reports each outcome; for frameworks without data-driven tests, or to run the kit outside one.
    /// </summary>
    /// <typeparam name="TSuite">The suite type.</typeparam>
    /// <param name="createSuite">Creates a fresh suite for one check.</param>
    /// <returns>The outcome of every check.</returns>
    public static async Task<IReadOnlyList<ConformanceResult>> RunAllAsync<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicMethods)] TSuite>(Func<TSuite> createSuite)
        where TSuite : ConformanceSuite
    {
        ArgumentNullException.ThrowIfNull(createSuite);
        var results = new List<ConformanceResult>();
        foreach (var name in CheckNamesOf(typeof(TSuite)))
        {
            var suite = createSuite();
            Exception? failure = null;
            try
            {
                await suite.RunAsync(name).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Every failure of a check is reported, whatever its type.
            catch (Exception e)
#pragma warning restore CA1031
            {
                failure = e;
            }
            finally
            {
                if (suite is IAsyncDisposable asyncDisposable)
                {
                    await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                }
                else if (suite is IDisposable disposable)
                {
                    disposable.Dispose();
                }
            }

            results.Add(new ConformanceResult(name, failure));
        }

        return results;
    }

    private static List<CheckCase> CasesOf([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicMethods)] Type suiteType)
    {
        if (!suiteType.IsAssignableTo(typeof(ConformanceSuite)))
        {
            throw new ArgumentException($"{suiteType.Name} is not a {nameof(ConformanceSuite)}.", nameof(suiteType));
        }

        var cases = new List<CheckCase>();
        foreach (var method in suiteType.GetMethods(BindingFlags.Public | BindingFlags.Instance).OrderBy(m => m.MetadataToken))
        {
            foreach (var attribute in method.GetCustomAttributes<ConformanceCheckAttribute>(inherit: true))
            {
                var arguments = attribute.Arguments.ToArray();
                var name = arguments.Length == 0
                    ? method.Name
                    : $"{method.Name}({string.Join(", ", arguments.Select(a => Convert.ToString(a, CultureInfo.InvariantCulture)))})";
                cases.Add(new CheckCase(name, method, arguments));
            }
        }

        return cases;
    }

    private sealed record CheckCase(string Name, MethodInfo Method, object?[] Arguments);
}

/// <summary>The outcome of one check run by <see cref="ConformanceSuite.RunAllAsync"/>.</summary>
/// <param name="Check">The check's name.</param>
/// <param name="Failure">Why it failed; null when it passed.</param>
public sealed record ConformanceResult(string Check, Exception? Failure)
{
    /// <summary>Gets a value indicating whether the check passed.</summary>
    /// <value>True when the check threw nothing.</value>
    public bool Passed => Failure is null;
}
