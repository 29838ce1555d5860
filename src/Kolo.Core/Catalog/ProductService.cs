using System.ComponentModel.DataAnnotations;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Kolo.Core.Timeline;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Catalog;

public sealed class ProductInput
{
    [Required, StringLength(64, MinimumLength = 1)] public string? Sku { get; set; }
    [Required, StringLength(300, MinimumLength = 1)] public string? Name { get; set; }
    [StringLength(100)] public string? Category { get; set; }
    [Range(0, 1_000_000_000)] public decimal ListPrice { get; set; }
    [Range(0, 1_000_000_000)] public decimal? UnitCost { get; set; }
    [Required, RegularExpression("^[A-Z]{3}$", ErrorMessage = "Use a three-letter ISO 4217 code, e.g. UAH.")] public string? Currency { get; set; }
    public bool? Active { get; set; }
}

public sealed record ProductView(Guid Id, string Sku, string Name, string? Category, decimal ListPrice, decimal? UnitCost, string Currency, bool Active, DateTime CreatedAt, DateTime UpdatedAt, Guid Version)
{
    public static ProductView From(Product p) => new(p.Id, p.Sku, p.Name, p.Category, Money.FromMinor(p.ListPriceMinor, p.Currency),
        p.UnitCostMinor is { } c ? Money.FromMinor(c, p.Currency) : null, p.Currency, p.Active, p.CreatedAt, p.UpdatedAt, p.Version);
}

public sealed record ProductQuery
{
    /// <summary>SKU or name prefix.</summary>
    public string? Q { get; init; }
    public string? Category { get; init; }
    /// <summary>Null: active only; false: inactive only; true: both.</summary>
    public bool? IncludeInactive { get; init; }
    /// <summary>sku (default), name or price; a leading '-' for descending.</summary>
    public string? Sort { get; init; }
    public int Limit { get; init; } = 50;
    public string? Cursor { get; init; }
}

/// <summary>The catalogue. Products are deactivated, never deleted, so old orders keep their lines.</summary>
public sealed class ProductService(IDbContextFactory<KoloDb> dbFactory, TimeProvider clock)
{
    public const string EntityType = "product";

    public async Task<Page<ProductView>> ListAsync(ProductQuery query, CancellationToken ct = default)
    {
        var errors = new ValidationErrors();
        if (query.Limit is < 1 or > 500) errors.Add("limit", "Limit must be between 1 and 500.");
        var sort = string.IsNullOrWhiteSpace(query.Sort) ? "sku" : query.Sort.Trim();
        if (sort is not ("sku" or "-sku" or "name" or "-name" or "price" or "-price")) errors.Add("sort", "Sort by sku, name or price, with a leading '-' for descending.");
        errors.ThrowIfAny();
        var descending = sort.StartsWith('-');
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var q = Filter(db.Products.AsNoTracking(), query);
        // Keyset paging on (sort key, id); the catalogue is small enough to sort by name or price without an index.
        if (!string.IsNullOrEmpty(query.Cursor))
        {
            var (key, id) = Cursors.Decode(query.Cursor, sort);
            q = (sort.TrimStart('-'), descending) switch
            {
                ("sku", false) => q.Where(p => p.Sku.CompareTo(key) > 0),
                ("sku", true) => q.Where(p => p.Sku.CompareTo(key) < 0),
                ("name", false) => q.Where(p => p.Name.CompareTo(key) > 0 || (p.Name == key && p.Id.CompareTo(id) > 0)),
                ("name", true) => q.Where(p => p.Name.CompareTo(key) < 0 || (p.Name == key && p.Id.CompareTo(id) < 0)),
                (_, false) => PriceAfter(q, Cursors.Number(key), id),
                _ => PriceBefore(q, Cursors.Number(key), id),
            };
        }
        q = (sort.TrimStart('-'), descending) switch
        {
            ("sku", false) => q.OrderBy(p => p.Sku),
            ("sku", true) => q.OrderByDescending(p => p.Sku),
            ("name", false) => q.OrderBy(p => p.Name).ThenBy(p => p.Id),
            ("name", true) => q.OrderByDescending(p => p.Name).ThenByDescending(p => p.Id),
            (_, false) => q.OrderBy(p => p.ListPriceMinor).ThenBy(p => p.Id),
            _ => q.OrderByDescending(p => p.ListPriceMinor).ThenByDescending(p => p.Id),
        };
        var rows = await q.Take(query.Limit + 1).ToListAsync(ct);
        string KeyOf(Product p) => sort.TrimStart('-') switch
        {
            "sku" => p.Sku, "name" => p.Name, _ => p.ListPriceMinor.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        var next = rows.Count > query.Limit ? Cursors.Encode(sort, KeyOf(rows[query.Limit - 1]), rows[query.Limit - 1].Id) : null;
        return new Page<ProductView>(rows.Take(query.Limit).Select(ProductView.From).ToList(), next);
    }

    private static IQueryable<Product> PriceAfter(IQueryable<Product> q, long price, Guid id) =>
        q.Where(p => p.ListPriceMinor > price || (p.ListPriceMinor == price && p.Id.CompareTo(id) > 0));

    private static IQueryable<Product> PriceBefore(IQueryable<Product> q, long price, Guid id) =>
        q.Where(p => p.ListPriceMinor < price || (p.ListPriceMinor == price && p.Id.CompareTo(id) < 0));

    public static IQueryable<Product> Filter(IQueryable<Product> q, ProductQuery query)
    {
        q = query.IncludeInactive switch { null => q.Where(p => p.Active), false => q.Where(p => !p.Active), _ => q };
        if (!string.IsNullOrWhiteSpace(query.Category)) q = q.Where(p => p.Category == query.Category);
        if (!string.IsNullOrWhiteSpace(query.Q))
        {
            var prefix = query.Q.Trim();
            var hi = TextNormalizer.PrefixUpperBound(prefix);
            q = q.Where(p => (p.Sku.CompareTo(prefix) >= 0 && p.Sku.CompareTo(hi) < 0) || p.Name.StartsWith(prefix));
        }
        return q;
    }

    public async Task<IReadOnlyList<string>> CategoriesAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Products.Where(p => p.Category != null).Select(p => p.Category!).Distinct().OrderBy(c => c).Take(1000).ToListAsync(ct);
    }

