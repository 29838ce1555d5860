using System.Text.Json;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Analytics;

/// <summary>
/// Runs analytics jobs: claims the oldest queued one (or a running one whose node stopped reporting) with a
/// conditional update so it runs on one node, reports progress, and stores the result. A job restarted after a crash
/// starts over: a fit and a recompute replace their results whole, so running twice is harmless.
/// </summary>
public sealed class AnalyticsJobRunner(IDbContextFactory<KoloDb> dbFactory, TimeProvider clock)
{
    private DateTime Now() => clock.GetUtcNow().UtcDateTime;

    public async Task<AnalyticsJob?> ClaimNextAsync(TimeSpan staleAfter, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = Now();
        var staleBefore = now - staleAfter;
        var candidates = await db.AnalyticsJobs.AsNoTracking()
            .Where(j => j.Status == AnalyticsJobStatus.Queued || (j.Status == AnalyticsJobStatus.Running && j.HeartbeatAt < staleBefore))
            .OrderBy(j => j.CreatedAt).Select(j => new { j.Id, j.Status, j.HeartbeatAt }).Take(5).ToListAsync(ct);
        foreach (var c in candidates)
        {
            var (status, beat) = (c.Status, c.HeartbeatAt);
            var claimed = await db.AnalyticsJobs.Where(j => j.Id == c.Id && j.Status == status && j.HeartbeatAt == beat)
                .ExecuteUpdateAsync(s => s.SetProperty(j => j.Status, AnalyticsJobStatus.Running).SetProperty(j => j.HeartbeatAt, now)
                    .SetProperty(j => j.StartedAt, now).SetProperty(j => j.Progress, 0), ct);
            if (claimed == 1) return await db.AnalyticsJobs.AsNoTracking().FirstAsync(j => j.Id == c.Id, ct);
        }
        return null;
    }

    /// <summary>Queues a recompute when the settings ask for one every N hours and the last one is older (or none ran).</summary>
    public async Task<bool> ScheduleIfDueAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var settings = await AnalyticsService.SettingsAsync(db, ct);
        if (settings.RecomputeHours <= 0 || !await db.Orders.AnyAsync(ct)) return false;
        var since = Now().AddHours(-settings.RecomputeHours);
        if (await db.AnalyticsJobs.AnyAsync(j => j.Kind == AnalyticsJobKind.Scores && (j.CreatedAt >= since || j.Status == AnalyticsJobStatus.Queued || j.Status == AnalyticsJobStatus.Running), ct))
            return false;
        db.AnalyticsJobs.Add(new AnalyticsJob { Kind = AnalyticsJobKind.Scores, Status = AnalyticsJobStatus.Queued, CreatedAt = Now() });
        await db.SaveChangesAsync(ct);
        return true;
    }

    public async Task RunAsync(AnalyticsJob job, CancellationToken ct = default)
    {
        try
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            var settings = await AnalyticsService.SettingsAsync(db, ct);
            var lastReported = -1;
            void Progress(int percent, string stage)
            {
                if (percent == lastReported) return;
                lastReported = percent;
                // Progress goes through its own context: the job's own may be inside a long transaction.
                using var report = dbFactory.CreateDbContext();
                var now = Now();
                report.AnalyticsJobs.Where(j => j.Id == job.Id).ExecuteUpdate(s => s.SetProperty(j => j.Progress, percent)
                    .SetProperty(j => j.Stage, stage).SetProperty(j => j.HeartbeatAt, now));
            }
            string result;
            if (job.Kind == AnalyticsJobKind.ClvFit)
            {
                var fit = await ClvFitter.FitAsync(db, settings.Currency, job.CalibrationEnd!.Value, job.TimeUnit, job.HoldoutEnd, Progress, ct);
                result = JsonSerializer.Serialize(fit, ClvFitResult.Json);
            }
            else
            {
                var fit = await AnalyticsService.CurrentFitAsync(db, settings.Currency, ct);
                var scores = await ScoreCalculator.RecomputeAsync(db, settings, fit, job.AsOf ?? Now(), Now(), Progress, ct);
                result = JsonSerializer.Serialize(scores, ClvFitResult.Json);
            }
            await FinishAsync(job.Id, AnalyticsJobStatus.Succeeded, result, null, CancellationToken.None);
        }
        catch (ValidationFailedException e)
        {
            await FinishAsync(job.Id, AnalyticsJobStatus.Failed, null, string.Join(" ", e.Errors.SelectMany(x => x.Value)), CancellationToken.None);
        }
    }

    public async Task FinishAsync(Guid id, AnalyticsJobStatus status, string? result, string? error, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = Now();
        var message = error is { Length: > 2000 } ? error[..2000] : error;
        await db.AnalyticsJobs.Where(j => j.Id == id).ExecuteUpdateAsync(s => s.SetProperty(j => j.Status, status).SetProperty(j => j.Result, result)
            .SetProperty(j => j.Error, message).SetProperty(j => j.FinishedAt, now).SetProperty(j => j.HeartbeatAt, now)
            .SetProperty(j => j.Progress, status == AnalyticsJobStatus.Succeeded ? 100 : 0)
            .SetProperty(j => j.Stage, status == AnalyticsJobStatus.Succeeded ? "Done" : "Failed"), ct);
    }

    public async Task HeartbeatAsync(Guid id, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = Now();
        await db.AnalyticsJobs.Where(j => j.Id == id && j.Status == AnalyticsJobStatus.Running).ExecuteUpdateAsync(s => s.SetProperty(j => j.HeartbeatAt, now), ct);
    }
}
