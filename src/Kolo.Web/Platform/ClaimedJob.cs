namespace Kolo.Web.Platform;

/// <summary>
/// Runs one claimed background job (import, analytics, campaign) while a heartbeat keeps the claim fresh, so another node
/// takes the job over only when this one has died. A shutdown leaves the job as it is (its heartbeat goes stale and a
/// node resumes it); an unexpected error is logged and handed to <c>fail</c>.
/// </summary>
public static class ClaimedJob
{
    public static async Task RunAsync(
        string kind, Guid jobId, TimeSpan heartbeatEvery, Func<CancellationToken, Task> heartbeat, Func<CancellationToken, Task> run,
        Func<Exception, Task> fail, ILogger log, CancellationToken stoppingToken)
    {
        using var running = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var beat = BeatAsync(kind, jobId, heartbeatEvery, heartbeat, log, running.Token);
        try { await run(stoppingToken); }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { /* shutting down: another node takes it over */ }
        catch (Exception e)
        {
            log.LogError(e, "{Kind} job {JobId} failed", kind, jobId);
            await fail(e);
        }
        finally
        {
            await running.CancelAsync();
            try { await beat; } catch (OperationCanceledException) { /* stopped */ }
        }
    }

    private static async Task BeatAsync(string kind, Guid jobId, TimeSpan every, Func<CancellationToken, Task> heartbeat, ILogger log, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(every);
        while (await timer.WaitForNextTickAsync(ct))
        {
            // A missed beat is not fatal (on SQLite a long write may hold the lock): the job is still alive.
            try { await heartbeat(ct); }
            catch (Exception e) when (e is not OperationCanceledException) { log.LogWarning(e, "{Kind} job {JobId}: heartbeat failed", kind, jobId); }
        }
    }
}