    public async Task<ProductView> GetAsync(Guid id, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var p = await db.Products.AsNoTracking().FirstOrDefaultAsync(x => x.Id == id, ct) ?? throw new NotFoundException("Product", id);
        return ProductView.From(p);
    }

    public async Task<ProductView> CreateAsync(Actor actor, ProductInput input, CancellationToken ct = default)
    {
        EnsureCanEdit(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var sku = input.Sku!.Trim();
        if (await db.Products.AnyAsync(p => p.Sku == sku, ct)) throw ValidationFailedException.For("sku", "A product with this SKU exists already.");
        var now = clock.GetUtcNow().UtcDateTime;
        var product = new Product { Sku = sku, CreatedAt = now, UpdatedAt = now };
        Apply(product, input);
        db.Products.Add(product);
        db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, product.Id, AuditActions.Created, [new FieldChange("sku", null, sku)]));
        await db.SaveChangesAsync(ct);
        return ProductView.From(product);
    }

    public async Task<ProductView> UpdateAsync(Actor actor, Guid id, Guid expectedVersion, ProductInput input, CancellationToken ct = default)
    {
        EnsureCanEdit(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var product = await db.Products.FirstOrDefaultAsync(p => p.Id == id, ct) ?? throw new NotFoundException("Product", id);
        if (product.Version != expectedVersion) throw new PreconditionFailedException();
        if (input.Sku!.Trim() != product.Sku) throw ValidationFailedException.For("sku", "The SKU of a product cannot change.");
        var before = Snapshot(product);
        Apply(product, input);
        var changes = Audit.Diff(before, Snapshot(product));
        if (changes.Count > 0)
        {
            product.UpdatedAt = clock.GetUtcNow().UtcDateTime;
            product.Version = Guid.NewGuid();
            db.AuditEntries.Add(Audit.Entry(actor, product.UpdatedAt, EntityType, id, AuditActions.Updated, changes));
            try { await db.SaveChangesAsync(ct); }
            catch (DbUpdateConcurrencyException) { throw new PreconditionFailedException(); }
        }
        return ProductView.From(product);
    }

    private static void Apply(Product p, ProductInput input)
    {
        p.Name = input.Name!.Trim();
        p.Category = string.IsNullOrWhiteSpace(input.Category) ? null : input.Category.Trim();
        p.Currency = input.Currency!;
        p.ListPriceMinor = Money.ToMinor(input.ListPrice, p.Currency);
        p.UnitCostMinor = input.UnitCost is { } c ? Money.ToMinor(c, p.Currency) : null;
        p.Active = input.Active ?? true;
    }

    private static Dictionary<string, string?> Snapshot(Product p) => new()
    {
        ["name"] = p.Name, ["category"] = p.Category, ["listPrice"] = Audit.Text(p.ListPriceMinor), ["unitCost"] = Audit.Text(p.UnitCostMinor),
        ["currency"] = p.Currency, ["active"] = Audit.Text(p.Active),
    };

    private static void EnsureCanEdit(Actor actor)
    {
        if (!actor.IsAdminOrManager) throw new ForbiddenException("Only managers and admins change the catalogue.");
    }
}
