using Kolo.Core.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Kolo.Core.Integration;

public enum ImportKind { Customers, Products, Orders }

public enum ImportStatus { Queued, Running, Succeeded, Failed }

/// <summary>
/// One uploaded file being imported in the background. The file waits under the data directory; progress and counts
/// are updated as batches commit, so a poller (or a second node after a crash) sees how far it got.
/// </summary>
public sealed class ImportJob
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public ImportKind Kind { get; set; }
    public ImportStatus Status { get; set; }
    public bool DryRun { get; set; }
    public string FileName { get; set; } = "";
    public long FileSize { get; set; }
    /// <summary>Target field → source column, as JSON.</summary>
    public Dictionary<string, string> Mapping { get; set; } = [];
    public Guid? CreatedById { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? StartedAt { get; set; }
    public DateTime? FinishedAt { get; set; }
    /// <summary>When the running node last reported; a stale heartbeat lets another node take the job over.</summary>
    public DateTime? HeartbeatAt { get; set; }
    public long BytesRead { get; set; }
    public int Rows { get; set; }
    public int Accepted { get; set; }
    public int Rejected { get; set; }
    public int Created { get; set; }
    public int Updated { get; set; }
    public int Unchanged { get; set; }
    public string? Error { get; set; }

    public int Progress => Status == ImportStatus.Succeeded ? 100 : FileSize == 0 ? 0 : (int)Math.Min(99, BytesRead * 100 / FileSize);
}

/// <summary>A row the import refused, with its line number and the reason, for the rejects file.</summary>
public sealed class ImportReject
{
    public long Id { get; set; }
    public Guid JobId { get; set; }
    public int Line { get; set; }
    public string Reason { get; set; } = "";
    public string? Raw { get; set; }
}

/// <summary>A column mapping a user saved, so the next file of the same shape maps itself.</summary>
public sealed class ImportMapping
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public ImportKind Kind { get; set; }
    public string Name { get; set; } = "";
    /// <summary>The file's header columns joined, to recognise the same shape again.</summary>
    public string HeaderSignature { get; set; } = "";
    public Dictionary<string, string> Mapping { get; set; } = [];
    public DateTime CreatedAt { get; set; }
}

public sealed class ImportJobConfiguration : IEntityTypeConfiguration<ImportJob>
{
    public void Configure(EntityTypeBuilder<ImportJob> b)
    {
        b.ToTable("import_jobs");
        b.Property(j => j.Kind).HasConversion<string>().HasMaxLength(12);
        b.Property(j => j.Status).HasConversion<string>().HasMaxLength(12);
        b.Property(j => j.FileName).HasMaxLength(255);
        b.Property(j => j.Error).HasMaxLength(2000);
        b.Property(j => j.Mapping).HasConversion(new DictionaryJsonConverter(), DictionaryJsonConverter.Comparer);
        b.Ignore(j => j.Progress);
        b.HasIndex(j => new { j.Status, j.CreatedAt });
    }
}

public sealed class ImportRejectConfiguration : IEntityTypeConfiguration<ImportReject>
{
    public void Configure(EntityTypeBuilder<ImportReject> b)
    {
        b.ToTable("import_rejects");
        b.Property(r => r.Reason).HasMaxLength(500);
        b.Property(r => r.Raw).HasMaxLength(4000);
        b.HasOne<ImportJob>().WithMany().HasForeignKey(r => r.JobId).OnDelete(DeleteBehavior.Cascade);
        b.HasIndex(r => new { r.JobId, r.Line });
    }
}

public sealed class ImportMappingConfiguration : IEntityTypeConfiguration<ImportMapping>
{
    public void Configure(EntityTypeBuilder<ImportMapping> b)
    {
        b.ToTable("import_mappings");
        b.Property(m => m.Kind).HasConversion<string>().HasMaxLength(12);
        b.Property(m => m.Name).HasMaxLength(100);
        b.Property(m => m.HeaderSignature).HasMaxLength(2000);
        b.Property(m => m.Mapping).HasConversion(new DictionaryJsonConverter(), DictionaryJsonConverter.Comparer);
        b.HasIndex(m => new { m.Kind, m.Name }).IsUnique();
    }
}
