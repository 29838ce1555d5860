using System.Globalization;
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

    /// <summary>
    /// True when these rows must not be prepared before the previous batch is committed (beyond sharing a key with
    /// it, which the engine checks): they would read what that batch is still writing.
    /// </summary>
    public virtual bool DependsOnPreviousBatch(List<ImportRow> rows) => false;

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
    /// <summary>
    /// Rows per batch; a batch ends at an order boundary, so it may run a little over. Unset: 50,000 on SQLite, where
    /// each commit rewrites every index page its batch touched (the customer indexes and search terms are keyed by
    /// name, so a batch touches most of their pages) and fewer, larger commits write several times less; 10,000 on
    /// PostgreSQL, where a commit costs little. A SQLite batch holds the database's single write lock while it is
    /// written, a few seconds at 50,000 rows.
    /// </summary>
    public int? BatchRows { get; set; }

    /// <summary>
    /// Processes the job. <paramref name="afterBatch"/> sees the job after each commit (progress, tests), on the writing
    /// thread, one batch at a time.
    /// </summary>
    /// <remarks>
    /// Two batches are in hand at once: while one is written and committed, the next is read, checked and turned into
    /// records, so the parsing and the database work overlap. A batch that names a record of the batch still being
    /// written (the same key, or a return of a line it may hold) waits for that commit before it is prepared.
    /// Batches commit strictly in file order, each with the job's counters, so a crash still loses no row and
    /// repeats none.
    /// </remarks>
    public async Task RunAsync(Guid jobId, string path, Action<ImportJob>? afterBatch = null, CancellationToken ct = default)
    {
        ImportJob job;
        bool sqlite;
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            sqlite = db.Database.IsSqlite();
            job = await db.ImportJobs.AsNoTracking().FirstAsync(j => j.Id == jobId, ct);
            if (job.DryRun && job.Rows > 0)
            {
                // A dry run wrote nothing but counts; starting over is simpler than resuming them.
                await db.ImportRejects.Where(r => r.JobId == jobId).ExecuteDeleteAsync(ct);
                job.Rows = job.Accepted = job.Rejected = job.Created = job.Updated = job.Unchanged = 0;
            }
        }
        var actor = await ActorOfAsync(job.CreatedById, ct);
        var batchRows = BatchRows ?? (sqlite ? 50_000 : 10_000);
        Task? writing = null;
        var writingKeys = new HashSet<string>(StringComparer.Ordinal);
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

            async Task HandOverAsync(long position, bool finished)
            {
                if (writing is not null && (keys.Overlaps(writingKeys) || processor.DependsOnPreviousBatch(batch)))
                {
                    await writing;
                    writing = null;
                }
                var prepared = await PrepareAsync(processor, batch, ct);
                if (writing is not null)
                {
                    try { await writing; }
                    catch { await prepared.Db.DisposeAsync(); throw; }
                }
                // On a thread of its own: SQLite's "async" calls complete synchronously, which would serialise the two.
                writing = Task.Run(() => CommitAsync(job, prepared, position, finished, afterBatch, ct), CancellationToken.None);
                (writingKeys, keys) = (keys, writingKeys);
                keys.Clear();
                batch = [];
            }

            while (source.Next() is { } row)
            {
                if (rowIds is not null) row = WithRowId(row, rowIds);
                if (skip > 0) { skip--; continue; }
                var key = processor.KeyOf(row);
                // A row without a key (rejected in its batch) does not end a batch, so it cannot split the order around it
                // — unless keyless rows go on and on (a wrong column mapped): then the batch ends at twice its size.
                var full = batch.Count >= batchRows && (!processor.GroupsRows || (key is not null ? key != lastKey : batch.Count >= 2 * batchRows));
                var repeat = !processor.GroupsRows && key is not null && keys.Contains(key);
                if (full || repeat) await HandOverAsync(source.Position, finished: false);
                batch.Add(row);
                if (key is not null)
                {
                    keys.Add(key);
                    lastKey = key;
                }
            }
            await HandOverAsync(job.FileSize, finished: true);
            await writing!;
        }
        catch (Exception e) when (e is ImportSetupException or InvalidDataException or CsvHelper.CsvHelperException or IOException)
        {
            await SettleAsync(writing);
            await FailAsync(jobId, e is ImportSetupException ? e.Message : "The file could not be read: " + e.Message, CancellationToken.None);
        }
        catch
        {
            await SettleAsync(writing);
            throw;
        }
    }

    /// <summary>Lets the batch being written finish (or fail) before the job is given up; the first error is the one reported.</summary>
    private static async Task SettleAsync(Task? writing)
    {
        if (writing is null) return;
        try { await writing; }
        catch (Exception) { /* already failing for another reason */ }
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

    /// <summary>A batch turned into records, with the context that read it (it tracks the changed records) — not yet written.</summary>
    private sealed record PreparedBatch(KoloDb Db, BatchResult Result);

    private async Task<PreparedBatch> PrepareAsync(BatchProcessor processor, List<ImportRow> rows, CancellationToken ct)
    {
        var db = await dbFactory.CreateDbContextAsync(ct);
        try
        {
            db.ChangeTracker.AutoDetectChangesEnabled = false;
            if (db.Database.IsNpgsql())
            {
                // A batch looks its records up by key: a thousand index probes. PostgreSQL's default costs (random reads
                // priced for spinning disks) make a full scan of a table of up to a few hundred thousand rows look
                // cheaper, and it is ten times slower. The setting lives on this context's connection, which the pool
                // resets when the batch is written and the context disposed.
                await db.Database.OpenConnectionAsync(ct);
                await db.Database.ExecuteSqlRawAsync("SET enable_seqscan = off", ct);
            }
            var result = new BatchResult { Rows = rows.Count };
            if (rows.Count > 0) await processor.ProcessAsync(db, rows, result, ct);
            db.ChangeTracker.DetectChanges();
            return new PreparedBatch(db, result);
        }
        catch
        {
            await db.DisposeAsync();
            throw;
        }
    }

    /// <summary>Writes a prepared batch with the job's counters and rejects in one transaction.</summary>
    private async Task CommitAsync(ImportJob job, PreparedBatch batch, long position, bool finished, Action<ImportJob>? afterBatch, CancellationToken ct)
    {
        await using var db = batch.Db;
        var result = batch.Result;
        await using var relaxed = await SqliteImportSettings.ApplyAsync(db, ct);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        // A dry run counts what would happen and keeps the rejects, but writes no records.
        if (job.DryRun) db.ChangeTracker.Clear();
        // New records go in bulk; SaveChanges below writes the changed ones and the job's counters.
        else if (result.Rows > 0)
        {
            await BulkInsert.WriteAsync(db, result.NewRecords, ct);
            foreach (var update in result.Updates) await update(db, ct);
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
        afterBatch?.Invoke(job);
    }

    private async Task<Actor> ActorOfAsync(Guid? userId, CancellationToken ct)
    {
        if (userId is null) return Actor.System;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == userId, ct);
        return user is null ? Actor.System : Actor.From(user);
    }
}

