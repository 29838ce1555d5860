using Kolo.Core.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Kolo.Core.Customers;

public sealed class CustomerConfiguration : IEntityTypeConfiguration<Customer>
{
    public void Configure(EntityTypeBuilder<Customer> b)
    {
        b.ToTable("customers");
        b.Property(c => c.Kind).HasConversion<string>().HasMaxLength(16);
        b.Property(c => c.Status).HasConversion<string>().HasMaxLength(16);
        b.Property(c => c.Gender).HasConversion<string>().HasMaxLength(16);
        b.Property(c => c.MaritalStatus).HasConversion<string>().HasMaxLength(16);
        b.Property(c => c.PreferredChannel).HasConversion<string>().HasMaxLength(16);
        b.Property(c => c.FirstName).HasMaxLength(100);
        b.Property(c => c.LastName).HasMaxLength(100);
        b.Property(c => c.CompanyName).HasMaxLength(200);
        b.Property(c => c.DisplayName).HasMaxLength(300);
        b.Property(c => c.SortName).HasMaxLength(300).UseOrdinalCollation();
        b.Property(c => c.CityKey).HasMaxLength(100).UseOrdinalCollation();
        b.Property(c => c.AnnualIncomeCurrency).HasMaxLength(3);
        b.Property(c => c.AcquisitionCostCurrency).HasMaxLength(3);
        b.Property(c => c.PreferredLanguage).HasMaxLength(10);
        b.Property(c => c.Source).HasMaxLength(100);
        b.Property(c => c.PropertyNotes).HasMaxLength(2000);
        b.Property(c => c.Version).IsConcurrencyToken();
        b.Property(c => c.CustomFields).HasConversion(new DictionaryJsonConverter(), DictionaryJsonConverter.Comparer);
        b.Property(c => c.ExternalId).HasMaxLength(100);
        b.HasIndex(c => c.ExternalId).IsUnique();

        b.OwnsMany(c => c.Emails, e => e.ToJson());
        b.OwnsMany(c => c.Phones, p => p.ToJson());
        b.OwnsMany(c => c.Addresses, a => a.ToJson());
        b.OwnsMany(c => c.Consents, c => { c.ToJson(); c.Property(x => x.Channel).HasConversion<string>(); });

        b.HasMany(c => c.Tags).WithOne().HasForeignKey(t => t.CustomerId);

        // One index per list filter, each ending in the default sort so a filtered page is an index range scan.
        b.HasIndex(c => new { c.SortName, c.Id });
        b.HasIndex(c => new { c.CreatedAt, c.Id });
        b.HasIndex(c => new { c.UpdatedAt, c.Id });
        b.HasIndex(c => new { c.Status, c.SortName, c.Id });
        // Partial: most customers have no owner and were never merged, and no query looks for those through these
        // indexes (an equality or IN on the column implies it is not null, so both databases use them).
        b.HasIndex(c => new { c.OwnerId, c.SortName, c.Id }).HasFilter("\"OwnerId\" IS NOT NULL");
        b.HasIndex(c => new { c.CityKey, c.SortName, c.Id });
        b.HasIndex(c => c.BirthDate);
        b.HasIndex(c => c.MergedIntoId).HasFilter("\"MergedIntoId\" IS NOT NULL");
    }
}

public sealed class TagConfiguration : IEntityTypeConfiguration<Tag>
{
    public void Configure(EntityTypeBuilder<Tag> b)
    {
        b.ToTable("tags");
        b.Property(t => t.Name).HasMaxLength(60);
        b.Property(t => t.NameKey).HasMaxLength(60);
        b.Property(t => t.Color).HasMaxLength(20);
        b.HasIndex(t => t.NameKey).IsUnique();
    }
}

public sealed class CustomerTagConfiguration : IEntityTypeConfiguration<CustomerTag>
{
    public void Configure(EntityTypeBuilder<CustomerTag> b)
    {
        b.ToTable("customer_tags");
        b.HasKey(t => new { t.CustomerId, t.TagId });
        b.HasIndex(t => new { t.TagId, t.CustomerId });
        b.HasOne(t => t.Tag).WithMany().HasForeignKey(t => t.TagId);
    }
}

public sealed class CustomerSearchTermConfiguration : IEntityTypeConfiguration<CustomerSearchTerm>
{
    public void Configure(EntityTypeBuilder<CustomerSearchTerm> b)
    {
        b.ToTable("customer_search_terms");
        b.HasKey(t => new { t.CustomerId, t.Term });
        b.Property(t => t.Term).HasMaxLength(200).UseOrdinalCollation();
        b.Property(t => t.Kind).HasConversion<string>().HasMaxLength(8);
        b.HasIndex(t => new { t.Term, t.CustomerId });
        // Not enforced on PostgreSQL (migration UnenforcedHighVolumeForeignKeys): terms are written with their customer.
        b.HasOne<Customer>().WithMany().HasForeignKey(t => t.CustomerId).OnDelete(DeleteBehavior.Cascade);
    }
}

public sealed class CustomerLinkConfiguration : IEntityTypeConfiguration<CustomerLink>
{
    public void Configure(EntityTypeBuilder<CustomerLink> b)
    {
        b.ToTable("customer_links");
        b.Property(l => l.Type).HasConversion<string>().HasMaxLength(20);
        b.Property(l => l.Note).HasMaxLength(500);
        b.HasIndex(l => new { l.FromCustomerId, l.ToCustomerId, l.Type }).IsUnique();
        b.HasIndex(l => l.ToCustomerId);
        b.HasOne<Customer>().WithMany().HasForeignKey(l => l.FromCustomerId).OnDelete(DeleteBehavior.Restrict);
        b.HasOne<Customer>().WithMany().HasForeignKey(l => l.ToCustomerId).OnDelete(DeleteBehavior.Restrict);
    }
}
