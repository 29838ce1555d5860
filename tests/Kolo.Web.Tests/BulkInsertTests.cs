using System.Data.Common;
using Kolo.Core.Analytics;
using Kolo.Core.Catalog;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Orders;
using Kolo.Core.Platform;
using Kolo.Web.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Kolo.Web.Tests;

/// <summary>
/// The import's bulk writer must store exactly what EF Core's SaveChanges stores: the same records written both ways
/// (apart from their ids) must give identical column values, JSON columns byte for byte, and read back through EF.
/// </summary>
public abstract class BulkInsertTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    private IDbContextFactory<KoloDb> Factory => Fx.Factory.Services.GetRequiredService<IDbContextFactory<KoloDb>>();

    private static readonly DateTime At = new(2026, 3, 4, 5, 6, 7, 891, DateTimeKind.Utc);

    private static readonly Guid OfferedProduct = Guid.Parse("01a20d92-0000-7000-8000-000000000001");

    private static CustomerScore ScoreOf(Customer customer, Product product) => new()
    {
        CustomerId = customer.Id, AsOf = At.Date, Orders = 3, PurchaseDays = 2, FirstPurchaseAt = At.AddDays(-40), LastPurchaseAt = At, RecencyDays = 0,
        RecencyScore = 5, FrequencyScore = 4, MonetaryScore = 3, Segment = "Champions", ProbabilityAlive = 0.8125, ExpectedPurchases = 1.25,
        ExpectedOrderValueMinor = 12_345, ClvMinor = 98_765, RevenueMinor = 50_000, CostOfGoodsMinor = 20_000, MarginMinor = 30_000, Currency = "UAH",
        ComputedAt = At,
        Offers = [new Offer { ProductId = OfferedProduct, Sku = "OFFER-1", Name = "Mug, \"large\"", Kind = "cross-sell", Because = ["Plate", "Кружка"], Confidence = 0.43, Lift = 2.9, Support = 0.01, Score = 0.43 }],
    };

    private static (Customer Customer, Product Product, Order Order, AuditEntry Audit, List<CustomerSearchTerm> Terms) Records(string suffix)
    {
        var customer = new Customer
        {
            Kind = CustomerKind.Person, FirstName = "Олена \"Lena\"", LastName = "Kovalenko, " + suffix, BirthDate = new DateOnly(1990, 2, 28),
            Gender = Gender.Female, MaritalStatus = MaritalStatus.Married, HouseholdSize = 3, AnnualIncomeMinor = 123_456_78,
            AnnualIncomeCurrency = "UAH", PropertyNotes = "flat\nsecond line", PreferredChannel = ContactChannel.Sms, PreferredLanguage = "uk",
            Status = LifecycleStatus.Customer, Source = "import", AcquisitionCostMinor = 1500, AcquisitionCostCurrency = "EUR",
            CustomFields = new() { ["tier"] = "gold", ["note"] = "a \"quoted\" ✓" }, ExternalId = "bulk-" + suffix,
            Emails = [new EmailAddress { Address = $"lena.{suffix}@example.com", Label = "work" }, new EmailAddress { Address = $"l.{suffix}@example.org" }],
            Phones = [new PhoneNumber { Number = "+380501234567", Label = "mobile" }],
            Addresses = [new PostalAddress { Line1 = "вул. Хрещатик, 1", City = "Київ", PostalCode = "01001", Country = "UA" }],
            Consents = [new ChannelConsent { Channel = ContactChannel.Email, Granted = true, At = At, Source = "form" },
                        new ChannelConsent { Channel = ContactChannel.Sms, Granted = false, At = At.AddDays(1) }],
            CreatedAt = At, UpdatedAt = At.AddTicks(70),
        };
        customer.RefreshDerivedFields();
        var product = new Product { Sku = "BULK-" + suffix, Name = "Mug, \"large\"", ListPriceMinor = 1299, Currency = "UAH", CreatedAt = At, UpdatedAt = At };
        var order = new Order
        {
            Number = "B-" + suffix, ExternalId = "B-" + suffix, CustomerId = customer.Id, Status = OrderStatus.Confirmed, Channel = "web",
            PaymentMethod = "card", Currency = "UAH", OrderedAt = At, ConfirmedAt = At, PromisedDeliveryDate = new DateOnly(2026, 3, 10),
            CreatedAt = At, UpdatedAt = At,
        };
        order.Lines.Add(new OrderLine { OrderId = order.Id, LineNo = 1, ProductId = product.Id, Sku = product.Sku, Description = "Mug, \"large\"", Quantity = 3, UnitPriceMinor = 1299, DiscountMinor = 100, Purpose = "gift" });
        order.Lines.Add(new OrderLine { OrderId = order.Id, LineNo = 2, Sku = "FREE", Description = "", Quantity = 1, UnitPriceMinor = 0 });
        OrderTotals.Apply(order);
        var audit = Audit.Entry(Actor.System, At, CustomerService.EntityType, customer.Id, AuditActions.Created,
            Audit.Diff(new Dictionary<string, string?>(), CustomerService.Snapshot(customer)));
        var terms = new CustomerService(null!, TimeProvider.System, new PhoneNormalizer(), []).BuildSearchTerms(customer);
        return (customer, product, order, audit, terms);
    }

    private static void AddAll(KoloDb db, (Customer Customer, Product Product, Order Order, AuditEntry Audit, List<CustomerSearchTerm> Terms) r)
    {
        db.Customers.Add(r.Customer);
        db.Products.Add(r.Product);
        db.Orders.Add(r.Order);
        db.AuditEntries.Add(r.Audit);
        db.CustomerSearchTerms.AddRange(r.Terms);
        db.CustomerScores.Add(ScoreOf(r.Customer, r.Product));
    }

    /// <summary>Children before parents, to show the writer orders tables by their foreign keys.</summary>
    private static List<object> RecordList((Customer Customer, Product Product, Order Order, AuditEntry Audit, List<CustomerSearchTerm> Terms) r) =>
        [.. r.Order.Lines, r.Order, .. r.Terms, r.Audit, ScoreOf(r.Customer, r.Product), r.Product, r.Customer];

    [Fact]
    public async Task Bulk_written_rows_equal_the_rows_SaveChanges_writes()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var viaEf = Records("ef" + suffix);
        var viaBulk = Records("bk" + suffix);
        await using (var db = await Factory.CreateDbContextAsync())
        {
            AddAll(db, viaEf);
            await db.SaveChangesAsync();
        }
        await using (var db = await Factory.CreateDbContextAsync())
        {
            await using var tx = await db.Database.BeginTransactionAsync();
            await BulkInsert.WriteAsync(db, RecordList(viaBulk));
            await tx.CommitAsync();
        }

        await using var read = await Factory.CreateDbContextAsync();
        await AssertSameRowAsync(read, "customers", viaEf.Customer.Id, viaBulk.Customer.Id, "Id", "ExternalId", "FirstName", "LastName", "DisplayName", "SortName", "Emails", "Version");
        await AssertSameRowAsync(read, "products", viaEf.Product.Id, viaBulk.Product.Id, "Id", "Sku", "Version");
        await AssertSameRowAsync(read, "orders", viaEf.Order.Id, viaBulk.Order.Id, "Id", "Number", "ExternalId", "CustomerId", "Version");
        await AssertSameRowAsync(read, "audit_entries", viaEf.Audit.Id, viaBulk.Audit.Id, "Id", "EntityId", "Changes");
        // Both lines: one with a product and a purpose, one with an empty description (not NULL) and no product.
        foreach (var (ef, bulk) in viaEf.Order.Lines.Zip(viaBulk.Order.Lines))
            await AssertSameRowAsync(read, "order_lines", ef.Id, bulk.Id, "Id", "OrderId", "ProductId", "Sku");
        await AssertSameRowAsync(read, "customer_scores", viaEf.Customer.Id, viaBulk.Customer.Id, "CustomerId");
        var offers = (await read.CustomerScores.AsNoTracking().SingleAsync(s => s.CustomerId == viaBulk.Customer.Id)).Offers;
        Assert.Equal(["Plate", "Кружка"], offers.Single().Because);
        Assert.Equal(OfferedProduct, offers.Single().ProductId);

        // The differing columns differ only by the suffix; JSON columns are checked through EF's own reading.
        var customer = await read.Customers.AsNoTracking().SingleAsync(c => c.Id == viaBulk.Customer.Id);
        Assert.Equal(["lena.bk" + suffix + "@example.com", "l.bk" + suffix + "@example.org"], customer.Emails.Select(e => e.Address));
        Assert.Equal("work", customer.Emails[0].Label);
        Assert.Equal("+380501234567", customer.Phones.Single().Number);
        Assert.Equal("вул. Хрещатик, 1", customer.Addresses.Single().Line1);
        Assert.Equal([(ContactChannel.Email, true, At), (ContactChannel.Sms, false, At.AddDays(1))], customer.Consents.Select(c => (c.Channel, c.Granted, c.At)));
        Assert.Equal("a \"quoted\" ✓", customer.CustomFields["note"]);
        Assert.Equal(At.AddTicks(70), customer.UpdatedAt);
        var lines = await read.OrderLines.AsNoTracking().Where(l => l.OrderId == viaBulk.Order.Id).OrderBy(l => l.LineNo).ToListAsync();
        Assert.Equal([("Mug, \"large\"", 3, 1299L, 100L, "gift", (Guid?)viaBulk.Product.Id), ("", 1, 0L, 0L, null, null)],
            lines.Select(l => (l.Description, l.Quantity, l.UnitPriceMinor, l.DiscountMinor, l.Purpose, l.ProductId)));
        Assert.Equal(viaEf.Order.Lines.Sum(l => l.LineTotalMinor), lines.Sum(l => l.LineTotalMinor));
        var audit = await read.AuditEntries.AsNoTracking().SingleAsync(a => a.Id == viaBulk.Audit.Id);
        Assert.Equal(viaBulk.Audit.Changes.Select(c => (c.Field, c.Old, c.New)), audit.Changes.Select(c => (c.Field, c.Old, c.New)));
        Assert.Equal(viaBulk.Terms.Select(t => t.Term).Order(), (await read.CustomerSearchTerms.Where(t => t.CustomerId == viaBulk.Customer.Id).Select(t => t.Term).ToListAsync()).Order());
        // EF finds bulk-written rows by key and by the values it converts (Guid, enum, DateTime) in queries.
        Assert.True(await read.Orders.AnyAsync(o => o.CustomerId == viaBulk.Customer.Id && o.Status == OrderStatus.Confirmed && o.OrderedAt == At));
    }

    [Fact]
    public async Task Scores_with_offers_are_written_as_SaveChanges_writes_them()
    {
        // An offer holds a primitive collection (Because) inside a JSON column: the recompute writes scores in bulk.
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var viaEf = Records("se" + suffix);
        var viaBulk = Records("sb" + suffix);
        await using (var db = await Factory.CreateDbContextAsync())
        {
            db.Customers.AddRange(viaEf.Customer, viaBulk.Customer);
            await db.SaveChangesAsync();
        }
        static Kolo.Core.Analytics.CustomerScore Score(Guid customerId) => new()
        {
            CustomerId = customerId, AsOf = At.Date, Orders = 2, PurchaseDays = 2, Segment = "Loyal", ProbabilityAlive = 0.5, Currency = "UAH", ComputedAt = At,
            Offers =
            [
                new() { ProductId = Guid.Empty, Sku = "MUG", Name = "Mug, \"large\"", Kind = "cross-sell", Because = ["Tea", "Чай \"зелений\""], Confidence = 0.43, Lift = 2.9, Support = 0.01, Score = 1.2 },
                new() { ProductId = Guid.Empty, Sku = "POT", Name = "Pot", Kind = "up-sell", Because = [], Support = 0.2 },
            ],
        };
        await using (var db = await Factory.CreateDbContextAsync())
        {
            db.CustomerScores.Add(Score(viaEf.Customer.Id));
            await db.SaveChangesAsync();
        }
        await using (var db = await Factory.CreateDbContextAsync())
        {
            await using var tx = await db.Database.BeginTransactionAsync();
            await BulkInsert.WriteAsync(db, [Score(viaBulk.Customer.Id)]);
            await tx.CommitAsync();
        }
        await using var read = await Factory.CreateDbContextAsync();
        var efJson = await OffersJsonAsync(read, viaEf.Customer.Id);
        Assert.Contains("Tea", efJson, StringComparison.Ordinal);
        Assert.Equal(efJson, await OffersJsonAsync(read, viaBulk.Customer.Id));
        var offers = (await read.CustomerScores.AsNoTracking().SingleAsync(s => s.CustomerId == viaBulk.Customer.Id)).Offers;
        Assert.Equal([["Tea", "Чай \"зелений\""], []], offers.Select(o => o.Because));
    }

    [Fact]
    public async Task A_failed_bulk_write_leaves_nothing_behind()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var first = Records("f1" + suffix);
        var clash = Records("f2" + suffix);
        clash.Order.Number = first.Order.Number; // unique index on the order number refuses the second order
        await using (var db = await Factory.CreateDbContextAsync())
        {
            AddAll(db, first);
            await db.SaveChangesAsync();
        }
        await using (var db = await Factory.CreateDbContextAsync())
        {
            await using var tx = await db.Database.BeginTransactionAsync();
            await Assert.ThrowsAnyAsync<DbException>(() => BulkInsert.WriteAsync(db, RecordList(clash)));
        }
        await using var read = await Factory.CreateDbContextAsync();
        Assert.False(await read.Customers.AnyAsync(c => c.Id == clash.Customer.Id));
        Assert.False(await read.CustomerSearchTerms.AnyAsync(t => t.CustomerId == clash.Customer.Id));
    }

    /// <summary>The scores' JSON column as stored (PostgreSQL: jsonb's text form).</summary>
    private static async Task<string?> OffersJsonAsync(KoloDb db, Guid customerId)
    {
        var connection = db.Database.GetDbConnection();
        if (connection.State != System.Data.ConnectionState.Open) await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        var isPostgres = db.Database.IsNpgsql();
        command.CommandText = $"SELECT {(isPostgres ? "\"Offers\"::text" : "\"Offers\"")} FROM customer_scores WHERE \"CustomerId\" = @id";
        var p = command.CreateParameter();
        p.ParameterName = "@id";
        p.Value = isPostgres ? customerId : customerId.ToString().ToUpperInvariant();
        command.Parameters.Add(p);
        return (string?)await command.ExecuteScalarAsync();
    }

    private static async Task AssertSameRowAsync(KoloDb db, string table, Guid efId, Guid bulkId, params string[] differing)
    {
        var ef = await RowAsync(db, table, efId);
        var bulk = await RowAsync(db, table, bulkId);
        Assert.Equal(ef.Keys.Order(), bulk.Keys.Order());
        foreach (var (column, value) in ef.Where(c => !differing.Contains(c.Key)))
            Assert.True(Equals(value, bulk[column]), $"{table}.{column}: SaveChanges wrote {value ?? "NULL"}, the bulk writer {bulk[column] ?? "NULL"}");
    }

    /// <summary>The row as the database returns it, each value as the database's own text (no EF conversion).</summary>
    private static async Task<Dictionary<string, string?>> RowAsync(KoloDb db, string table, Guid id)
    {
        var connection = db.Database.GetDbConnection();
        if (connection.State != System.Data.ConnectionState.Open) await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        var isPostgres = db.Database.IsNpgsql();
        // Text casts show what is stored (SQLite: the stored text or number; PostgreSQL: the value's output form).
        var columns = await ColumnsAsync(connection, table, isPostgres);
        command.CommandText = $"SELECT {string.Join(", ", columns.Select(c => isPostgres ? $"\"{c}\"::text" : $"CAST(\"{c}\" AS TEXT) || '|' || typeof(\"{c}\")"))} FROM \"{table}\" WHERE \"{(table == "customer_scores" ? "CustomerId" : "Id")}\" = @id";
        var p = command.CreateParameter();
        p.ParameterName = "@id";
        p.Value = isPostgres ? id : id.ToString().ToUpperInvariant();
        command.Parameters.Add(p);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), $"{table} has no row {id}");
        return columns.Select((c, i) => (c, reader.IsDBNull(i) ? null : reader.GetString(i))).ToDictionary(x => x.c, x => x.Item2);
    }

    private static async Task<List<string>> ColumnsAsync(DbConnection connection, string table, bool isPostgres)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = isPostgres
            ? $"SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '{table}'"
            : $"SELECT name FROM pragma_table_info('{table}')";
        var columns = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) columns.Add(reader.GetString(0));
        return columns;
    }
}

[Collection("sqlite")]
public sealed class SqliteBulkInsertTests(SqliteFixture fx) : BulkInsertTests(fx);

[Collection("postgres")]
public sealed class PostgresBulkInsertTests(PostgresFixture fx) : BulkInsertTests(fx);