/// <summary>
/// SQLite settings for an import's write transactions, restored before the pooled connection goes back. Each batch
/// commits without waiting for the disk (synchronous NORMAL: in WAL mode a power cut may lose the last batches but
/// never corrupts the file, and the job's counters commit with its rows, so a re-run redoes exactly those), and the
/// write-ahead log is copied into the database every 400 MB instead of every 4 MB (each copy ends with a disk flush).
/// </summary>
internal sealed class SqliteImportSettings : IAsyncDisposable
{
    private static readonly (string Name, long Import)[] Settings = [("synchronous", 1), ("wal_autocheckpoint", 100_000), ("cache_size", -131_072)];

    private readonly KoloDb? _db;
    private readonly long[] _before = new long[Settings.Length];

    private SqliteImportSettings(KoloDb? db) => _db = db;

    public static async Task<SqliteImportSettings> ApplyAsync(KoloDb db, CancellationToken ct)
    {
        if (!db.Database.IsSqlite()) return new SqliteImportSettings(null);
        await db.Database.OpenConnectionAsync(ct);
        var settings = new SqliteImportSettings(db);
        for (var i = 0; i < Settings.Length; i++)
        {
            settings._before[i] = Convert.ToInt64(await PragmaAsync(db, Settings[i].Name, null, ct), CultureInfo.InvariantCulture);
            await PragmaAsync(db, Settings[i].Name, Settings[i].Import, ct);
        }
        return settings;
    }

    public async ValueTask DisposeAsync()
    {
        if (_db is null) return;
        for (var i = 0; i < Settings.Length; i++) await PragmaAsync(_db, Settings[i].Name, _before[i], CancellationToken.None);
        await _db.Database.CloseConnectionAsync();
    }

    private static async Task<object?> PragmaAsync(KoloDb db, string name, long? value, CancellationToken ct)
    {
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = value is { } v ? $"PRAGMA {name} = {v.ToString(CultureInfo.InvariantCulture)}" : $"PRAGMA {name}";
        return await command.ExecuteScalarAsync(ct);
    }
}
