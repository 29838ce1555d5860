using System.Globalization;
using System.Runtime.CompilerServices;
using CsvHelper;
using Kolo.Core.Catalog;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Orders;
using Kolo.Core.Platform;
using Microsoft.EntityFrameworkCore;
using MiniExcelLibs;

namespace Kolo.Core.Integration;

/// <summary>A table to export: its column names and its rows, read from the database as they are written.</summary>
public sealed record ExportTable(IReadOnlyList<string> Columns, IAsyncEnumerable<object?[]> Rows);

/// <summary>
/// Customers, orders (one row per line) and products, with the same filters and visibility as their lists. The
/// columns are the import's field names, so an exported file imports back with the suggested mapping.
/// </summary>
public sealed class ExportService(IDbContextFactory<KoloDb> dbFactory)
{
    public static readonly IReadOnlyList<string> CustomerColumns =
        ["id", "externalId", "kind", "firstName", "lastName", "companyName", "email", "phone", "addressLine1", "city", "region",
         "postalCode", "country", "birthDate", "status", "source", "preferredLanguage", "createdAt"];

    public static readonly IReadOnlyList<string> OrderColumns =
        ["externalId", "number", "status", "customerExternalId", "customerName", "orderedAt", "currency", "lineNo", "sku", "description",
         "quantity", "unitPrice", "discount", "lineTotal", "orderTotal", "returnOfOrderId", "channel", "paymentMethod"];

    public static readonly IReadOnlyList<string> ProductColumns = ["sku", "name", "category", "listPrice", "unitCost", "currency", "active"];

    public ExportTable Customers(Actor actor, CustomerQuery query) => new(CustomerColumns, CustomerRows(actor, query));

    public ExportTable Orders(Actor actor, OrderQuery query) => new(OrderColumns, OrderRows(actor, query));

    public ExportTable Products(ProductQuery query) => new(ProductColumns, ProductRows(query));

    private async IAsyncEnumerable<object?[]> CustomerRows(Actor actor, CustomerQuery query, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rows = CustomerService.ExportQuery(db, actor, query).OrderBy(c => c.SortName).ThenBy(c => c.Id).AsAsyncEnumerable();
        await foreach (var c in rows.WithCancellation(ct))
        {
            var a = c.Addresses.FirstOrDefault();
            yield return
            [
                c.Id, c.ExternalId, c.Kind.ToString(), c.FirstName, c.LastName, c.CompanyName, Join(c.Emails.Select(e => e.Address)),
                Join(c.Phones.Select(p => p.Number)), a?.Line1, a?.City, a?.Region, a?.PostalCode, a?.Country, c.BirthDate,
                c.Status.ToString(), c.Source, c.PreferredLanguage, c.CreatedAt,
            ];
        }
    }

    private async IAsyncEnumerable<object?[]> OrderRows(Actor actor, OrderQuery query, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var orders = OrderService.Filter(OrderService.VisibleOrders(db, actor).AsNoTracking(), query);
        var rows = from o in orders
                   join l in db.OrderLines on o.Id equals l.OrderId
                   join c in db.Customers on o.CustomerId equals c.Id
                   orderby o.OrderedAt descending, o.Id descending, l.LineNo
                   select new
                   {
                       o.ExternalId, o.Number, o.Status, CustomerExternalId = c.ExternalId, CustomerId = c.Id, c.DisplayName, o.OrderedAt, o.Currency,
                       l.LineNo, l.Sku, l.Description, l.Quantity, l.UnitPriceMinor, l.DiscountMinor, l.LineTotalMinor, o.TotalMinor,
                       o.ReturnOfOrderId, o.Channel, o.PaymentMethod,
                   };
        await foreach (var r in rows.AsAsyncEnumerable().WithCancellation(ct))
            yield return
            [
                r.ExternalId ?? r.Number, r.Number, r.Status.ToString(), r.CustomerExternalId ?? r.CustomerId.ToString(), r.DisplayName, r.OrderedAt,
                r.Currency, r.LineNo, r.Sku, r.Description, r.Status == OrderStatus.Returned ? -r.Quantity : r.Quantity,
                Money.FromMinor(r.UnitPriceMinor, r.Currency), Money.FromMinor(r.DiscountMinor, r.Currency),
                Money.FromMinor(r.LineTotalMinor, r.Currency), Money.FromMinor(r.TotalMinor, r.Currency), r.ReturnOfOrderId, r.Channel, r.PaymentMethod,
            ];
    }

    private async IAsyncEnumerable<object?[]> ProductRows(ProductQuery query, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rows = ProductService.Filter(db.Products.AsNoTracking(), query).OrderBy(p => p.Sku).AsAsyncEnumerable();
        await foreach (var p in rows.WithCancellation(ct))
            yield return
            [
                p.Sku, p.Name, p.Category, Money.FromMinor(p.ListPriceMinor, p.Currency),
                p.UnitCostMinor is { } cost ? Money.FromMinor(cost, p.Currency) : null, p.Currency, p.Active,
            ];
    }

    private static string? Join(IEnumerable<string> values)
    {
        var text = string.Join("; ", values);
        return text.Length == 0 ? null : text;
    }

    /// <summary>Writes the table as CSV, one row at a time, flushing as it goes.</summary>
    public static async Task WriteCsvAsync(ExportTable table, Stream output, CancellationToken ct)
    {
        await using var text = new StreamWriter(output, new System.Text.UTF8Encoding(false), 1 << 16, leaveOpen: true);
        await using var csv = new CsvWriter(text, CultureInfo.InvariantCulture, leaveOpen: true);
        foreach (var column in table.Columns) csv.WriteField(column);
        await csv.NextRecordAsync();
        await foreach (var row in table.Rows.WithCancellation(ct))
        {
            foreach (var value in row) csv.WriteField(Text(value));
            await csv.NextRecordAsync();
        }
        await csv.FlushAsync();
        await text.FlushAsync(ct);
    }

    /// <summary>
    /// Writes the table as .xlsx. MiniExcel pulls the rows one at a time; the workbook (a zip) is written to
    /// <paramref name="output"/>, which must allow synchronous writes (a file, not a response body).
    /// </summary>
    public static Task WriteXlsxAsync(ExportTable table, Stream output, CancellationToken ct) => Task.Run(() =>
    {
        var rows = table.Rows.ToBlockingEnumerable(ct).Select(row =>
        {
            var record = new Dictionary<string, object?>(table.Columns.Count);
            for (var i = 0; i < table.Columns.Count; i++) record[table.Columns[i]] = Cell(row[i]);
            return record;
        });
        output.SaveAs(rows, excelType: ExcelType.XLSX);
    }, ct);

    private static object? Cell(object? value) => value switch
    {
        Guid g => g.ToString(),
        DateOnly d => d.ToDateTime(TimeOnly.MinValue),
        _ => value,
    };

    private static string? Text(object? value) => value switch
    {
        null => null,
        DateTime t => t.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };
}
