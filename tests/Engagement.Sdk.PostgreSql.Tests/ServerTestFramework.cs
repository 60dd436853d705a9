using System.ComponentModel;
using Xunit.Abstractions;
using Xunit.Sdk;

[assembly: TestFramework("Engagement.Sdk.PostgreSql.Tests.ServerTestFramework", "Engagement.Sdk.PostgreSql.Tests")]

namespace Engagement.Sdk.PostgreSql.Tests;

/// <summary>
/// xUnit's own framework, except that the tests of the <see cref="PostgreSqlCollection"/> are reported as skipped, with the
/// reason, when no PostgreSQL server can be provided (<see cref="PostgreSqlServerFixture.SkipReason"/>). This is the
/// shared-data skip of the core tests, applied to whole classes: the inherited conformance tests carry plain facts, so the skip
/// cannot be put on their attributes.
/// </summary>
/// <param name="messageSink">The diagnostic sink.</param>
public sealed class ServerTestFramework(IMessageSink messageSink) : XunitTestFramework(messageSink)
{
    /// <inheritdoc />
    protected override ITestFrameworkDiscoverer CreateDiscoverer(IAssemblyInfo assemblyInfo)
        => new Discoverer(assemblyInfo, SourceInformationProvider, DiagnosticMessageSink);

    private sealed class Discoverer(IAssemblyInfo assemblyInfo, ISourceInformationProvider sourceProvider, IMessageSink diagnosticMessageSink)
        : XunitTestFrameworkDiscoverer(assemblyInfo, sourceProvider, diagnosticMessageSink)
    {
        protected override bool FindTestsForMethod(ITestMethod testMethod, bool includeSourceInformation, IMessageBus messageBus, ITestFrameworkDiscoveryOptions discoveryOptions)
        {
            var needsServer = testMethod.TestClass.TestCollection.CollectionDefinition?.Name == typeof(PostgreSqlCollection).FullName;
            if (!needsServer || PostgreSqlServerFixture.SkipReason is null || !testMethod.Method.GetCustomAttributes(typeof(FactAttribute)).Any())
            {
                return base.FindTestsForMethod(testMethod, includeSourceInformation, messageBus, discoveryOptions);
            }

            var testCase = new ServerUnavailableTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod);
            return ReportDiscoveredTestCase(testCase, includeSourceInformation, messageBus);
        }
    }
}

/// <summary>A test that needs a PostgreSQL server when none can be provided: skipped, with the reason.</summary>
public sealed class ServerUnavailableTestCase : XunitTestCase
{
    /// <summary>For the deserializer only.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    [Obsolete("Called by the deserializer; should only be called by deriving classes for de-serialization purposes")]
    public ServerUnavailableTestCase()
    {
    }

    /// <summary>Creates the test case.</summary>
    /// <param name="diagnosticMessageSink">The diagnostic sink.</param>
    /// <param name="defaultMethodDisplay">How methods are displayed.</param>
    /// <param name="defaultMethodDisplayOptions">Method display options.</param>
    /// <param name="testMethod">The test method.</param>
    public ServerUnavailableTestCase(IMessageSink diagnosticMessageSink, TestMethodDisplay defaultMethodDisplay, TestMethodDisplayOptions defaultMethodDisplayOptions, ITestMethod testMethod)
        : base(diagnosticMessageSink, defaultMethodDisplay, defaultMethodDisplayOptions, testMethod)
    {
    }

    /// <inheritdoc />
    protected override string GetSkipReason(IAttributeInfo factAttribute)
        => PostgreSqlServerFixture.SkipReason ?? base.GetSkipReason(factAttribute);
}
