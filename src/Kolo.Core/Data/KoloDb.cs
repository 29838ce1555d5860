using Kolo.Core.Catalog;
using Kolo.Core.Customers;
using Kolo.Core.Integration;
using Kolo.Core.Orders;
using Kolo.Core.Platform;
using Kolo.Core.Tasks;
using Kolo.Core.Timeline;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Kolo.Core.Data;

public sealed class KoloDb(DbContextOptions<KoloDb> options)
    : IdentityDbContext<User, IdentityRole<Guid>, Guid>(options)
{
    public DbSet<Customer> Customers => Set<Customer>();
    public DbSet<CustomerSearchTerm> CustomerSearchTerms => Set<CustomerSearchTerm>();
    public DbSet<CustomerLink> CustomerLinks => Set<CustomerLink>();
    public DbSet<Tag> Tags => Set<Tag>();
    public DbSet<CustomerTag> CustomerTags => Set<CustomerTag>();
    public DbSet<CustomFieldDefinition> CustomFieldDefinitions => Set<CustomFieldDefinition>();
    public DbSet<AuditEntry> AuditEntries => Set<AuditEntry>();
    public DbSet<ApiToken> ApiTokens => Set<ApiToken>();
    public DbSet<Interaction> Interactions => Set<Interaction>();
    public DbSet<Attachment> Attachments => Set<Attachment>();
    public DbSet<TaskItem> Tasks => Set<TaskItem>();
    public DbSet<Notification> Notifications => Set<Notification>();
    public DbSet<Product> Products => Set<Product>();
    public DbSet<Order> Orders => Set<Order>();
    public DbSet<OrderLine> OrderLines => Set<OrderLine>();
    public DbSet<RegularCustomerPolicy> RegularCustomerPolicies => Set<RegularCustomerPolicy>();
    public DbSet<ImportJob> ImportJobs => Set<ImportJob>();
    public DbSet<ImportReject> ImportRejects => Set<ImportReject>();
    public DbSet<ImportMapping> ImportMappings => Set<ImportMapping>();
    public DbSet<Analytics.CustomerScore> CustomerScores => Set<Analytics.CustomerScore>();
    public DbSet<Analytics.AnalyticsJob> AnalyticsJobs => Set<Analytics.AnalyticsJob>();
    public DbSet<Analytics.AnalyticsSettings> AnalyticsSettings => Set<Analytics.AnalyticsSettings>();
    public DbSet<Analytics.StoredRule> AssociationRules => Set<Analytics.StoredRule>();
    public DbSet<Sales.Pipeline> Pipelines => Set<Sales.Pipeline>();
    public DbSet<Sales.Stage> Stages => Set<Sales.Stage>();
    public DbSet<Sales.Deal> Deals => Set<Sales.Deal>();
    public DbSet<Sales.DealLine> DealLines => Set<Sales.DealLine>();
    public DbSet<Sales.DealStageChange> DealStageChanges => Set<Sales.DealStageChange>();
    public DbSet<Sales.Lead> Leads => Set<Sales.Lead>();
    public DbSet<Sales.SalesTarget> SalesTargets => Set<Sales.SalesTarget>();
    public DbSet<Sales.CommissionPlan> CommissionPlans => Set<Sales.CommissionPlan>();
    public DbSet<Sales.SalesSettings> SalesSettings => Set<Sales.SalesSettings>();
    public DbSet<Marketing.Segment> Segments => Set<Marketing.Segment>();
    public DbSet<Marketing.SegmentMember> SegmentMembers => Set<Marketing.SegmentMember>();
    public DbSet<Marketing.Campaign> Campaigns => Set<Marketing.Campaign>();
    public DbSet<Marketing.CampaignVariant> CampaignVariants => Set<Marketing.CampaignVariant>();
    public DbSet<Marketing.CampaignMessage> CampaignMessages => Set<Marketing.CampaignMessage>();
    public DbSet<Marketing.ContactPolicy> ContactPolicies => Set<Marketing.ContactPolicy>();
    public DbSet<Marketing.MarketingKey> MarketingKeys => Set<Marketing.MarketingKey>();
    public DbSet<Marketing.CampaignJob> CampaignJobs => Set<Marketing.CampaignJob>();
    public DbSet<Marketing.WebVisitor> WebVisitors => Set<Marketing.WebVisitor>();
    public DbSet<Marketing.WebVisit> WebVisits => Set<Marketing.WebVisit>();

    /// <summary>Times are UTC everywhere; SQLite forgets the kind, so every read says UTC again.</summary>
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcConverter>();
        configurationBuilder.Properties<DateTime?>().HaveConversion<UtcConverter>();
    }

    private sealed class UtcConverter() : ValueConverter<DateTime, DateTime>(
        v => v.Kind == DateTimeKind.Utc ? v : v.Kind == DateTimeKind.Local ? v.ToUniversalTime() : DateTime.SpecifyKind(v, DateTimeKind.Utc),
        v => DateTime.SpecifyKind(v, DateTimeKind.Utc));

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);
        builder.ApplyConfigurationsFromAssembly(typeof(KoloDb).Assembly);

        // Search terms and sort keys are compared by code point on both engines: SQLite's BINARY is that already,
        // PostgreSQL needs the "C" collation so prefix ranges use the B-tree index and order like SQLite.
        if (Database.IsNpgsql())
        {
            foreach (var property in builder.Model.GetEntityTypes().SelectMany(t => t.GetProperties()))
                if (property.FindAnnotation(OrdinalCollation.Annotation) is not null)
                    property.SetCollation("C");
        }
    }
}

public static class OrdinalCollation
{
    public const string Annotation = "Kolo:OrdinalCollation";

    public static PropertyBuilder<T> UseOrdinalCollation<T>(this PropertyBuilder<T> property) =>
        property.HasAnnotation(Annotation, true);
}
