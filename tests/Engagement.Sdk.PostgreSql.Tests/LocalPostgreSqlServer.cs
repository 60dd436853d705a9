using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Engagement.Sdk.PostgreSql.Tests;

/// <summary>
/// A throw-away PostgreSQL server for the tests: a fresh data directory in a temporary folder, trust authentication, listening
/// only on 127.0.0.1 on a free port, without fsync. Stopped and deleted on dispose. PostgreSQL refuses to run as root, so a root
/// process runs the server as the <c>postgres</c> user.
/// </summary>
public sealed class LocalPostgreSqlServer : IAsyncDisposable
{
    private const string ServerUser = "postgres";
    private static readonly TimeSpan InitTimeout = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan InstallTimeout = TimeSpan.FromMinutes(15);

    private readonly string _binDirectory;
    private readonly string _root;
    private readonly bool _asServerUser;

    private LocalPostgreSqlServer(string binDirectory, string root, bool asServerUser, int port)
    {
        _binDirectory = binDirectory;
        _root = root;
        _asServerUser = asServerUser;
        Port = port;
    }

    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>A connection string for the <c>postgres</c> maintenance database, as the superuser.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port.ToString(CultureInfo.InvariantCulture)};Username={ServerUser};Database=postgres;Timeout=30";

    private string DataDirectory => Path.Combine(_root, "data");

    private string LogFile => Path.Combine(_root, "server.log");

    /// <summary>
    /// The folder holding <c>initdb</c> and <c>pg_ctl</c>: the first on the PATH, else the highest version under
    /// <c>/usr/lib/postgresql/*/bin</c> (where Debian's packages put them), else <see langword="null"/>.
    /// </summary>
    /// <returns>The folder, or <see langword="null"/>.</returns>
    public static string? FindBinDirectory()
    {
        var candidates = new List<string>();
        if (ProcessRunner.FindOnPath("initdb") is { } initdb)
        {
            candidates.Add(Path.GetDirectoryName(initdb)!);
        }

        const string Debian = "/usr/lib/postgresql";
        if (Directory.Exists(Debian))
        {
            candidates.AddRange(Directory.EnumerateDirectories(Debian)
                .Select(dir => (Dir: dir, Version: Version.TryParse(Normalise(Path.GetFileName(dir)), out var v) ? v : null))
                .Where(x => x.Version is not null)
                .OrderByDescending(x => x.Version)
                .Select(x => Path.Combine(x.Dir, "bin")));
        }

        return candidates.FirstOrDefault(dir => File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")));

        static string Normalise(string name) => name.Contains('.', StringComparison.Ordinal) ? name : name + ".0";
    }

    /// <summary>Whether the server binaries can be installed here: a root process on a system with <c>apt-get</c>.</summary>
    public static bool CanInstall => OperatingSystem.IsLinux() && Environment.IsPrivilegedProcess && ProcessRunner.FindOnPath("apt-get") is not null;

    /// <summary>Finds (or, when <see cref="CanInstall"/>, installs) the server binaries, then creates and starts a server.</summary>
    /// <returns>The running server.</returns>
    public static async Task<LocalPostgreSqlServer> StartAsync()
    {
        var bin = FindBinDirectory();
        if (bin is null && CanInstall)
        {
            await InstallAsync();
            bin = FindBinDirectory() ?? throw new InvalidOperationException("apt-get installed postgresql, but no initdb and pg_ctl were found on the PATH or under /usr/lib/postgresql/*/bin.");
        }

        if (bin is null)
        {
            throw new InvalidOperationException("No PostgreSQL server binaries (initdb, pg_ctl) were found on the PATH or under /usr/lib/postgresql/*/bin, and they cannot be installed here (that needs root and apt-get).");
        }

        var asServerUser = OperatingSystem.IsLinux() && Environment.IsPrivilegedProcess;
        if (asServerUser)
        {
            await EnsureServerUserAsync();
        }

        var root = Directory.CreateTempSubdirectory("engagement-pg-").FullName;
        try
        {
            if (asServerUser)
            {
                await ProcessRunner.RunCheckedAsync("chown", [$"{ServerUser}:", root], TimeSpan.FromSeconds(30));
            }

            var server = new LocalPostgreSqlServer(bin, root, asServerUser, port: 0);
            await server.RunToolAsync("initdb", ["-D", server.DataDirectory, "--auth=trust", $"--username={ServerUser}", "--encoding=UTF8", "--no-locale", "--no-sync"], InitTimeout);
            return await StartOnFreePortAsync(bin, root, asServerUser);
        }
        catch
        {
            TryDelete(root);
            throw;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunToolAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "-t", "30", "stop"], StopTimeout);
        }
        finally
        {
            TryDelete(_root);
        }
    }

    private static async Task<LocalPostgreSqlServer> StartOnFreePortAsync(string bin, string root, bool asServerUser)
    {
        // Another process may take the free port between the probe and the start: try a few ports.
        for (var attempt = 1; ; attempt++)
        {
            var server = new LocalPostgreSqlServer(bin, root, asServerUser, FreePort());
            string[] settings =
            [
                "-c listen_addresses=127.0.0.1",
                $"-c port={server.Port.ToString(CultureInfo.InvariantCulture)}",
                $"-c unix_socket_directories={root}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=300",
            ];
            try
            {
                await server.RunToolAsync("pg_ctl", ["-D", server.DataDirectory, "-l", server.LogFile, "-w", "-t", "60", "-o", string.Join(' ', settings), "start"], StartTimeout);
                return server;
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException)
            {
                var log = File.Exists(server.LogFile) ? await File.ReadAllTextAsync(server.LogFile) : "(no server log)";
                if (attempt < 3 && log.Contains("could not bind", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                throw new InvalidOperationException($"The PostgreSQL server did not start: {e.Message}{Environment.NewLine}server log: {ProcessRunner.Tail(log)}", e);
            }
        }
    }

    private static async Task InstallAsync()
    {
        var environment = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };
        string[] install = ["install", "-y", "--no-install-recommends", "postgresql"];
        var first = await ProcessRunner.RunAsync("apt-get", install, InstallTimeout, environment);
        if (first.ExitCode == 0)
        {
            return;
        }

        // The package lists may be missing or stale: refresh them and try once more.
        await ProcessRunner.RunCheckedAsync("apt-get", ["update"], InstallTimeout, environment);
        try
        {
            await ProcessRunner.RunCheckedAsync("apt-get", install, InstallTimeout, environment);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"Installing postgresql with apt-get failed (first attempt, before apt-get update: {ProcessRunner.Tail(first.StandardError)}).{Environment.NewLine}{e.Message}", e);
        }
    }

    private static async Task EnsureServerUserAsync()
    {
        if ((await ProcessRunner.RunAsync("id", ["-u", ServerUser], TimeSpan.FromSeconds(30))).ExitCode == 0)
        {
            return;
        }

        await ProcessRunner.RunCheckedAsync("useradd", ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", ServerUser], TimeSpan.FromSeconds(60));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private Task<ProcessResult> RunToolAsync(string tool, string[] arguments, TimeSpan timeout)
    {
        var program = Path.Combine(_binDirectory, tool);
        return _asServerUser
            ? ProcessRunner.RunCheckedAsync("runuser", ["-u", ServerUser, "--", program, .. arguments], timeout)
            : ProcessRunner.RunCheckedAsync(program, arguments, timeout);
    }
}
