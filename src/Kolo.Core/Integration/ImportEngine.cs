using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Integration;

/// <summary>What one batch did: rejected rows and the records it created, changed or found unchanged.</summary>
public sealed class BatchResult
{
    public List<ImportReject> Rejects { get; } = [];
    public int Rows { get; set; }
    public int Created { get; set; }
    public int Updated { get; set; }
    public int Unchanged { get; set; }

    /// <summary>Records to insert (customers, their search terms, orders and their lines, audit entries): written in bulk, untracked.</summary>
    public List<object> NewRecords { get; } = [];

    /// <summary>Set-based updates to run after the inserts (not in a dry run), e.g. customers promoted by their first order.</summary>
    public List<Func<KoloDb, CancellationToken, Task>> Updates { get; } = [];

    public void Reject(ImportRow row, string reason) =>
        Rejects.Add(new ImportReject { Line = row.Line, Reason = Cut(reason, 500), Raw = Cut(row.Raw, 4000) });

    private static string Cut(string text, int max) => text.Length <= max ? text : text[..max];
}

/// <summary>Turns the rows of one batch into records. Keys group rows (an order's lines) and decide where a batch may end.</summary>
internal abstract class BatchProcessor(ColumnMap map)
{
    protected ColumnMap Map { get; } = map;

    /// <summary>The record a row belongs to; null when the row has no usable key (it is rejected in the batch).</summary>
    public abstract string? KeyOf(ImportRow row);

    /// <summary>True: rows sharing a key are one record (an order's lines). False: a repeated key starts a new batch.</summary>
    public abstract bool GroupsRows { get; }

    public abstract Task ProcessAsync(KoloDb db, List<ImportRow> rows, BatchResult result, CancellationToken ct);

    /// <summary>Checks one row on its own (no database), throwing <see cref="RowRejectedException"/>: the wizard's preview.</summary>
    public abstract void Validate(ImportRow row);

    public static BatchProcessor For(ImportKind kind, ColumnMap map, Actor actor, TimeProvider clock, PhoneNormalizer phones, CustomerService customers, DateTime? jobStartedAt = null) => kind switch
    {
        ImportKind.Customers => new CustomerBatch(map, actor, clock, phones, customers),
        ImportKind.Products => new ProductBatch(map, actor, clock),
        _ => new OrderBatch(map, actor, clock, customers, jobStartedAt),
    };
}

/// <summary>
/// Runs one import job over its file: reads rows one at a time, commits them in batches (each batch with the job's
/// counters and its rejects in one transaction), and on a re-run after a crash skips the rows already committed.
/// </summary>
public sealed class ImportEngine(IDbContextFactory<KoloDb> dbFactory, TimeProvider clock, PhoneNormalizer phones, CustomerService customers)
{
    /// <summary>Rows per batch; a batch ends at an order boundary, so it may run a little over.</summary>
    public int BatchRows { get; set; } = 10_000;

