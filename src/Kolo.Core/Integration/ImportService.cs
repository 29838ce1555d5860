using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Integration;

public sealed record ImportJobView(Guid Id, ImportKind Kind, ImportStatus Status, bool DryRun, string FileName, long FileSize,
    IReadOnlyDictionary<string, string> Mapping, int Progress, int Rows, int Accepted, int Rejected, int Created, int Updated,
    int Unchanged, string? Error, Guid? CreatedById, DateTime CreatedAt, DateTime? StartedAt, DateTime? FinishedAt)
{
    public static ImportJobView From(ImportJob j) => new(j.Id, j.Kind, j.Status, j.DryRun, j.FileName, j.FileSize, j.Mapping, j.Progress,
        j.Rows, j.Accepted, j.Rejected, j.Created, j.Updated, j.Unchanged, j.Error, j.CreatedById, j.CreatedAt, j.StartedAt, j.FinishedAt);
}

public sealed record ImportMappingView(Guid Id, ImportKind Kind, string Name, string HeaderSignature, IReadOnlyDictionary<string, string> Mapping, DateTime CreatedAt);

public sealed record PreviewRow(int Line, IReadOnlyList<string> Values, string? Error);

public sealed record ImportPreview(ImportKind Kind, IReadOnlyList<string> Header, IReadOnlyDictionary<string, string> Mapping,
    string? MappingSource, string? MappingError, IReadOnlyList<string> MappingProblems, IReadOnlyList<PreviewRow> Rows, IReadOnlyList<ImportField> Fields, IReadOnlyDictionary<string, string> Options);

/// <summary>
/// Import jobs: queueing, reading their state and rejects, saved mappings, the wizard's preview, and the claim that
/// lets exactly one node run each job. Only Admin and Manager import: an import writes many records at once.
/// </summary>
public sealed class ImportService(IDbContextFactory<KoloDb> dbFactory, TimeProvider clock, PhoneNormalizer phones, CustomerService customers)
{
    public const int PreviewRows = 20;

    public static void EnsureCanImport(Actor actor)
    {
        if (!actor.IsAdminOrManager) throw new ForbiddenException("Only managers and admins import data.");
    }

    /// <summary>
    /// Checks the mapping against the file's header and queues the job (its file must already be in place). A
    /// mapping name saves the mapping for files of the same shape.
    /// </summary>
    public async Task<ImportJobView> QueueAsync(Actor actor, ImportJob job, IReadOnlyList<string> header, string? saveMappingAs, CancellationToken ct = default)
    {
        EnsureCanImport(actor);
        try { _ = new ColumnMap(job.Kind, job.Mapping, header); }
        catch (ImportSetupException e) { throw new ValidationFailedException(new Dictionary<string, string[]> { ["mapping"] = [.. e.Problems] }); }
        var now = clock.GetUtcNow().UtcDateTime;
        job.Status = ImportStatus.Queued;
        job.CreatedAt = now;
        job.CreatedById = actor.UserId == Guid.Empty ? null : actor.UserId;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        db.ImportJobs.Add(job);
        if (!string.IsNullOrWhiteSpace(saveMappingAs))
        {
            var name = saveMappingAs.Trim();
            if (name.Length > 100) throw ValidationFailedException.For("mappingName", "At most 100 characters.");
            var saved = await db.ImportMappings.FirstOrDefaultAsync(m => m.Kind == job.Kind && m.Name == name, ct);
            if (saved is null) db.ImportMappings.Add(saved = new ImportMapping { Kind = job.Kind, Name = name, CreatedAt = now });
            saved.HeaderSignature = Cut(ImportFields.Signature(header), 2000);
            saved.Mapping = new Dictionary<string, string>(job.Mapping);
        }
        await db.SaveChangesAsync(ct);
        return ImportJobView.From(job);
    }

    public async Task<ImportJobView> GetAsync(Actor actor, Guid id, CancellationToken ct = default)
    {
        EnsureCanImport(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var job = await db.ImportJobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == id, ct) ?? throw new NotFoundException("Import", id);
        return ImportJobView.From(job);
    }

