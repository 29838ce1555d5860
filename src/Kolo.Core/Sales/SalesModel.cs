using Kolo.Core.Customers;
using Kolo.Core.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Kolo.Core.Sales;

public enum StageKind { Open, Won, Lost }

public enum DealStatus { Open, Won, Lost }

/// <summary>The rep's own call on a deal, as in most CRMs: pipeline (maybe), best case (could close), commit (will close), omitted.</summary>
public enum ForecastCategory { Pipeline, BestCase, Commit, Omitted }

public enum LeadStatus { New, Contacted, Qualified, Disqualified }

public enum PeriodKind { Month, Quarter }

/// <summary>A sales process: ordered stages, each with a default chance of winning.</summary>
public sealed class Pipeline
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public string Name { get; set; } = "";
    public int SortOrder { get; set; }
    public bool IsDefault { get; set; }
    public List<Stage> Stages { get; set; } = [];
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    public DateTime? ArchivedAt { get; set; }
    public Guid Version { get; set; } = Guid.NewGuid();
}

public sealed class Stage
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid PipelineId { get; set; }
    public string Name { get; set; } = "";
    public int Position { get; set; }
    /// <summary>Default win probability, 0–100 (Won is 100 and Lost 0 whatever is set).</summary>
    public int Probability { get; set; }
    public StageKind Kind { get; set; }
    public DateTime? ArchivedAt { get; set; }
}

/// <summary>An opportunity: what may be sold to a customer, for how much, when, and how likely.</summary>
public sealed class Deal
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public string Name { get; set; } = "";
    public Guid CustomerId { get; set; }
    public Guid PipelineId { get; set; }
    public Guid StageId { get; set; }
    public long AmountMinor { get; set; }
    public string Currency { get; set; } = "UAH";
    /// <summary>A probability the rep set for this deal (0–100); the stage's default when null.</summary>
    public int? ProbabilityOverride { get; set; }
    /// <summary>The probability in force, kept in step with the stage and the override (so sums run in SQL).</summary>
    public int Probability { get; set; }
    public ForecastCategory ForecastCategory { get; set; }
    public DateOnly? ExpectedCloseDate { get; set; }
    public Guid? OwnerId { get; set; }
    public string? SourceCampaign { get; set; }
    public DealStatus Status { get; set; }
    public string? CloseReason { get; set; }
    public DateTime? ClosedAt { get; set; }
    public DateTime StageEnteredAt { get; set; }
    /// <summary>The last activity (an interaction about the deal, a stage move, an edit): deals idle too long are at risk.</summary>
    public DateTime LastActivityAt { get; set; }
    public Guid? LeadId { get; set; }
    /// <summary>The quote made from the deal's lines, once made.</summary>
    public Guid? QuoteOrderId { get; set; }
    public List<DealLine> Lines { get; set; } = [];
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    public DateTime? ArchivedAt { get; set; }
    public Guid Version { get; set; } = Guid.NewGuid();
}

public sealed class DealLine
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid DealId { get; set; }
    public int LineNo { get; set; }
    public Guid? ProductId { get; set; }
    public string Sku { get; set; } = "";
    public string Description { get; set; } = "";
    public int Quantity { get; set; }
    public long UnitPriceMinor { get; set; }
    public long DiscountMinor { get; set; }
}

/// <summary>One stay of a deal in a stage: when it entered, when it left, who moved it.</summary>
public sealed class DealStageChange
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid DealId { get; set; }
    public Guid StageId { get; set; }
    public DateTime EnteredAt { get; set; }
    public DateTime? LeftAt { get; set; }
    public Guid? ById { get; set; }
    public string ByName { get; set; } = "";
}

/// <summary>A prospect not yet qualified: where it came from and how far qualification got.</summary>
public sealed class Lead
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public string? FirstName { get; set; }
    public string? LastName { get; set; }
    public string? CompanyName { get; set; }
    public string? Email { get; set; }
    public string? Phone { get; set; }
    public string? Source { get; set; }
    public LeadStatus Status { get; set; }
    public Guid? OwnerId { get; set; }
    public string? Notes { get; set; }
    public string? DisqualifyReason { get; set; }
    public Guid? CustomerId { get; set; }
    public Guid? DealId { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    public DateTime? ArchivedAt { get; set; }
    public Guid Version { get; set; } = Guid.NewGuid();
}

/// <summary>A sales target for a user or a team and a month or quarter, in the sales currency.</summary>
public sealed class SalesTarget
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid? UserId { get; set; }
    public string? Team { get; set; }
    public PeriodKind Period { get; set; }
    /// <summary>The first day of the month or quarter.</summary>
    public DateOnly PeriodStart { get; set; }
    public long AmountMinor { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    public Guid Version { get; set; } = Guid.NewGuid();
}

/// <summary>How variable pay is earned: a base rate on won amount and higher rates above given attainments (accelerators).</summary>
public sealed class CommissionPlan
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public string Name { get; set; } = "";
    /// <summary>The plan of this user; of this team when <see cref="UserId"/> is null; everyone's when both are null.</summary>
    public Guid? UserId { get; set; }
    public string? Team { get; set; }
    public int BaseRateBasisPoints { get; set; }
    public List<CommissionTier> Tiers { get; set; } = [];
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    public Guid Version { get; set; } = Guid.NewGuid();
}

public sealed class CommissionTier
{
    /// <summary>From this attainment of the target (percent, e.g. 100) the rate applies to the won amount above it.</summary>
    public int FromAttainmentPercent { get; set; }
    public int RateBasisPoints { get; set; }
}

