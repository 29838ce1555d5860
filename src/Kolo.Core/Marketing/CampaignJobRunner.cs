using System.Text.Json;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Marketing;

/// <summary>
/// Runs campaign jobs: claims the oldest due one (a preview at once, a launch once its campaign's start has come; or a
/// running one whose node stopped reporting) with a conditional update, so each runs on one node. A launch plans every
/// message in one transaction — a crash leaves nothing behind and the reclaimed job starts over — and launches are
/// serialised (an advisory lock on PostgreSQL, the write lock on SQLite) so two launches never both see the same room
/// under the contact policy.
/// </summary>
public sealed class CampaignJobRunner(IDbContextFactory<KoloDb> dbFactory, TimeProvider clock)
{
    /// <summary>The advisory lock key every launch takes on PostgreSQL.</summary>
    private const long LaunchLockKey = 0x4B6F6C6F_0009;

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;

    public async Task<CampaignJob?> ClaimNextAsync(TimeSpan staleAfter, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = Now();
        var staleBefore = now - staleAfter;
        var candidates = await db.CampaignJobs.AsNoTracking()
            .Where(j => (j.Status == CampaignJobStatus.Queued
                         && (j.Kind == CampaignJobKind.Preview || db.Campaigns.Any(c => c.Id == j.CampaignId && c.StartsAt <= now)))
                        || (j.Status == CampaignJobStatus.Running && j.HeartbeatAt < staleBefore))
            .OrderBy(j => j.CreatedAt).Select(j => new { j.Id, j.Status, j.HeartbeatAt }).Take(5).ToListAsync(ct);
        foreach (var c in candidates)
        {
            var (status, beat) = (c.Status, c.HeartbeatAt);
            var claimed = await db.CampaignJobs.Where(j => j.Id == c.Id && j.Status == status && j.HeartbeatAt == beat)
                .ExecuteUpdateAsync(s => s.SetProperty(j => j.Status, CampaignJobStatus.Running).SetProperty(j => j.HeartbeatAt, now)
                    .SetProperty(j => j.StartedAt, now).SetProperty(j => j.Progress, 0).SetProperty(j => j.Stage, "Starting"), ct);
            if (claimed == 1) return await db.CampaignJobs.AsNoTracking().FirstAsync(j => j.Id == c.Id, ct);
        }
        return null;
    }

    public async Task RunAsync(CampaignJob job, CancellationToken ct = default)
    {
        try
        {
            var summary = job.Kind == CampaignJobKind.Preview ? await PreviewAsync(job, ct) : await LaunchAsync(job, ct);
            await FinishAsync(job.Id, CampaignJobStatus.Succeeded, JsonSerializer.Serialize(summary, AudienceSummary.Json), null, CancellationToken.None);
        }
        catch (ValidationFailedException e)
        {
            await FinishAsync(job.Id, CampaignJobStatus.Failed, null, string.Join(" ", e.Errors.SelectMany(x => x.Value)), CancellationToken.None);
        }
    }

    private Action<int, string> Reporter(Guid jobId)
    {
        var last = -1;
        return (percent, stage) =>
        {
            if (percent == last) return;
            last = percent;
            using var report = dbFactory.CreateDbContext();
            var now = Now();
            report.CampaignJobs.Where(j => j.Id == jobId).ExecuteUpdate(s => s.SetProperty(j => j.Progress, percent)
                .SetProperty(j => j.Stage, stage).SetProperty(j => j.HeartbeatAt, now));
        };
    }

    private async Task<AudienceSummary> PreviewAsync(CampaignJob job, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var campaign = await db.Campaigns.AsNoTracking().Include(c => c.Variants).FirstOrDefaultAsync(c => c.Id == job.CampaignId, ct)
                       ?? throw ValidationFailedException.For("campaignId", "The campaign no longer exists.");
        var policy = await ContactPolicyService.LoadAsync(db, ct);
        return await AudienceBuilder.BuildAsync(db, campaign, policy, Now(), write: false, Reporter(job.Id), ct);
    }

    private async Task<AudienceSummary> LaunchAsync(CampaignJob job, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try { return await LaunchOnceAsync(job, ct); }
            catch (AudienceConflictException) when (attempt < 3) { /* the sender took a message meanwhile: plan again */ }
        }
    }

    private async Task<AudienceSummary> LaunchOnceAsync(CampaignJob job, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        db.Database.SetCommandTimeout(TimeSpan.FromMinutes(30));
        var sqlite = db.Database.IsSqlite();
        // Microsoft.Data.Sqlite begins IMMEDIATE transactions: the write lock is held from here, which serialises launches.
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if (!sqlite) await db.Database.ExecuteSqlRawAsync($"SELECT pg_advisory_xact_lock({LaunchLockKey})", ct);
        var campaign = await db.Campaigns.Include(c => c.Variants).FirstOrDefaultAsync(c => c.Id == job.CampaignId, ct)
                       ?? throw ValidationFailedException.For("campaignId", "The campaign no longer exists.");
        var now = Now();
        if (campaign.Status == CampaignStatus.Running && campaign.LaunchedAt is not null)
        {
            // A job that crashed after its commit: the launch is done.
            return new AudienceSummary { Currency = campaign.Currency, PlannedAt = campaign.LaunchedAt.Value };
        }
        if (campaign.Status != CampaignStatus.Approved) throw ValidationFailedException.For("status", $"The campaign is {campaign.Status}, not approved.");
        var policy = await ContactPolicyService.LoadAsync(db, ct);
        campaign.AudienceSeed ??= AudienceBuilder.SeedOf(campaign);
        // On SQLite another connection cannot write while this transaction holds the lock, so progress waits for the end.
        var summary = await AudienceBuilder.BuildAsync(db, campaign, policy, now, write: true, sqlite ? null : Reporter(job.Id), ct);
        campaign.Status = CampaignStatus.Running;
        campaign.LaunchedAt = now;
        if (campaign.StartsAt < now) campaign.StartsAt = now;
        campaign.UpdatedAt = now;
        campaign.Version = Guid.NewGuid();
        db.AuditEntries.Add(new AuditEntry
        {
            At = now, UserId = job.CreatedById, UserName = "campaign launch", EntityType = CampaignService.EntityType, EntityId = campaign.Id,
            Action = "launched",
            Changes = [new FieldChange("status", nameof(CampaignStatus.Approved), nameof(CampaignStatus.Running)),
                new FieldChange("reached", null, summary.Reached.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new FieldChange("suppressed", null, summary.Suppressed.ToString(System.Globalization.CultureInfo.InvariantCulture))],
        });
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return summary;
    }

    public async Task FinishAsync(Guid id, CampaignJobStatus status, string? result, string? error, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = Now();
        var message = error is { Length: > 2000 } ? error[..2000] : error;
        await db.CampaignJobs.Where(j => j.Id == id).ExecuteUpdateAsync(s => s.SetProperty(j => j.Status, status).SetProperty(j => j.Result, result)
            .SetProperty(j => j.Error, message).SetProperty(j => j.FinishedAt, now).SetProperty(j => j.HeartbeatAt, now)
            .SetProperty(j => j.Progress, status == CampaignJobStatus.Succeeded ? 100 : 0)
            .SetProperty(j => j.Stage, status == CampaignJobStatus.Succeeded ? "Done" : "Failed"), ct);
    }

    public async Task HeartbeatAsync(Guid id, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = Now();
        await db.CampaignJobs.Where(j => j.Id == id && j.Status == CampaignJobStatus.Running).ExecuteUpdateAsync(s => s.SetProperty(j => j.HeartbeatAt, now), ct);
    }
}
