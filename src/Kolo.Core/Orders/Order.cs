using Kolo.Core.Catalog;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Kolo.Core.Orders;

/// <summary>quote → confirmed → shipped → delivered; or cancelled; a return is its own record with status Returned.</summary>
public enum OrderStatus { Quote, Confirmed, Shipped, Delivered, Cancelled, Returned }

/// <summary>
/// A quote, an order, or a return of (part of) an order. Money is minor units of <see cref="Currency"/>;
/// a return's totals are negative, so sums over a customer's records give net revenue.
/// </summary>
public sealed class Order
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public string Number { get; set; } = "";
    public Guid CustomerId { get; set; }
    public OrderStatus Status { get; set; }
    public string? Channel { get; set; }
    public string? PaymentMethod { get; set; }
    public string Currency { get; set; } = "UAH";
    public DateTime OrderedAt { get; set; }
    public DateOnly? PromisedDeliveryDate { get; set; }
    public DateTime? ConfirmedAt { get; set; }
    public DateTime? ShippedAt { get; set; }
    public DateTime? DeliveredAt { get; set; }
    public DateTime? CancelledAt { get; set; }
    public long SubtotalMinor { get; set; }
    /// <summary>Line discounts plus the regular-customer discount.</summary>
    public long DiscountMinor { get; set; }
    public long TotalMinor { get; set; }
    public long PolicyDiscountMinor { get; set; }
    /// <summary>Why the regular-customer discount was applied, in words a customer could be told.</summary>
    public string? PolicyDiscountReason { get; set; }
    public Guid? ReturnOfOrderId { get; set; }
    public string? ReturnReason { get; set; }
    /// <summary>The record's id in the system it was imported from: re-importing it changes nothing.</summary>
    public string? ExternalId { get; set; }
    public Guid? OwnerId { get; set; }
    public string? Notes { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    /// <summary>When the "due soon, not shipped" and "late" warnings went out: each fires once.</summary>
    public DateTime? DueSoonWarnedAt { get; set; }
    public DateTime? LateWarnedAt { get; set; }
    public Guid Version { get; set; } = Guid.NewGuid();
    public List<OrderLine> Lines { get; set; } = [];
}

public sealed class OrderLine
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid OrderId { get; set; }
    public int LineNo { get; set; }
    public Guid? ProductId { get; set; }
    public string Sku { get; set; } = "";
    public string Description { get; set; } = "";
    /// <summary>Positive on orders and on returns (a return's line says how many came back).</summary>
    public int Quantity { get; set; }
    public long UnitPriceMinor { get; set; }
    public long DiscountMinor { get; set; }
    /// <summary>Quantity × unit price − discount; negative on a return.</summary>
    public long LineTotalMinor { get; set; }
    public string? Purpose { get; set; }
    /// <summary>On an order line: how many were returned so far. On a return line: the order line it returns.</summary>
    public int ReturnedQuantity { get; set; }
    public Guid? ReturnOfLineId { get; set; }
}

/// <summary>
/// "Regular customers": at least <see cref="MinOrders"/> orders in the last <see cref="Months"/> months earn either
/// a discount on the new order or a task reminding the owner to offer one. One row; admins edit it.
/// </summary>
public sealed class RegularCustomerPolicy
{
    public const int SingletonId = 1;
    public int Id { get; set; } = SingletonId;
    public bool Active { get; set; }
    public int MinOrders { get; set; } = 3;
    public int Months { get; set; } = 12;
    /// <summary>Discount in basis points (500 = 5 %).</summary>
    public int DiscountBasisPoints { get; set; } = 500;
    public RegularCustomerAction Action { get; set; } = RegularCustomerAction.ApplyDiscount;
    public Guid Version { get; set; } = Guid.NewGuid();
}

public enum RegularCustomerAction { ApplyDiscount, RemindOwner }

public sealed class OrderConfiguration : IEntityTypeConfiguration<Order>
{
    public void Configure(EntityTypeBuilder<Order> b)
    {
        b.ToTable("orders");
        b.Property(o => o.Number).HasMaxLength(40).UseOrdinalCollation();
        b.Property(o => o.Status).HasConversion<string>().HasMaxLength(12);
        b.Property(o => o.Channel).HasMaxLength(40);
        b.Property(o => o.PaymentMethod).HasMaxLength(40);
        b.Property(o => o.Currency).HasMaxLength(3);
        b.Property(o => o.PolicyDiscountReason).HasMaxLength(300);
        b.Property(o => o.ReturnReason).HasMaxLength(300);
        b.Property(o => o.ExternalId).HasMaxLength(100);
        b.Property(o => o.Notes).HasMaxLength(2000);
        b.Property(o => o.Version).IsConcurrencyToken();
        b.HasOne<Customer>().WithMany().HasForeignKey(o => o.CustomerId).OnDelete(DeleteBehavior.Restrict);
        b.HasMany(o => o.Lines).WithOne().HasForeignKey(l => l.OrderId).OnDelete(DeleteBehavior.Cascade);
        b.HasIndex(o => o.Number).IsUnique();
        b.HasIndex(o => o.ExternalId).IsUnique();
        // A customer's purchase history and timeline; the list by date and status; the delivery schedule.
        b.HasIndex(o => new { o.CustomerId, o.OrderedAt, o.Id });
        b.HasIndex(o => new { o.OrderedAt, o.Id });
        b.HasIndex(o => new { o.Status, o.OrderedAt, o.Id });
        // Partial: imported and past orders mostly have no promise, delivery date, owner or returned order, and every
        // query through these indexes compares the column (which implies it is not null), so none is left out.
        b.HasIndex(o => new { o.Status, o.PromisedDeliveryDate }).HasFilter("\"PromisedDeliveryDate\" IS NOT NULL");
        b.HasIndex(o => new { o.Status, o.DeliveredAt }).HasFilter("\"DeliveredAt\" IS NOT NULL");
        b.HasIndex(o => new { o.OwnerId, o.OrderedAt }).HasFilter("\"OwnerId\" IS NOT NULL");
        b.HasIndex(o => o.ReturnOfOrderId).HasFilter("\"ReturnOfOrderId\" IS NOT NULL");
    }
}

public sealed class OrderLineConfiguration : IEntityTypeConfiguration<OrderLine>
{
    public void Configure(EntityTypeBuilder<OrderLine> b)
    {
        b.ToTable("order_lines");
        b.Property(l => l.Sku).HasMaxLength(64);
        b.Property(l => l.Description).HasMaxLength(500);
        b.Property(l => l.Purpose).HasMaxLength(200);
        // On PostgreSQL the line's two foreign keys are not enforced (migration UnenforcedHighVolumeForeignKeys): checking
        // them cost an import a third of its time, and lines are only ever written with their order and product.
        b.HasOne<Product>().WithMany().HasForeignKey(l => l.ProductId).OnDelete(DeleteBehavior.Restrict);
        b.HasIndex(l => new { l.OrderId, l.LineNo }).IsUnique();
        b.HasIndex(l => l.ProductId);
    }
}

public sealed class RegularCustomerPolicyConfiguration : IEntityTypeConfiguration<RegularCustomerPolicy>
{
    public void Configure(EntityTypeBuilder<RegularCustomerPolicy> b)
    {
        b.ToTable("regular_customer_policy");
        b.Property(p => p.Id).ValueGeneratedNever();
        b.Property(p => p.Action).HasConversion<string>().HasMaxLength(16);
        b.Property(p => p.Version).IsConcurrencyToken();
        b.HasData(new RegularCustomerPolicy { Version = Guid.Parse("5f2b8a1e-0000-4000-8000-000000000001") });
    }
}
