using Kolo.Core.Customers;
using Kolo.Core.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Kolo.Core.Analytics;

/// <summary>
/// The latest analytics of one customer, as of <see cref="AsOf"/>: RFM, the lifetime-value model's predictions,
/// profitability and the next best offers. Recomputed for every customer at once (set-based), never edited.
/// </summary>
public sealed class CustomerScore
{
    public Guid CustomerId { get; set; }
    public DateTime AsOf { get; set; }
    /// <summary>Orders counted (confirmed, shipped, delivered; returns reduce revenue but are not purchases).</summary>
    public int Orders { get; set; }
    /// <summary>Distinct purchase days: purchases on one day count once (the models' unit of a transaction).</summary>
    public int PurchaseDays { get; set; }
    public DateTime? FirstPurchaseAt { get; set; }
    public DateTime? LastPurchaseAt { get; set; }
    /// <summary>Days from the last purchase to <see cref="AsOf"/>; null without purchases.</summary>
    public int? RecencyDays { get; set; }
    public int? RecencyScore { get; set; }
    public int? FrequencyScore { get; set; }
    public int? MonetaryScore { get; set; }
    public string? Segment { get; set; }
    public double? ProbabilityAlive { get; set; }
    /// <summary>Expected purchases (days with a purchase) in the next <see cref="AnalyticsSettings.PredictionDays"/>.</summary>
    public double? ExpectedPurchases { get; set; }
    public long? ExpectedOrderValueMinor { get; set; }
    /// <summary>Predicted lifetime value over the settings' horizon, discounted; 0 without a fitted model or purchases.</summary>
    public long ClvMinor { get; set; }
    public long RevenueMinor { get; set; }
    public long CostOfGoodsMinor { get; set; }
    public long DiscountsMinor { get; set; }
    public long CostToServeMinor { get; set; }
    public long AcquisitionCostMinor { get; set; }
    public long MarginMinor { get; set; }
    /// <summary>Revenue a lost customer would take with them: their average yearly revenue over the prediction horizon.</summary>
    public long ValueAtStakeMinor { get; set; }
    public string Currency { get; set; } = "UAH";
    public List<Offer> Offers { get; set; } = [];
    public DateTime ComputedAt { get; set; }
}

/// <summary>A product to offer and why: a rule's antecedent the customer bought, or an up-sell within a category.</summary>
public sealed class Offer
{
    public Guid ProductId { get; set; }
    public string Sku { get; set; } = "";
    public string Name { get; set; } = "";
    /// <summary>cross-sell (an association rule) or up-sell (a dearer product of a category the customer buys).</summary>
    public string Kind { get; set; } = "";
    /// <summary>Names of the products the customer bought that the rule starts from (cross-sell), or the cheaper product (up-sell).</summary>
    public List<string> Because { get; set; } = [];
    public double Confidence { get; set; }
    public double Lift { get; set; }
    public double Support { get; set; }
    public double Score { get; set; }
}

public enum AnalyticsJobKind { Scores, ClvFit }

public enum AnalyticsJobStatus { Queued, Running, Succeeded, Failed }

public enum TimeUnit { Day, Week }

/// <summary>A recomputation of the scores or a fit of the lifetime-value models, run in the background.</summary>
public sealed class AnalyticsJob
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public AnalyticsJobKind Kind { get; set; }
    public AnalyticsJobStatus Status { get; set; }
    /// <summary>0–100.</summary>
    public int Progress { get; set; }
    public string? Stage { get; set; }
    public DateTime? AsOf { get; set; }
    public DateTime? CalibrationEnd { get; set; }
    public DateTime? HoldoutEnd { get; set; }
    public TimeUnit TimeUnit { get; set; } = TimeUnit.Week;
    /// <summary>The result as JSON (<see cref="ClvFitResult"/> or <see cref="ScoresResult"/>).</summary>
    public string? Result { get; set; }
    public string? Error { get; set; }
    public Guid? CreatedById { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? StartedAt { get; set; }
    public DateTime? HeartbeatAt { get; set; }
    public DateTime? FinishedAt { get; set; }
}