public sealed class SalesSettings
{
    public const int SingletonId = 1;
    public int Id { get; set; } = SingletonId;
    /// <summary>Forecasts, targets and commissions count deals in this currency.</summary>
    public string Currency { get; set; } = "UAH";
    /// <summary>An open deal with no activity for this many days is at risk.</summary>
    public int AtRiskDays { get; set; } = 14;
    public Guid Version { get; set; } = Guid.NewGuid();
}

internal sealed class SalesConfiguration :
    IEntityTypeConfiguration<Pipeline>, IEntityTypeConfiguration<Stage>, IEntityTypeConfiguration<Deal>, IEntityTypeConfiguration<DealLine>,
    IEntityTypeConfiguration<DealStageChange>, IEntityTypeConfiguration<Lead>, IEntityTypeConfiguration<SalesTarget>,
    IEntityTypeConfiguration<CommissionPlan>, IEntityTypeConfiguration<SalesSettings>
{
    public void Configure(EntityTypeBuilder<Pipeline> b)
    {
        b.ToTable("pipelines");
        b.Property(p => p.Name).HasMaxLength(100);
        b.HasMany(p => p.Stages).WithOne().HasForeignKey(s => s.PipelineId).OnDelete(DeleteBehavior.Cascade);
    }

    public void Configure(EntityTypeBuilder<Stage> b)
    {
        b.ToTable("pipeline_stages");
        b.Property(s => s.Name).HasMaxLength(100);
        b.Property(s => s.Kind).HasConversion<string>().HasMaxLength(8);
        b.HasIndex(s => new { s.PipelineId, s.Position });
    }

    public void Configure(EntityTypeBuilder<Deal> b)
    {
        b.ToTable("deals");
        b.Property(d => d.Name).HasMaxLength(200);
        b.Property(d => d.Currency).HasMaxLength(3);
        b.Property(d => d.Status).HasConversion<string>().HasMaxLength(8);
        b.Property(d => d.ForecastCategory).HasConversion<string>().HasMaxLength(10);
        b.Property(d => d.SourceCampaign).HasMaxLength(200);
        b.Property(d => d.CloseReason).HasMaxLength(500);
        b.HasOne<Customer>().WithMany().HasForeignKey(d => d.CustomerId).OnDelete(DeleteBehavior.Restrict);
        b.HasOne<Pipeline>().WithMany().HasForeignKey(d => d.PipelineId).OnDelete(DeleteBehavior.Restrict);
        b.HasOne<Stage>().WithMany().HasForeignKey(d => d.StageId).OnDelete(DeleteBehavior.Restrict);
        b.HasMany(d => d.Lines).WithOne().HasForeignKey(l => l.DealId).OnDelete(DeleteBehavior.Cascade);
        // The board (stage columns), the lists and the forecast walk these.
        b.HasIndex(d => new { d.StageId, d.ExpectedCloseDate, d.Id });
        b.HasIndex(d => new { d.Status, d.ExpectedCloseDate });
        b.HasIndex(d => new { d.Status, d.ClosedAt });
        b.HasIndex(d => new { d.OwnerId, d.Status });
        b.HasIndex(d => new { d.CustomerId, d.CreatedAt });
        b.HasIndex(d => new { d.Status, d.LastActivityAt });
        b.HasIndex(d => new { d.CreatedAt, d.Id });
    }

    public void Configure(EntityTypeBuilder<DealLine> b)
    {
        b.ToTable("deal_lines");
        b.Property(l => l.Sku).HasMaxLength(64);
        b.Property(l => l.Description).HasMaxLength(500);
        b.HasIndex(l => new { l.DealId, l.LineNo }).IsUnique();
    }

    public void Configure(EntityTypeBuilder<DealStageChange> b)
    {
        b.ToTable("deal_stage_changes");
        b.Property(c => c.ByName).HasMaxLength(200);
        b.HasOne<Deal>().WithMany().HasForeignKey(c => c.DealId).OnDelete(DeleteBehavior.Cascade);
        b.HasIndex(c => new { c.DealId, c.EnteredAt });
        b.HasIndex(c => c.StageId);
    }

    public void Configure(EntityTypeBuilder<Lead> b)
    {
        b.ToTable("leads");
        b.Property(l => l.FirstName).HasMaxLength(100);
        b.Property(l => l.LastName).HasMaxLength(100);
        b.Property(l => l.CompanyName).HasMaxLength(200);
        b.Property(l => l.Email).HasMaxLength(320);
        b.Property(l => l.Phone).HasMaxLength(40);
        b.Property(l => l.Source).HasMaxLength(100);
        b.Property(l => l.Status).HasConversion<string>().HasMaxLength(14);
        b.Property(l => l.DisqualifyReason).HasMaxLength(500);
        b.HasIndex(l => new { l.Status, l.CreatedAt });
        b.HasIndex(l => new { l.OwnerId, l.Status });
        b.HasIndex(l => new { l.CreatedAt, l.Id });
    }

    public void Configure(EntityTypeBuilder<SalesTarget> b)
    {
        b.ToTable("sales_targets");
        b.Property(t => t.Team).HasMaxLength(100);
        b.Property(t => t.Period).HasConversion<string>().HasMaxLength(8);
        b.HasIndex(t => new { t.PeriodStart, t.UserId });
    }

    public void Configure(EntityTypeBuilder<CommissionPlan> b)
    {
        b.ToTable("commission_plans");
        b.Property(p => p.Name).HasMaxLength(100);
        b.Property(p => p.Team).HasMaxLength(100);
        b.OwnsMany(p => p.Tiers, t => t.ToJson());
    }

    public void Configure(EntityTypeBuilder<SalesSettings> b)
    {
        b.ToTable("sales_settings");
        b.Property(s => s.Id).ValueGeneratedNever();
        b.Property(s => s.Currency).HasMaxLength(3);
    }
}
