using Kolo.Core.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Kolo.Core.Catalog;

/// <summary>Something the company sells. Prices are minor units of <see cref="Currency"/>.</summary>
public sealed class Product
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    /// <summary>The stock-keeping unit: unique, and the key imports match products by.</summary>
    public string Sku { get; set; } = "";
    public string Name { get; set; } = "";
    public string? Category { get; set; }
    public long ListPriceMinor { get; set; }
    public long? UnitCostMinor { get; set; }
    public string Currency { get; set; } = "UAH";
    public bool Active { get; set; } = true;
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    public Guid Version { get; set; } = Guid.NewGuid();
}

public sealed class ProductConfiguration : IEntityTypeConfiguration<Product>
{
    public void Configure(EntityTypeBuilder<Product> b)
    {
        b.ToTable("products");
        b.Property(p => p.Sku).HasMaxLength(64).UseOrdinalCollation();
        b.Property(p => p.Name).HasMaxLength(300);
        b.Property(p => p.Category).HasMaxLength(100);
        b.Property(p => p.Currency).HasMaxLength(3);
        b.Property(p => p.Version).IsConcurrencyToken();
        b.HasIndex(p => p.Sku).IsUnique();
        b.HasIndex(p => new { p.Category, p.Sku });
        b.HasIndex(p => new { p.Active, p.Sku });
    }
}