/// <summary>What the admin sets for analytics; one row.</summary>
public sealed class AnalyticsSettings
{
    public const int SingletonId = 1;
    public int Id { get; set; } = SingletonId;
    /// <summary>Orders in this currency are analysed (money is never added across currencies).</summary>
    public string Currency { get; set; } = "UAH";
    /// <summary>The lifetime value horizon, in months (steps of 30 days).</summary>
    public int HorizonMonths { get; set; } = 12;
    /// <summary>Yearly discount rate for lifetime value, in basis points (1000 = 10 %).</summary>
    public int AnnualDiscountRateBasisPoints { get; set; } = 1000;
    /// <summary>The "next period" of the expected purchases, in days.</summary>
    public int PredictionDays { get; set; } = 90;
    /// <summary>Win-back: customers whose P(alive) is below this (0–1) are slipping away.</summary>
    public double WinBackThreshold { get; set; } = 0.3;
    /// <summary>Cost to serve per interaction, by interaction type (Call, Email, Meeting, ...), in minor units.</summary>
    public Dictionary<string, string> InteractionCosts { get; set; } = [];
    public double MinSupport { get; set; } = 0.01;
    public double MinConfidence { get; set; } = 0.2;
    /// <summary>Scores are recomputed this often by the scheduler (0 = only on demand).</summary>
    public int RecomputeHours { get; set; } = 24;
    public Guid Version { get; set; } = Guid.NewGuid();
}

/// <summary>An association rule mined at the last recompute: product ids on the left, one product on the right.</summary>
public sealed class StoredRule
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public List<Guid> Antecedent { get; set; } = [];
    public Guid Consequent { get; set; }
    public int Count { get; set; }
    public double Support { get; set; }
    public double Confidence { get; set; }
    public double Lift { get; set; }
    public DateTime MinedAt { get; set; }
}

internal sealed class AnalyticsConfiguration :
    IEntityTypeConfiguration<CustomerScore>, IEntityTypeConfiguration<AnalyticsJob>, IEntityTypeConfiguration<AnalyticsSettings>, IEntityTypeConfiguration<StoredRule>
{
    public void Configure(EntityTypeBuilder<CustomerScore> b)
    {
        b.ToTable("customer_scores");
        b.HasKey(s => s.CustomerId);
        b.HasOne<Customer>().WithOne().HasForeignKey<CustomerScore>(s => s.CustomerId).OnDelete(DeleteBehavior.Cascade);
        b.Property(s => s.Segment).HasMaxLength(24);
        b.Property(s => s.Currency).HasMaxLength(3);
        b.OwnsMany(s => s.Offers, o => o.ToJson());
        // The list's score filters and sorts walk these.
        b.HasIndex(s => new { s.ClvMinor, s.CustomerId });
        b.HasIndex(s => new { s.MarginMinor, s.CustomerId });
        b.HasIndex(s => new { s.Segment, s.CustomerId });
        b.HasIndex(s => new { s.ProbabilityAlive, s.CustomerId });
        b.HasIndex(s => new { s.ValueAtStakeMinor, s.CustomerId });
    }

    public void Configure(EntityTypeBuilder<AnalyticsJob> b)
    {
        b.ToTable("analytics_jobs");
        b.Property(j => j.Kind).HasConversion<string>().HasMaxLength(12);
        b.Property(j => j.Status).HasConversion<string>().HasMaxLength(12);
        b.Property(j => j.TimeUnit).HasConversion<string>().HasMaxLength(8);
        b.Property(j => j.Stage).HasMaxLength(100);
        b.Property(j => j.Error).HasMaxLength(2000);
        b.HasIndex(j => new { j.Status, j.CreatedAt });
        b.HasIndex(j => new { j.Kind, j.Status, j.FinishedAt });
    }

    public void Configure(EntityTypeBuilder<AnalyticsSettings> b)
    {
        b.ToTable("analytics_settings");
        b.Property(s => s.Id).ValueGeneratedNever();
        b.Property(s => s.Currency).HasMaxLength(3);
        b.Property(s => s.InteractionCosts).HasConversion(new DictionaryJsonConverter(), DictionaryJsonConverter.Comparer);
        b.Property(s => s.Version).IsConcurrencyToken();
    }

    public void Configure(EntityTypeBuilder<StoredRule> b)
    {
        b.ToTable("association_rules");
        b.Property(r => r.Antecedent).HasConversion(
            v => string.Join(',', v),
            v => v.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(Guid.Parse).ToList(),
            new Microsoft.EntityFrameworkCore.ChangeTracking.ValueComparer<List<Guid>>((a, b) => a!.SequenceEqual(b!), v => v.Aggregate(0, (h, g) => HashCode.Combine(h, g)), v => v.ToList()));
        b.HasIndex(r => new { r.Consequent, r.Lift });
    }
}
