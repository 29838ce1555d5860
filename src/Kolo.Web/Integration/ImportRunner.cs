using Kolo.Core.Integration;
using Kolo.Web.Platform;
using Microsoft.Extensions.Options;

namespace Kolo.Web.Integration;

/// <summary>The <c>Kolo:Imports</c> settings.</summary>
public sealed class ImportRunnerOptions
{
    public const string Section = "Kolo:Imports";
    /// <summary>How often queued jobs are looked for when no upload on this node signalled one.</summary>
    public int PollSeconds { get; set; } = 5;
    /// <summary>A running job whose heartbeat is older than this is taken over (its node is gone) and resumed.</summary>
    public int StaleAfterSeconds { get; set; } = 60;
    /// <summary>Rows per committed batch; unset, the engine's default for the database (50,000 on SQLite, 10,000 on PostgreSQL).</summary>
    public int? BatchRows { get; set; }
}

/// <summary>Wakes the runner at once when this node queued a job.</summary>
public sealed class ImportSignal
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Notify()
    {
        if (_signal.CurrentCount == 0) try { _signal.Release(); } catch (SemaphoreFullException) { /* already signalled */ }
    }

    public Task WaitAsync(TimeSpan timeout, CancellationToken ct) => _signal.WaitAsync(timeout, ct);
}

/// <summary>
/// Runs import jobs in the background, one at a time per node. A job is claimed with a conditional update, so each
/// runs on one node; while it runs its heartbeat is refreshed, and a job whose node died is taken over and resumed
/// from its last committed batch.
/// </summary>
public sealed class ImportRunner(ImportService imports, ImportEngine engine, ImportSignal signal, IOptions<KoloOptions> kolo,
    IOptions<ImportRunnerOptions> options, ILogger<ImportRunner> log) : BackgroundService
{
    public static string FileOf(KoloOptions kolo, Guid jobId) => Path.Combine(Path.GetFullPath(kolo.DataDir), "imports", jobId.ToString("N"));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (o.BatchRows is { } rows) engine.BatchRows = Math.Max(1, rows);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await imports.ClaimNextAsync(TimeSpan.FromSeconds(o.StaleAfterSeconds), stoppingToken) is { } job)
                    await RunAsync(job, stoppingToken);
                await signal.WaitAsync(TimeSpan.FromSeconds(Math.Max(1, o.PollSeconds)), stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { return; }
            catch (Exception e)
            {
                log.LogError(e, "Looking for import jobs failed");
                try { await Task.Delay(TimeSpan.FromSeconds(o.PollSeconds), stoppingToken); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    private Task RunAsync(Kolo.Core.Integration.ImportJob job, CancellationToken stoppingToken) => ClaimedJob.RunAsync(
        "Import", job.Id, TimeSpan.FromSeconds(Math.Max(1, options.Value.StaleAfterSeconds / 4)), ct => imports.HeartbeatAsync(job.Id, ct),
        async ct =>
        {
            var path = FileOf(kolo.Value, job.Id);
            if (!File.Exists(path)) await engine.FailAsync(job.Id, "The uploaded file is missing from the data directory.", CancellationToken.None);
            else await engine.RunAsync(job.Id, path, null, ct);
        },
        _ => engine.FailAsync(job.Id, "The import stopped on an unexpected error; the rows committed so far are kept. Run it again to continue.", CancellationToken.None),
        log, stoppingToken);
}