    /// <summary>Processes the job. <paramref name="afterBatch"/> sees the job after each commit (progress, tests).</summary>
    public async Task RunAsync(Guid jobId, string path, Action<ImportJob>? afterBatch = null, CancellationToken ct = default)
    {
        ImportJob job;
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            job = await db.ImportJobs.AsNoTracking().FirstAsync(j => j.Id == jobId, ct);
            if (job.DryRun && job.Rows > 0)
            {
                // A dry run wrote nothing but counts; starting over is simpler than resuming them.
                await db.ImportRejects.Where(r => r.JobId == jobId).ExecuteDeleteAsync(ct);
                job.Rows = job.Accepted = job.Rejected = job.Created = job.Updated = job.Unchanged = 0;
            }
        }
        var actor = await ActorOfAsync(job.CreatedById, ct);
        try
        {
            using var source = ImportSource.Open(path, job.FileName);
            var map = new ColumnMap(job.Kind, job.Mapping, source.Header);
            var processor = BatchProcessor.For(job.Kind, map, actor, clock, phones, customers, job.DryRun ? null : job.StartedAt);
            var rowIds = map.Flag("externalIdFromRow") ? new Dictionary<string, int>(StringComparer.Ordinal) : null;
            var skip = job.Rows;
            var batch = new List<ImportRow>();
            var keys = new HashSet<string>(StringComparer.Ordinal);
            string? lastKey = null;
            while (source.Next() is { } row)
            {
                if (rowIds is not null) row = WithRowId(row, rowIds);
                if (skip > 0) { skip--; continue; }
                var key = processor.KeyOf(row);
                var full = batch.Count >= BatchRows && (!processor.GroupsRows || key != lastKey);
                var repeat = !processor.GroupsRows && key is not null && keys.Contains(key);
                if (full || repeat)
                {
                    await CommitAsync(job, processor, batch, source.Position, ct);
                    afterBatch?.Invoke(job);
                    batch.Clear();
                    keys.Clear();
                }
                batch.Add(row);
                if (key is not null) keys.Add(key);
                lastKey = key;
            }
            await CommitAsync(job, processor, batch, job.FileSize, ct, finished: true);
            afterBatch?.Invoke(job);
        }
        catch (Exception e) when (e is ImportSetupException or InvalidDataException or CsvHelper.CsvHelperException or IOException)
        {
            await FailAsync(jobId, e is ImportSetupException ? e.Message : "The file could not be read: " + e.Message, CancellationToken.None);
        }
    }

    private static ImportRow WithRowId(ImportRow row, Dictionary<string, int> seen)
    {
        var occurrence = seen[row.Raw] = seen.GetValueOrDefault(row.Raw) + 1;
        return row with { RowId = ImportValues.RowId(row.Raw, occurrence) };
    }

    public async Task FailAsync(Guid jobId, string error, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = clock.GetUtcNow().UtcDateTime;
        var message = error.Length > 2000 ? error[..2000] : error;
        await db.ImportJobs.Where(j => j.Id == jobId).ExecuteUpdateAsync(s => s
            .SetProperty(j => j.Status, ImportStatus.Failed).SetProperty(j => j.Error, message)
            .SetProperty(j => j.FinishedAt, now).SetProperty(j => j.HeartbeatAt, now), ct);
    }

    private async Task CommitAsync(ImportJob job, BatchProcessor processor, List<ImportRow> rows, long position, CancellationToken ct, bool finished = false)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        db.ChangeTracker.AutoDetectChangesEnabled = false;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var result = new BatchResult { Rows = rows.Count };
        if (rows.Count > 0)
        {
            await processor.ProcessAsync(db, rows, result, ct);
            db.ChangeTracker.DetectChanges();
            // A dry run counts what would happen and keeps the rejects, but writes no records.
            if (job.DryRun) db.ChangeTracker.Clear();
            // New records go in bulk; SaveChanges below writes the changed ones and the job's counters.
            else
            {
                await BulkInsert.WriteAsync(db, result.NewRecords, ct);
                foreach (var update in result.Updates) await update(db, ct);
            }
        }
        var now = clock.GetUtcNow().UtcDateTime;
        job.Rows += result.Rows;
        job.Rejected += result.Rejects.Count;
        job.Accepted += result.Rows - result.Rejects.Count;
        job.Created += result.Created;
        job.Updated += result.Updated;
        job.Unchanged += result.Unchanged;
        job.BytesRead = Math.Min(position, job.FileSize);
        job.HeartbeatAt = now;
        if (finished)
        {
            job.Status = ImportStatus.Succeeded;
            job.FinishedAt = now;
            job.BytesRead = job.FileSize;
        }
        foreach (var r in result.Rejects) r.JobId = job.Id;
        db.ImportRejects.AddRange(result.Rejects);
        var entry = db.ImportJobs.Attach(job);
        foreach (var p in new[] { nameof(ImportJob.Rows), nameof(ImportJob.Rejected), nameof(ImportJob.Accepted), nameof(ImportJob.Created),
                     nameof(ImportJob.Updated), nameof(ImportJob.Unchanged), nameof(ImportJob.BytesRead), nameof(ImportJob.HeartbeatAt),
                     nameof(ImportJob.Status), nameof(ImportJob.FinishedAt) })
            entry.Property(p).IsModified = true;
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
    }

    private async Task<Actor> ActorOfAsync(Guid? userId, CancellationToken ct)
    {
        if (userId is null) return Actor.System;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == userId, ct);
        return user is null ? Actor.System : Actor.From(user);
    }
}
