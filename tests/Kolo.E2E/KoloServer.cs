using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;

namespace Kolo.E2E;

/// <summary>
/// The real Kolo server as a child process (<c>dotnet Kolo.Web.dll</c>) on a fresh SQLite database with demo data,
/// exactly as a user would run it; the tests talk to it over HTTP only.
/// </summary>
public sealed class KoloServer : IAsyncDisposable
{
    public const string AdminEmail = "admin@kolo.local";
    public const string AdminPassword = "E2e-admin-pass-1";
    /// <summary>The password of the seeded demo users (manager@kolo.local, ...).</summary>
    public const string DemoPassword = "Demo-pass-2026";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Process process;
    private readonly string dataDir;
    private readonly StringBuilder output = new();

    private KoloServer(Process process, string dataDir, Uri baseUrl)
    {
        this.process = process;
        this.dataDir = dataDir;
        BaseUrl = baseUrl;
    }

    public Uri BaseUrl { get; }

    /// <summary>The server's data directory (its SQLite database is kolo.db there), for tests that seed records no API makes yet.</summary>
    public string DataDir => dataDir;

    /// <summary>Everything the server printed so far (stdout and stderr interleaved), for failure messages.</summary>
    public string Output
    {
        get { lock (output) return output.ToString(); }
    }

    /// <summary>
    /// Starts the server; <paramref name="environment"/> adds or overrides settings (e.g. <c>Kolo__ReminderIntervalSeconds</c>)
    /// after the defaults below, so a fixture can tune the server for its tests.
    /// </summary>
    public static async Task<KoloServer> StartAsync(IReadOnlyDictionary<string, string>? environment = null)
    {
        var dll = LocateServerAssembly();
        var dataDir = Directory.CreateTempSubdirectory("kolo-e2e-").FullName;
        var port = FreePort();
        var baseUrl = new Uri($"http://127.0.0.1:{port}");

        var start = new ProcessStartInfo("dotnet")
        {
            // The server's own folder holds appsettings.json and the static web assets manifest.
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(baseUrl.ToString().TrimEnd('/'));
        start.Environment["Kolo__DataDir"] = dataDir;
        start.Environment["Kolo__Admin__Email"] = AdminEmail;
        start.Environment["Kolo__Admin__Password"] = AdminPassword;
        start.Environment["Kolo__SeedDemo"] = "true";
        start.Environment["Kolo__Database__Provider"] = "Sqlite";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        // Settings inherited from the developer's shell must not point the server elsewhere.
        start.Environment.Remove("ASPNETCORE_URLS");
        start.Environment.Remove("Kolo__Database__ConnectionString");
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var server = new KoloServer(process, dataDir, baseUrl);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        try
        {
            if (!process.Start()) throw new InvalidOperationException($"Could not start dotnet {dll}.");
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            await server.WaitUntilHealthyAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (output) output.AppendLine(line);
    }

    private async Task WaitUntilHealthyAsync()
    {
        using var http = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        string? lastProblem = null;
        while (deadline.Elapsed < StartTimeout)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"The Kolo server exited with code {process.ExitCode} before it became healthy. Its output:\n{Output}");
            try
            {
                using var response = await http.GetAsync(new Uri("/health", UriKind.Relative));
                if (response.StatusCode == HttpStatusCode.OK) return;
                lastProblem = $"GET /health answered {(int)response.StatusCode}";
            }
            catch (HttpRequestException e)
            {
                lastProblem = e.Message;
            }
            catch (TaskCanceledException)
            {
                lastProblem = "GET /health timed out";
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"The Kolo server at {BaseUrl} did not answer GET /health with 200 within {StartTimeout.TotalSeconds:0} s ({lastProblem}). Its output:\n{Output}");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                await process.WaitForExitAsync(wait.Token);
            }
        }
        catch (InvalidOperationException)
        {
            // Never started, or already gone.
        }
        catch (OperationCanceledException)
        {
            // Killed but slow to exit; the temp folder may stay behind, which is harmless.
        }
        process.Dispose();
        try
        {
            Directory.Delete(dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The repository root: the nearest folder above the test assembly that holds Kolo.slnx.</summary>
    public static DirectoryInfo RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Kolo.slnx"))) return dir;
        }
        throw new InvalidOperationException($"Cannot find Kolo.slnx in any folder above {AppContext.BaseDirectory}.");
    }

    /// <summary>
    /// src/Kolo.Web/bin/&lt;Configuration&gt;/net10.0/Kolo.Web.dll, preferring the configuration these tests were built
    /// with, so a Release test run never silently tests a stale Debug server.
    /// </summary>
    private static string LocateServerAssembly()
    {
        var bin = Path.Combine(RepositoryRoot().FullName, "src", "Kolo.Web", "bin");
        var built = typeof(KoloServer).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "Configuration")?.Value;
        var configurations = new[] { built, "Release", "Debug" }.Where(c => !string.IsNullOrEmpty(c)).Distinct();
        foreach (var configuration in configurations)
        {
            var dll = Path.Combine(bin, configuration!, "net10.0", "Kolo.Web.dll");
            if (File.Exists(dll)) return dll;
        }
        throw new FileNotFoundException(
            $"Kolo.Web.dll is not built under {bin} (looked for {string.Join(", ", configurations)}). Build the solution first (dotnet build Kolo.slnx -c Release).");
    }
}
