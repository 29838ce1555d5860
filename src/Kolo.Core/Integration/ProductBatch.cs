using Kolo.Core.Catalog;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Integration;

/// <summary>Products by SKU: created when new, the mapped fields set when known, unchanged when nothing differs.</summary>
internal sealed class ProductBatch(ColumnMap map, Actor actor, TimeProvider clock) : BatchProcessor(map)
{
    public override bool GroupsRows => false;

    public override string? KeyOf(ImportRow row) => Map.Text(row, "sku");

    public override async Task ProcessAsync(KoloDb db, List<ImportRow> rows, BatchResult result, CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var skus = rows.Select(KeyOf).Where(k => k is not null).Distinct().ToList();
        var existing = await db.Products.Where(p => EF.Parameter(skus).Contains(p.Sku)).ToDictionaryAsync(p => p.Sku, StringComparer.Ordinal, ct);
        foreach (var row in rows)
        {
            try
            {
                var sku = KeyOf(row) ?? throw new RowRejectedException("sku is empty.");
                if (sku.Length > 64) throw new RowRejectedException("sku is longer than 64 characters.");
                var currency = Map.Currency(row);
                var name = Map.Required(row, "name");
                if (name.Length > 300) throw new RowRejectedException("name is longer than 300 characters.");
                var category = Map.Text(row, "category");
                if (category?.Length > 100) throw new RowRejectedException("category is longer than 100 characters.");
                var price = Map.Decimal(row, "listPrice") ?? throw new RowRejectedException("listPrice is empty.");
                var cost = Map.Decimal(row, "unitCost");
                if (price < 0 || cost < 0) throw new RowRejectedException("Prices cannot be negative.");
                var active = Map.Bool(row, "active");

                var isNew = !existing.TryGetValue(sku, out var product);
                product ??= new Product { Sku = sku, CreatedAt = now, UpdatedAt = now };
                var before = Snapshot(product);
                product.Name = name;
                if (Map.Has("category")) product.Category = category;
                product.Currency = currency;
                product.ListPriceMinor = Money.ToMinor(price, currency);
                if (Map.Has("unitCost")) product.UnitCostMinor = cost is { } c ? Money.ToMinor(c, currency) : null;
                if (active is { } a) product.Active = a;
                var changes = Audit.Diff(isNew ? new Dictionary<string, string?>() : before, Snapshot(product));
                if (isNew)
                {
                    result.NewRecords.Add(product);
                    existing[sku] = product;
                    result.NewRecords.Add(Audit.Entry(actor, now, ProductService.EntityType, product.Id, AuditActions.Created, changes));
                    result.Created++;
                }
                else if (changes.Count > 0)
                {
                    product.UpdatedAt = now;
                    product.Version = Guid.NewGuid();
                    db.AuditEntries.Add(Audit.Entry(actor, now, ProductService.EntityType, product.Id, AuditActions.Updated, changes));
                    result.Updated++;
                }
                else result.Unchanged++;
            }
            catch (RowRejectedException e) { result.Reject(row, e.Message); }
        }
    }

    public override void Validate(ImportRow row)
    {
        if (KeyOf(row) is null) throw new RowRejectedException("sku is empty.");
        Map.Currency(row);
        Map.Required(row, "name");
        if ((Map.Decimal(row, "listPrice") ?? throw new RowRejectedException("listPrice is empty.")) < 0) throw new RowRejectedException("Prices cannot be negative.");
        Map.Decimal(row, "unitCost");
        Map.Bool(row, "active");
    }

    private static Dictionary<string, string?> Snapshot(Product p) => new()
    {
        ["sku"] = p.Sku, ["name"] = p.Name, ["category"] = p.Category, ["listPrice"] = Audit.Text(p.ListPriceMinor),
        ["unitCost"] = Audit.Text(p.UnitCostMinor), ["currency"] = p.Currency, ["active"] = Audit.Text(p.Active),
    };
}