    public async Task<IReadOnlyList<ImportJobView>> RecentAsync(Actor actor, int limit, CancellationToken ct = default)
    {
        EnsureCanImport(actor);
        if (limit is < 1 or > 500) throw ValidationFailedException.For("limit", "Limit must be between 1 and 500.");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var jobs = await db.ImportJobs.AsNoTracking().OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.Id).Take(limit).ToListAsync(ct);
        return jobs.Select(ImportJobView.From).ToList();
    }

    /// <summary>The job's rejected rows in file order, read as they are written out.</summary>
    public async IAsyncEnumerable<ImportReject> RejectsAsync(Actor actor, Guid id, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        EnsureCanImport(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (!await db.ImportJobs.AnyAsync(j => j.Id == id, ct)) throw new NotFoundException("Import", id);
        await foreach (var r in db.ImportRejects.AsNoTracking().Where(r => r.JobId == id).OrderBy(r => r.Line).ThenBy(r => r.Id).AsAsyncEnumerable().WithCancellation(ct))
            yield return r;
    }

    public async Task<IReadOnlyList<ImportMappingView>> MappingsAsync(Actor actor, ImportKind? kind, CancellationToken ct = default)
    {
        EnsureCanImport(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var q = db.ImportMappings.AsNoTracking();
        if (kind is { } k) q = q.Where(m => m.Kind == k);
        var rows = await q.OrderBy(m => m.Name).Take(500).ToListAsync(ct);
        return rows.Select(m => new ImportMappingView(m.Id, m.Kind, m.Name, m.HeaderSignature, m.Mapping, m.CreatedAt)).ToList();
    }

    /// <summary>
    /// The file's header, a mapping (the one given; else a saved mapping for the same header; else by column names),
    /// and the first rows, each checked on its own as the import would.
    /// </summary>
    public async Task<ImportPreview> PreviewAsync(Actor actor, ImportKind kind, string path, string fileName, IReadOnlyDictionary<string, string>? mapping, CancellationToken ct = default)
    {
        EnsureCanImport(actor);
        using var source = ImportSource.Open(path, fileName);
        var header = source.Header;
        string? mappingSource;
        if (mapping is { Count: > 0 }) mappingSource = "given";
        else
        {
            var signature = Cut(ImportFields.Signature(header), 2000);
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            var saved = await db.ImportMappings.AsNoTracking().Where(m => m.Kind == kind && m.HeaderSignature == signature)
                .OrderByDescending(m => m.CreatedAt).FirstOrDefaultAsync(ct);
            (mapping, mappingSource) = saved is not null ? (saved.Mapping, $"saved:{saved.Name}") : (ImportFields.Suggest(kind, header), "suggested");
        }
        IReadOnlyList<string> mappingProblems = [];
        BatchProcessor? processor = null;
        try { processor = BatchProcessor.For(kind, new ColumnMap(kind, mapping, header), actor, clock, phones, customers); }
        catch (ImportSetupException e) { mappingProblems = e.Problems; }
        var rows = new List<PreviewRow>();
        while (rows.Count < PreviewRows && source.Next() is { } row)
        {
            if (row.RowId is null && mapping.TryGetValue(ImportFields.OptionPrefix + "externalIdFromRow", out var flag) && flag is "true" or "yes" or "1")
                row = row with { RowId = ImportValues.RowId(row.Raw, 1) };
            string? error = null;
            try { processor?.Validate(row); }
            catch (RowRejectedException e) { error = e.Message; }
            rows.Add(new PreviewRow(row.Line, row.Values, error));
        }
        return new ImportPreview(kind, header, mapping, mappingSource, mappingProblems.Count > 0 ? string.Join(" ", mappingProblems) : null, mappingProblems, rows, ImportFields.For(kind), ImportFields.Options);
    }

    /// <summary>
    /// Takes the oldest queued job, or a running one whose node stopped reporting, with a conditional update: when
    /// several nodes try at once, exactly one update matches and that node runs it.
    /// </summary>
    public async Task<ImportJob?> ClaimNextAsync(TimeSpan staleAfter, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = clock.GetUtcNow().UtcDateTime;
        var staleBefore = now - staleAfter;
        var candidates = await db.ImportJobs.AsNoTracking()
            .Where(j => j.Status == ImportStatus.Queued || (j.Status == ImportStatus.Running && j.HeartbeatAt < staleBefore))
            .OrderBy(j => j.CreatedAt).Select(j => new { j.Id, j.Status, j.HeartbeatAt }).Take(5).ToListAsync(ct);
        foreach (var c in candidates)
        {
            var status = c.Status;
            var beat = c.HeartbeatAt;
            var claimed = await db.ImportJobs
                .Where(j => j.Id == c.Id && j.Status == status && j.HeartbeatAt == beat)
                .ExecuteUpdateAsync(s => s.SetProperty(j => j.Status, ImportStatus.Running).SetProperty(j => j.HeartbeatAt, now)
                    .SetProperty(j => j.StartedAt, j => j.StartedAt ?? now), ct);
            if (claimed == 1) return await db.ImportJobs.AsNoTracking().FirstAsync(j => j.Id == c.Id, ct);
        }
        return null;
    }

    /// <summary>The running node is alive: keeps others from taking the job over.</summary>
    public async Task HeartbeatAsync(Guid id, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = clock.GetUtcNow().UtcDateTime;
        await db.ImportJobs.Where(j => j.Id == id && j.Status == ImportStatus.Running).ExecuteUpdateAsync(s => s.SetProperty(j => j.HeartbeatAt, now), ct);
    }

    private static string Cut(string text, int max) => text.Length <= max ? text : text[..max];
}
