using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Text;
using CsvHelper;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Integration;
using Kolo.Core.Orders;
using Kolo.Core.Platform;
using Kolo.Web.Integration;
using Kolo.Web.Platform;
using Kolo.Web.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MiniExcelLibs;

namespace Kolo.Web.Tests;

/// <summary>Import jobs and exports over HTTP: idempotency, rejects, dry runs, xlsx, crash and resume, round trip, roles.</summary>
public abstract class ImportApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    private static readonly object CustomerMapping = new
    {
        externalId = "Customer No", firstName = "First", lastName = "Last", email = "E-mail", phone = "Phone", city = "City", country = "Country",
    };

    private static string CustomerCsv(string prefix, string lastName, params string[] extraRows) =>
        "Customer No,First,Last,E-mail,Phone,City,Country\n" +
        $"{prefix}-1,Olena,{lastName},{Unique.Email()},{Unique.Phone()},Kyiv,UA\n" +
        $"{prefix}-2,\"Petro, Jr.\",{lastName},,{Unique.Phone()},Lviv,Ukraine\n" +
        string.Join("", extraRows.Select(r => r + "\n"));

    private IDbContextFactory<KoloDb> Db => Fx.Factory.Services.GetRequiredService<IDbContextFactory<KoloDb>>();

    [Fact]
    public async Task Reimporting_the_same_file_changes_nothing_and_bad_rows_are_rejected_with_their_line()
    {
        var prefix = "c" + Unique.Word(8);
        var last = Unique.Name();
        var csv = CustomerCsv(prefix, last,
            $"{prefix}-3,Ivan,{last},not-an-email,,Odesa,UA",
            $",Nobody,{last},,,,",
            $"{prefix}-4,Maria,{last},{Unique.Email()},,Dnipro,UA");
        using var admin = Fx.Admin();
        var job = await admin.ImportAsync(ImportApi.Utf8(csv), "people.csv", "customers", CustomerMapping, mappingName: "people-" + prefix);
        Assert.Equal("Succeeded", job.Str("status"));
        Assert.Equal(100, job.Int("progress"));
        Assert.Equal((5, 3, 2, 3, 0, 0), (job.Int("rows"), job.Int("accepted"), job.Int("rejected"), job.Int("created"), job.Int("updated"), job.Int("unchanged")));

        // The accepted rows are kept and searchable; the quoted name is read as one field.
        var found = await admin.GetJsonAsync($"/api/v1/customers?q={last}&limit=10");
        Assert.Equal(["Maria " + last, "Olena " + last, "Petro, Jr. " + last], found.Items().Select(i => i.Str("displayName")).Order(StringComparer.Ordinal).ToArray());

        using (var rejects = await admin.GetAsync($"/api/v1/imports/{job.Id()}/rejects.csv"))
        {
            Assert.Equal(HttpStatusCode.OK, rejects.StatusCode);
            Assert.Equal("text/csv", rejects.Content.Headers.ContentType?.MediaType);
            var rows = ReadCsv(await rejects.Content.ReadAsStringAsync());
            Assert.Equal(["line", "reason", "raw"], rows[0]);
            Assert.Equal("4", rows[1][0]);
            Assert.Contains("not-an-email", rows[1][1], StringComparison.Ordinal);
            Assert.Equal($"{prefix}-3,Ivan,{last},not-an-email,,Odesa,UA", rows[1][2]);
            Assert.Equal("5", rows[2][0]);
            Assert.Contains("externalId", rows[2][1], StringComparison.Ordinal);
            Assert.Equal(3, rows.Count);
        }

        // Whoever asks in another language gets the reasons in it, with the row's own values put back.
        using (var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/imports/{job.Id()}/rejects.csv"))
        {
            request.Headers.AcceptLanguage.ParseAdd("uk");
            using var rejects = await admin.SendAsync(request);
            var rows = ReadCsv(await rejects.Content.ReadAsStringAsync());
            Assert.Equal(["line", "reason", "raw"], rows[0]);
            Assert.Equal(("4", "email «not-an-email» — неправильна адреса e-mail."), (rows[1][0], rows[1][1]));
            Assert.Equal(("5", "externalId порожній."), (rows[2][0], rows[2][1]));
        }

        var again = await admin.ImportAsync(ImportApi.Utf8(csv), "people.csv", "customers", CustomerMapping);
        Assert.Equal((3, 2, 0, 0, 3), (again.Int("accepted"), again.Int("rejected"), again.Int("created"), again.Int("updated"), again.Int("unchanged")));
        Assert.Equal(3, (await admin.GetJsonAsync($"/api/v1/customers?q={last}&limit=10")).Items().Count());

        // A changed row updates that customer only.
        var changed = csv.Replace($"{prefix}-4,Maria,", $"{prefix}-4,Mariia,", StringComparison.Ordinal);
        var third = await admin.ImportAsync(ImportApi.Utf8(changed), "people.csv", "customers", CustomerMapping);
        Assert.Equal((0, 1, 2), (third.Int("created"), third.Int("updated"), third.Int("unchanged")));

        // The saved mapping is offered for a file with the same header.
        using var preview = await admin.UploadAsync("/api/v1/imports/preview", ImportApi.Utf8(csv), "again.csv", "customers");
        var p = await preview.ExpectAsync(HttpStatusCode.OK);
        Assert.StartsWith("saved:", p.Str("mappingSource"), StringComparison.Ordinal);
        Assert.Equal("Customer No", p.GetProperty("mapping").Str("externalId"));
        var previewRows = p.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(5, previewRows.Count);
        Assert.Equal(JsonValueKindNull, previewRows[0].GetProperty("error").ValueKind);
        Assert.Contains("e-mail", previewRows[2].Str("error"), StringComparison.Ordinal);
        var saved = await admin.GetJsonAsync("/api/v1/import-mappings?kind=customers");
        Assert.Contains(saved.EnumerateArray(), m => m.Str("name") == "people-" + prefix);
    }

    private const System.Text.Json.JsonValueKind JsonValueKindNull = System.Text.Json.JsonValueKind.Null;

    [Fact]
    public async Task A_dry_run_counts_and_rejects_but_writes_nothing()
    {
        var prefix = "d" + Unique.Word(8);
        var last = Unique.Name();
        using var admin = Fx.Admin();
        var job = await admin.ImportAsync(ImportApi.Utf8(CustomerCsv(prefix, last, $"{prefix}-3,X,{last},bad@,,,")), "dry.csv", "customers", CustomerMapping, dryRun: true);
        Assert.True(job.GetProperty("dryRun").GetBoolean());
        Assert.Equal((3, 2, 1, 2), (job.Int("rows"), job.Int("accepted"), job.Int("rejected"), job.Int("created")));
        Assert.Empty((await admin.GetJsonAsync($"/api/v1/customers?q={last}")).Items());
        await using var db = await Db.CreateDbContextAsync();
        Assert.False(await db.Customers.AnyAsync(c => c.ExternalId!.StartsWith(prefix)));
    }

    [Fact]
    public async Task Products_import_from_xlsx()
    {
        var sku = "X" + Unique.Word(8).ToUpperInvariant();
        var rows = new[]
        {
            new Dictionary<string, object> { ["SKU"] = sku + "-1", ["Product name"] = "Blue mug", ["Price"] = 12.5m, ["Category"] = "Kitchen" },
            new Dictionary<string, object> { ["SKU"] = sku + "-2", ["Product name"] = "Red mug", ["Price"] = 13m, ["Category"] = "Kitchen" },
            new Dictionary<string, object> { ["SKU"] = sku + "-3", ["Product name"] = "Broken", ["Price"] = "abc", ["Category"] = "Kitchen" },
        };
        using var file = new MemoryStream();
        file.SaveAs(rows, excelType: ExcelType.XLSX);
        using var admin = Fx.Admin();
        var job = await admin.ImportAsync(file.ToArray(), "catalog.xlsx", "products",
            new { sku = "SKU", name = "Product name", listPrice = "Price", category = "Category" }, new { currency = "EUR" });
        Assert.Equal((3, 2, 1, 2), (job.Int("rows"), job.Int("accepted"), job.Int("rejected"), job.Int("created")));
        var products = await admin.GetJsonAsync($"/api/v1/products?q={sku}");
        var mug = products.Items().Single(p => p.Str("sku") == sku + "-1");
        Assert.Equal(12.5m, mug.GetProperty("listPrice").GetDecimal());
        Assert.Equal("EUR", mug.Str("currency"));
        Assert.Equal("Kitchen", mug.Str("category"));
        var again = await admin.ImportAsync(file.ToArray(), "catalog.xlsx", "products",
            new { sku = "SKU", name = "Product name", listPrice = "Price", category = "Category" }, new { currency = "EUR" });
        Assert.Equal((0, 0, 2), (again.Int("created"), again.Int("updated"), again.Int("unchanged")));
    }

    [Fact]
    public async Task A_mapping_that_does_not_fit_the_file_is_refused()
    {
        using var admin = Fx.Admin();
        using var response = await admin.UploadAsync("/api/v1/imports", ImportApi.Utf8("a,b\n1,2\n"), "x.csv", "orders", new { externalId = "a", customerExternalId = "nope" });
        var errors = await response.ExpectValidationProblemAsync();
        Assert.Contains("mapping", errors.Keys);
        using var wrongType = await admin.UploadAsync("/api/v1/imports", ImportApi.Utf8("a,b\n"), "x.txt", "customers", new { externalId = "a" });
        Assert.Contains("file", (await wrongType.ExpectValidationProblemAsync()).Keys);
    }

    /// <summary>An orders job already claimed (Running) with its file in place, for an engine driven by the test itself.</summary>
    private async Task<(ImportJob Job, string Path)> RunningOrdersJobAsync(byte[] bytes, Dictionary<string, string> mapping)
    {
        var job = new ImportJob
        {
            Kind = ImportKind.Orders, Status = ImportStatus.Running, FileName = "orders.csv", FileSize = bytes.Length, Mapping = mapping,
            CreatedAt = DateTime.UtcNow, StartedAt = DateTime.UtcNow, HeartbeatAt = DateTime.UtcNow,
        };
        var path = ImportRunner.FileOf(Fx.Factory.Services.GetRequiredService<IOptions<KoloOptions>>().Value, job.Id);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, bytes);
        await using var db = await Db.CreateDbContextAsync();
        db.ImportJobs.Add(job);
        await db.SaveChangesAsync();
        return (job, path);
    }

    private ImportEngine Engine(int batchRows) => new(Db, TimeProvider.System, Fx.Factory.Services.GetRequiredService<PhoneNormalizer>(),
        Fx.Factory.Services.GetRequiredService<CustomerService>()) { BatchRows = batchRows };

    [Fact]
    public async Task A_crash_leaves_each_order_whole_or_absent_and_the_job_is_taken_over_and_completed()
    {
        var prefix = "O" + Unique.Word(6).ToUpperInvariant();
        var customer = "k" + Unique.Word(8);
        var csv = new StringBuilder("Order,Customer,Date,Sku,Item,Qty,Price\n");
        // 12 orders of 1..3 lines; order 2 is split (its second line comes at the end of the file).
        for (var o = 1; o <= 12; o++)
            for (var l = 1; l <= 1 + o % 3; l++)
                if (!(o == 2 && l == 2)) csv.Append(CultureInfo.InvariantCulture, $"{prefix}-{o},{customer},2024-03-{o:00} 10:00:00,{prefix}-P{l},\"Item, no. {l}\",{l},1.25\n");
        csv.Append(CultureInfo.InvariantCulture, $"{prefix}-2,{customer},2024-03-02 10:00:00,{prefix}-P2,\"Item, no. 2\",2,1.25\n");
        var bytes = ImportApi.Utf8(csv.ToString());
        var mapping = new Dictionary<string, string>
        {
            ["externalId"] = "Order", ["customerExternalId"] = "Customer", ["orderedAt"] = "Date", ["sku"] = "Sku", ["description"] = "Item",
            ["quantity"] = "Qty", ["unitPrice"] = "Price", ["$currency"] = "UAH",
        };
        var services = Fx.Factory.Services;
        var (job, path) = await RunningOrdersJobAsync(bytes, mapping);

        // This "node" commits one batch (at least 5 rows, ending at an order boundary) and dies.
        var engine = Engine(5);
        await Assert.ThrowsAsync<TimeoutException>(() => engine.RunAsync(job.Id, path, _ => throw new TimeoutException("node died")));
        await using (var db = await Db.CreateDbContextAsync())
        {
            var orders = await db.Orders.Include(o => o.Lines).Where(o => o.Number.StartsWith(prefix)).ToListAsync();
            Assert.InRange(orders.Count, 2, 11);
            foreach (var o in orders.Where(o => o.Number != prefix + "-2"))
                Assert.Equal(1 + int.Parse(o.Number[(prefix.Length + 1)..], CultureInfo.InvariantCulture) % 3, o.Lines.Count);
            var stuck = await db.ImportJobs.SingleAsync(j => j.Id == job.Id);
            Assert.Equal(ImportStatus.Running, stuck.Status);
            // The node's heartbeat stops: another node may take the job over.
            stuck.HeartbeatAt = DateTime.UtcNow.AddHours(-1);
            await db.SaveChangesAsync();
        }
        services.GetRequiredService<ImportSignal>().Notify();
        using var admin = Fx.Admin();
        var done = await admin.WaitForJobAsync(job.Id, 60);
        Assert.Equal("Succeeded", done.Str("status"));
        Assert.Equal((24, 24, 0, 12), (done.Int("rows"), done.Int("accepted"), done.Int("rejected"), done.Int("created")));
        await using (var db = await Db.CreateDbContextAsync())
        {
            var orders = await db.Orders.Include(o => o.Lines).Where(o => o.Number.StartsWith(prefix)).ToListAsync();
            Assert.Equal(12, orders.Count);
            foreach (var o in orders)
            {
                Assert.Equal(1 + int.Parse(o.Number[(prefix.Length + 1)..], CultureInfo.InvariantCulture) % 3, o.Lines.Count);
                Assert.Equal(o.Lines.Sum(l => l.Quantity * 125L), o.TotalMinor);
            }
            Assert.Equal("Item, no. 2", orders.SelectMany(o => o.Lines).First(l => l.Sku == prefix + "-P2").Description);
            var buyer = await db.Customers.SingleAsync(c => c.ExternalId == customer);
            Assert.Equal(LifecycleStatus.Customer, buyer.Status);
        }
    }

    [Fact]
    public async Task A_batch_prepared_while_the_previous_one_is_written_sees_its_customers_orders_and_promotions()
    {
        // Two prospects from a customer import, then orders of two lines per batch: the engine reads batch n + 1 while
        // batch n is being written, so a customer created or promoted by batch n must not be created or promoted again.
        var prefix = "PL" + Unique.Word(6).ToUpperInvariant();
        using var admin = Fx.Admin();
        var people = await admin.ImportAsync(ImportApi.Utf8(CustomerCsv(prefix, "Pipeline")), "people.csv", "customers", CustomerMapping);
        Assert.Equal(2, people.Int("created"));
        var buyers = new[] { $"{prefix}-1", $"{prefix}-2", $"{prefix}-NEW" };
        var csv = new StringBuilder("Order,Customer,Date,Sku,Qty,Price\n");
        for (var o = 1; o <= 12; o++)
            csv.Append(CultureInfo.InvariantCulture, $"{prefix}-O{o},{buyers[o % 3]},2024-05-{o:00} 09:00:00,{prefix}-SKU{o % 4},1,2.50\n");
        // Order 5 gets a second line in the next batch (a file not sorted by order).
        csv.Append(CultureInfo.InvariantCulture, $"{prefix}-O5,{buyers[5 % 3]},2024-05-05 09:00:00,{prefix}-SKU9,3,1.00\n");
        var (job, path) = await RunningOrdersJobAsync(ImportApi.Utf8(csv.ToString()), new Dictionary<string, string>
        {
            ["externalId"] = "Order", ["customerExternalId"] = "Customer", ["orderedAt"] = "Date", ["sku"] = "Sku",
            ["quantity"] = "Qty", ["unitPrice"] = "Price", ["$currency"] = "UAH",
        });
        var committed = new List<int>();
        await Engine(2).RunAsync(job.Id, path, j => committed.Add(j.Rows));

        Assert.Equal([2, 4, 6, 8, 10, 12, 13], committed);
        await using (var db = await Db.CreateDbContextAsync())
        {
            var done = await db.ImportJobs.SingleAsync(j => j.Id == job.Id);
            Assert.Equal((ImportStatus.Succeeded, 13, 0, 12, 1), (done.Status, done.Rows, done.Rejected, done.Created, done.Updated));
            var customers = await db.Customers.Where(c => c.ExternalId!.StartsWith(prefix)).ToListAsync();
            Assert.Equal(buyers.Order(), customers.Select(c => c.ExternalId!).Order());
            Assert.All(customers, c => Assert.Equal(LifecycleStatus.Customer, c.Status));
            foreach (var c in customers)
                Assert.Equal(4, await db.Orders.CountAsync(o => o.CustomerId == c.Id));
            var ids = customers.Select(c => c.Id).ToList();
            var statusChanges = await db.AuditEntries.Where(a => ids.Contains(a.EntityId) && a.Action == AuditActions.Updated).CountAsync();
            Assert.Equal(2, statusChanges);
            var split = await db.Orders.Include(o => o.Lines).SingleAsync(o => o.Number == prefix + "-O5");
            Assert.Equal((2, 250L + 300L), (split.Lines.Count, split.TotalMinor));
            Assert.Equal(5, await db.Products.CountAsync(p => p.Sku.StartsWith(prefix)));
        }
    }

    [Fact]
    public async Task Statuses_in_a_file_with_returns_split_orders_and_quotes_across_batches()
    {
        var p = "ST" + Unique.Word(6).ToUpperInvariant();
        var c = p + "-c";
        var csv = new StringBuilder("Order,Customer,Date,Sku,Qty,Price,Status\n")
            .Append(CultureInfo.InvariantCulture, $"{p}-A,{c},2024-01-01,{p}-S1,1,10,\n")
            .Append(CultureInfo.InvariantCulture, $"{p}-B,{c},2023-12-31,{p}-S1,1,10,\n")
            // Batch 2: a late line of A, and a return of S1, which comes from A (the most recent purchase of it).
            .Append(CultureInfo.InvariantCulture, $"{p}-A,{c},2024-01-01,{p}-S2,1,5,confirmed\n")
            .Append(CultureInfo.InvariantCulture, $"{p}-RA,{c},2024-01-05,{p}-S1,-1,10,Returned\n")
            // Batch 3: a cancelled order and a return of its SKU: nothing was bought, so nothing comes back from it.
            .Append(CultureInfo.InvariantCulture, $"{p}-X,{c},2024-01-03,{p}-S3,1,10,Cancelled\n")
            .Append(CultureInfo.InvariantCulture, $"{p}-RX,{c},2024-01-04,{p}-S3,1,10,Returned\n")
            // Batch 4: a quote of a customer not yet known, and a row calling order A a return.
            .Append(CultureInfo.InvariantCulture, $"{p}-Q,{p}-new,2024-01-02,{p}-S1,2,10,Quote\n")
            .Append(CultureInfo.InvariantCulture, $"{p}-A,{c},2024-01-01,{p}-S4,-1,10,Returned\n");
        var (job, path) = await RunningOrdersJobAsync(ImportApi.Utf8(csv.ToString()), new Dictionary<string, string>
        {
            ["externalId"] = "Order", ["customerExternalId"] = "Customer", ["orderedAt"] = "Date", ["sku"] = "Sku",
            ["quantity"] = "Qty", ["unitPrice"] = "Price", ["status"] = "Status", ["$currency"] = "UAH",
        });
        var committed = new List<int>();
        await Engine(2).RunAsync(job.Id, path, j => committed.Add(j.Rows));

        Assert.Equal([2, 4, 6, 8], committed);
        await using var db = await Db.CreateDbContextAsync();
        var done = await db.ImportJobs.SingleAsync(j => j.Id == job.Id);
        Assert.Equal((ImportStatus.Succeeded, 6, 1, 1), (done.Status, done.Created, done.Updated, done.Rejected));
        Assert.Equal($"Order {p}-A is Confirmed, but this row says Returned.", (await db.ImportRejects.SingleAsync(r => r.JobId == job.Id)).Reason);
        var orders = await db.Orders.Include(o => o.Lines).Where(o => o.Number.StartsWith(p)).ToDictionaryAsync(o => o.Number[(p.Length + 1)..]);
        Assert.Equal([p + "-S1", p + "-S2"], orders["A"].Lines.OrderBy(l => l.LineNo).Select(l => l.Sku));
        Assert.Equal(1, orders["A"].Lines.Single(l => l.Sku == p + "-S1").ReturnedQuantity);
        Assert.Equal(0, orders["B"].Lines.Single().ReturnedQuantity);
        Assert.Equal((OrderStatus.Returned, orders["A"].Id, -1000L), (orders["RA"].Status, orders["RA"].ReturnOfOrderId!.Value, orders["RA"].TotalMinor));
        Assert.Equal((OrderStatus.Cancelled, 0), (orders["X"].Status, orders["X"].Lines.Single().ReturnedQuantity));
        Assert.Null(orders["RX"].ReturnOfOrderId);
        Assert.Equal((OrderStatus.Quote, 2000L), (orders["Q"].Status, orders["Q"].TotalMinor));
        var actions = await db.AuditEntries.Where(e => e.EntityType == "order" && e.EntityId == orders["A"].Id).Select(e => e.Action).ToListAsync();
        Assert.Equal(["created", "returned", "updated"], actions.Order(StringComparer.Ordinal));
        // Only a purchase makes a customer: a quote leaves the new one a prospect.
        var statuses = await db.Customers.Where(x => x.ExternalId!.StartsWith(p)).ToDictionaryAsync(x => x.ExternalId!, x => x.Status);
        Assert.Equal((LifecycleStatus.Customer, LifecycleStatus.Prospect), (statuses[c], statuses[p + "-new"]));
    }

    [Fact]
    public async Task Rows_without_an_order_id_do_not_split_an_order_and_still_end_a_batch_at_twice_its_size()
    {
        var p = "NK" + Unique.Word(6).ToUpperInvariant();
        var csv = new StringBuilder("Order,Customer,Date,Sku,Qty,Price\n")
            .Append(CultureInfo.InvariantCulture, $"{p}-A,{p}-c,2024-01-01,{p}-S1,1,10\n")
            .Append(CultureInfo.InvariantCulture, $"{p}-B,{p}-c,2024-01-01,{p}-S1,1,10\n")
            .Append(CultureInfo.InvariantCulture, $",{p}-c,2024-01-01,{p}-S1,1,10\n")
            .Append(CultureInfo.InvariantCulture, $"{p}-B,{p}-c,2024-01-01,{p}-S2,1,10\n");
        for (var i = 0; i < 6; i++) csv.Append(CultureInfo.InvariantCulture, $",{p}-c,2024-01-01,{p}-S1,1,10\n");
        var (job, path) = await RunningOrdersJobAsync(ImportApi.Utf8(csv.ToString()), new Dictionary<string, string>
        {
            ["externalId"] = "Order", ["customerExternalId"] = "Customer", ["orderedAt"] = "Date", ["sku"] = "Sku",
            ["quantity"] = "Qty", ["unitPrice"] = "Price", ["$currency"] = "UAH",
        });
        var committed = new List<int>();
        await Engine(2).RunAsync(job.Id, path, j => committed.Add(j.Rows));

        // B's second line stays in B's batch across the row without an id; the run of such rows ends a batch at 4.
        Assert.Equal([4, 8, 10], committed);
        await using var db = await Db.CreateDbContextAsync();
        Assert.Equal(2, await db.OrderLines.CountAsync(l => db.Orders.Any(o => o.Id == l.OrderId && o.Number == p + "-B")));
        var done = await db.ImportJobs.SingleAsync(j => j.Id == job.Id);
        Assert.Equal((2, 0, 7), (done.Created, done.Updated, done.Rejected));
    }

    [Fact]
    public async Task Exported_customers_import_into_a_fresh_database_as_the_same_customers()
    {
        var tag = "export-" + Unique.Word(8);
        using var admin = Fx.Admin();
        for (var i = 0; i < 3; i++)
        {
            var body = Person();
            body["tags"] = new[] { tag };
            body["addresses"] = new[] { new { city = "Kharkiv", country = "UA", line1 = "Sumska 1, apt. \"5\"" } };
            await CreateAsync(body);
        }
        var csv = await admin.GetStringAsync($"/api/v1/exports/customers?tag={tag}&format=csv");
        var rows = ReadCsv(csv);
        Assert.Equal(ExportService.CustomerColumns, rows[0]);
        Assert.Equal(4, rows.Count);

        var xlsx = await admin.GetByteArrayAsync($"/api/v1/exports/customers?tag={tag}&format=xlsx");
        using (var stream = new MemoryStream(xlsx))
            Assert.Equal(3, stream.Query(useHeaderRow: true, excelType: ExcelType.XLSX).Count());

        KoloAppFixture fresh = Fx.Provider == DatabaseProvider.Sqlite ? new SqliteFixture() : new PostgresFixture();
        await fresh.InitializeAsync();
        try
        {
            using var freshAdmin = fresh.Admin();
            var job = await freshAdmin.ImportAsync(ImportApi.Utf8(csv), "customers.csv", "customers", new
            {
                externalId = "id", kind = "kind", firstName = "firstName", lastName = "lastName", companyName = "companyName", email = "email",
                phone = "phone", addressLine1 = "addressLine1", city = "city", region = "region", postalCode = "postalCode", country = "country",
                birthDate = "birthDate", status = "status", source = "source", preferredLanguage = "preferredLanguage",
            });
            Assert.Equal((3, 3, 0), (job.Int("rows"), job.Int("created"), job.Int("rejected")));
            var again = ReadCsv(await freshAdmin.GetStringAsync("/api/v1/exports/customers?format=csv"));
            static string[] Comparable(string[] r) => [r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[12], r[14]];
            Assert.Equal(rows.Skip(1).Select(Comparable), again.Skip(1).Select(Comparable));
            Assert.Equal(rows.Skip(1).Select(r => r[0]), again.Skip(1).Select(r => r[1]));
        }
        finally { await fresh.DisposeAsync(); }
    }

    [Fact]
    public async Task Only_admins_and_managers_import_and_a_sales_user_exports_only_their_customers()
    {
        var sales = await Fx.CreateUserAsync("Sales");
        var support = await Fx.CreateUserAsync("Support");
        var manager = await Fx.CreateUserAsync("Manager");
        foreach (var user in new[] { sales, support })
        {
            using var client = user.Client();
            using var upload = await client.UploadAsync("/api/v1/imports", ImportApi.Utf8("id,last\n1,A\n"), "x.csv", "customers", new { externalId = "id", lastName = "last" });
            await upload.ExpectAsync(HttpStatusCode.Forbidden);
            await client.GetJsonAsync("/api/v1/imports", HttpStatusCode.Forbidden);
            await client.GetJsonAsync("/api/v1/import-mappings", HttpStatusCode.Forbidden);
        }
        using (var client = manager.Client())
        {
            var job = await client.ImportAsync(ImportApi.Utf8($"id,last\nm{Unique.Word(8)},{Unique.Name()}\n"), "x.csv", "customers", new { externalId = "id", lastName = "last" });
            Assert.Equal(1, job.Int("created"));
            Assert.Contains((await client.GetJsonAsync("/api/v1/imports")).EnumerateArray(), j => j.Id() == job.Id());
        }

        var last = Unique.Name();
        var mine = Person(null, last);
        mine["ownerId"] = sales.Id;
        await CreateAsync(mine);
        await CreateAsync(Person(null, last));
        using var salesClient = sales.Client();
        var rows = ReadCsv(await salesClient.GetStringAsync($"/api/v1/exports/customers?q={last}"));
        Assert.Equal(2, rows.Count);
        Assert.Equal((string)mine["firstName"]!, rows[1][3]);
        using var adminClient = Fx.Admin();
        Assert.Equal(3, ReadCsv(await adminClient.GetStringAsync($"/api/v1/exports/customers?q={last}")).Count);
    }

    [Fact]
    public async Task Online_retail_imports_as_orders_with_customers_products_and_returns()
    {
        var path = ImportApi.Dataset("online_retail/online_retail.csv.gz");
        // Counted here with a plain read of the file, independently of the importer.
        var invoices = new HashSet<string>();
        var customers = new HashSet<string>();
        int rows = 0, withCustomer = 0, returnRows = 0;
        await using (var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress))
        using (var reader = new StreamReader(gz))
        using (var csv = new CsvReader(reader, CultureInfo.InvariantCulture))
        {
            await csv.ReadAsync();
            csv.ReadHeader();
            while (await csv.ReadAsync())
            {
                rows++;
                var customer = csv.GetField("CustomerID");
                if (string.IsNullOrEmpty(customer)) continue;
                withCustomer++;
                invoices.Add(csv.GetField("InvoiceNo")!);
                customers.Add(customer.Split('.')[0]);
                if (csv.GetField("InvoiceNo")!.StartsWith('C')) returnRows++;
            }
        }
        Assert.Equal(541_909, rows);
        Assert.Equal(135_080, rows - withCustomer);
        Assert.Equal(4_372, customers.Count);
        var returns = invoices.Count(i => i.StartsWith('C'));

        using var admin = Fx.Admin();
        var job = await admin.ImportAsync(await File.ReadAllBytesAsync(path), "online_retail.csv.gz", "orders", new
        {
            externalId = "InvoiceNo", sku = "StockCode", description = "Description", quantity = "Quantity", orderedAt = "InvoiceDate",
            unitPrice = "UnitPrice", customerExternalId = "CustomerID", country = "Country",
        }, new { currency = "GBP", cancellationPrefix = "C", dateFormat = "yyyy-MM-dd HH:mm:ss" }, timeoutSeconds: 1200);
        Assert.True(job.Str("status") == "Succeeded", job.ToString());
        Assert.Equal((rows, withCustomer, rows - withCustomer, invoices.Count), (job.Int("rows"), job.Int("accepted"), job.Int("rejected"), job.Int("created")));
        // Speed is measured in bench/ (run-import), not asserted here: a shared machine makes a deadline flaky.

        using (var rejects = await admin.GetAsync($"/api/v1/imports/{job.Id()}/rejects.csv"))
        {
            var text = await rejects.Content.ReadAsStringAsync();
            var firstRows = ReadCsv(string.Join('\n', text.Split('\n').Take(3)));
            Assert.Contains("no customer id", firstRows[1][1], StringComparison.Ordinal);
            Assert.Equal(135_080 + 1, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        }

        await using var db = await Db.CreateDbContextAsync();
        var ids = invoices.ToList();
        var imported = db.Orders.Where(o => o.Currency == "GBP" && o.OrderedAt >= new DateTime(2010, 12, 1, 0, 0, 0, DateTimeKind.Utc) && o.OrderedAt < new DateTime(2011, 12, 10, 0, 0, 0, DateTimeKind.Utc));
        Assert.Equal(invoices.Count, await imported.CountAsync());
        Assert.Equal(returns, await imported.CountAsync(o => o.Status == OrderStatus.Returned));
        Assert.Equal(withCustomer, await db.OrderLines.CountAsync(l => imported.Any(o => o.Id == l.OrderId)));
        Assert.Equal(returnRows, await db.OrderLines.CountAsync(l => imported.Any(o => o.Id == l.OrderId && o.Status == OrderStatus.Returned)));
        var customerIds = customers.ToList();
        Assert.Equal(customers.Count, await db.Customers.CountAsync(c => customerIds.Contains(c.ExternalId!)));
        Assert.True(await imported.AnyAsync(o => o.Status == OrderStatus.Returned && o.ReturnOfOrderId != null && o.TotalMinor < 0));

        var first = await db.Customers.SingleAsync(c => c.ExternalId == "17850");
        Assert.Equal("GB", first.Addresses.Single().Country);
        Assert.Equal(LifecycleStatus.Customer, first.Status);
        var order = await db.Orders.Include(o => o.Lines).SingleAsync(o => o.ExternalId == "536365");
        Assert.Equal(first.Id, order.CustomerId);
        Assert.Equal(7, order.Lines.Count);
        Assert.Equal(255, order.Lines.Single(l => l.Sku == "85123A").UnitPriceMinor);
        Assert.True(await db.OrderLines.AnyAsync(l => l.Description == "AIRLINE LOUNGE,METAL SIGN"));
    }

    [Fact]
    public async Task Cdnow_imports_one_order_per_row_and_reimports_unchanged()
    {
        var path = ImportApi.Dataset("cdnow/cdnowElog.csv");
        var lines = (await File.ReadAllLinesAsync(path)).Skip(1).Where(l => l.Length > 0).ToList();
        var customers = lines.Select(l => l.Split(',')[0]).Distinct().Count();
        var cds = lines.Sum(l => int.Parse(l.Split(',')[3], CultureInfo.InvariantCulture));
        var sales = lines.Sum(l => decimal.Parse(l.Split(',')[4], CultureInfo.InvariantCulture));
        Assert.Equal(6_919, lines.Count);
        Assert.Equal(2_357, customers);
        Assert.Equal(244_091.94m, sales);

        var mapping = new { customerExternalId = "masterid", orderedAt = "date", quantity = "cds", lineTotal = "sales" };
        var options = new { currency = "USD", dateFormat = "yyyyMMdd", defaultSku = "CDNOW-CD", externalIdFromRow = "true", customerIdPrefix = "cdnow-" };
        using var admin = Fx.Admin();
        var bytes = await File.ReadAllBytesAsync(path);
        var job = await admin.ImportAsync(bytes, "cdnowElog.csv", "orders", mapping, options);
        Assert.Equal((6_919, 6_919, 0, 6_919), (job.Int("rows"), job.Int("accepted"), job.Int("rejected"), job.Int("created")));

        await using (var db = await Db.CreateDbContextAsync())
        {
            var orders = db.Orders.Where(o => o.Currency == "USD" && o.Lines.Any(l => l.Sku == "CDNOW-CD"));
            Assert.Equal(6_919, await orders.CountAsync());
            Assert.Equal(6_919, await db.OrderLines.CountAsync(l => l.Sku == "CDNOW-CD"));
            Assert.Equal(cds, await db.OrderLines.Where(l => l.Sku == "CDNOW-CD").SumAsync(l => l.Quantity));
            Assert.Equal(24_409_194L, await orders.SumAsync(o => o.TotalMinor));
            Assert.Equal(customers, await db.Customers.CountAsync(c => orders.Any(o => o.CustomerId == c.Id)));
            var first = await db.Orders.Include(o => o.Lines).Where(o => o.Currency == "USD" && db.Customers.Any(c => c.Id == o.CustomerId && c.ExternalId == "cdnow-4"))
                .OrderBy(o => o.OrderedAt).FirstAsync();
            Assert.Equal(new DateTime(1997, 1, 1), first.OrderedAt.Date);
            Assert.Equal(2, first.Lines.Single().Quantity);
            Assert.Equal(2_933, first.TotalMinor);
        }

        var again = await admin.ImportAsync(bytes, "cdnowElog.csv", "orders", mapping, options);
        Assert.Equal((0, 6_919, 0), (again.Int("created"), again.Int("unchanged"), again.Int("rejected")));
    }

    [Fact]
    public async Task Missing_or_out_of_range_values_are_rejected_rows_and_the_job_still_succeeds()
    {
        var sku = "V" + Unique.Word(6).ToUpperInvariant();
        using var admin = Fx.Admin();
        var products = ImportApi.Utf8($"sku,name,listPrice,currency\n{sku}-1,Mug,10,UAH\n{sku}-2,Cup,10,\n{sku}-3,Big,100000000000000000,UAH\n");
        var productMapping = new { sku = "sku", name = "name", listPrice = "listPrice", currency = "currency" };
        // The preview shows the same reasons (it used to fail with a 500 on the empty currency).
        using (var preview = await admin.UploadAsync("/api/v1/imports/preview", products, "p.csv", "products", productMapping))
        {
            var rows = (await preview.ExpectAsync(HttpStatusCode.OK)).GetProperty("rows").EnumerateArray().ToList();
            Assert.Equal(["", "currency is empty, and no currency option is set.", "listPrice '100000000000000000' is too large: at most 1000000000."],
                rows.Select(r => r.GetProperty("error").GetString() ?? "").ToArray());
        }
        var job = await admin.ImportAsync(products, "p.csv", "products", productMapping);
        Assert.Equal(("Succeeded", 3, 1, 2), (job.Str("status"), job.Int("rows"), job.Int("created"), job.Int("rejected")));
        var rejects = ReadCsv(await admin.GetStringAsync($"/api/v1/imports/{job.Id()}/rejects.csv"));
        Assert.Equal([["3", "currency is empty, and no currency option is set."], ["4", "listPrice '100000000000000000' is too large: at most 1000000000."]],
            rejects.Skip(1).Select(r => r[..2]).ToArray());

        var order = "OV" + Unique.Word(6).ToUpperInvariant();
        var orders = ImportApi.Utf8($"Order,Customer,Date,Sku,Qty,Total\n{order}-1,{order}-c,2024-01-02,{sku}-1,1,-12.50\n" +
                                    $"{order}-2,{order}-c,2024-01-02,{sku}-1,5000000,1\n{order}-3,{order}-c,2024-01-02,{sku}-1,2,25.00\n");
        var ordersJob = await admin.ImportAsync(orders, "o.csv", "orders", new Dictionary<string, string>
        {
            ["externalId"] = "Order", ["customerExternalId"] = "Customer", ["orderedAt"] = "Date", ["sku"] = "Sku", ["quantity"] = "Qty",
            ["lineTotal"] = "Total", ["$currency"] = "UAH",
        });
        Assert.Equal(("Succeeded", 1, 2), (ordersJob.Str("status"), ordersJob.Int("created"), ordersJob.Int("rejected")));
        rejects = ReadCsv(await admin.GetStringAsync($"/api/v1/imports/{ordersJob.Id()}/rejects.csv"));
        Assert.Equal([["2", "lineTotal is negative on an order that is not a cancellation."], ["3", "quantity '5000000' is too large: at most 1000000."]],
            rejects.Skip(1).Select(r => r[..2]).ToArray());
    }

    [Fact]
    public async Task Exported_orders_import_back_with_their_discounts_and_statuses()
    {
        var prefix = "RT" + Unique.Word(6).ToUpperInvariant();
        using var admin = Fx.Admin();
        await admin.ImportAsync(ImportApi.Utf8(CustomerCsv(prefix, "Roundtrip")), "people.csv", "customers", CustomerMapping);
        var customerId = (await admin.GetJsonAsync($"/api/v1/customers?q=Olena%20Roundtrip&limit=5")).Items()
            .Select(i => i.Id()).Single();
        var product = await admin.CreateProductAsync(100m);
        var sold = await admin.CreateOrderAsync(OrderApi.Order(customerId, [OrderApi.Line(product.Id(), 2, 100m, discount: 20m), OrderApi.Line(product.Id(), 1, 55.5m)]));
        var quote = await admin.CreateOrderAsync(OrderApi.Order(customerId, [OrderApi.Line(product.Id(), 3, 10m)], quote: true));
        var cancelled = await admin.CreateOrderAsync(OrderApi.Order(customerId, [OrderApi.Line(product.Id(), 1, 7m)]));
        await admin.StatusAsync(cancelled.Id(), "Cancelled");
        var delivered = await admin.CreateOrderAsync(OrderApi.Order(customerId, [OrderApi.Line(product.Id(), 4, 1.25m, discount: 0.5m)]));
        await admin.StatusAsync(delivered.Id(), "Delivered");

        var csv = await admin.GetStringAsync($"/api/v1/exports/orders?customer={customerId}&format=csv");
        var rows = ReadCsv(csv);
        Assert.Equal(ExportService.OrderColumns, rows[0]);
        Assert.Equal(5, rows.Count - 1);
        // The same file as new orders: only the order ids change.
        var copy = rows.Skip(1).Select(r => r.Select((v, i) => i is 0 or 1 ? prefix + v : v).ToArray()).ToList();
        var text = new StringBuilder(string.Join(",", rows[0]) + "\n");
        foreach (var r in copy) text.Append(string.Join(",", r.Select(v => "\"" + v.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""))).Append('\n');
        using (var preview = await admin.UploadAsync("/api/v1/imports/preview", ImportApi.Utf8(text.ToString()), "orders.csv", "orders", options: new { }))
        {
            var mapping = (await preview.ExpectAsync(HttpStatusCode.OK)).GetProperty("mapping");
            Assert.Equal("discount", mapping.Str("discount"));
            Assert.Equal("status", mapping.Str("status"));
        }
        var job = await admin.ImportAsync(ImportApi.Utf8(text.ToString()), "orders.csv", "orders", new Dictionary<string, string>
        {
            ["externalId"] = "externalId", ["customerExternalId"] = "customerExternalId", ["orderedAt"] = "orderedAt", ["sku"] = "sku",
            ["description"] = "description", ["quantity"] = "quantity", ["unitPrice"] = "unitPrice", ["discount"] = "discount",
            ["lineTotal"] = "lineTotal", ["currency"] = "currency", ["status"] = "status", ["channel"] = "channel", ["paymentMethod"] = "paymentMethod",
        });
        Assert.Equal(("Succeeded", 4, 0), (job.Str("status"), job.Int("created"), job.Int("rejected")));

        var again = ReadCsv(await admin.GetStringAsync($"/api/v1/exports/orders?customer={customerId}&q={prefix}&format=csv"));
        // Status, customer, currency, line, SKU, quantity, unit price, discount, line total, order total, channel, payment.
        static string Comparable(string[] r) => string.Join("|", r[2], r[3], r[6], r[7], r[8], r[10], r[11], r[12], r[13], r[14], r[16], r[17]);
        Assert.Equal(copy.Select(Comparable).Order(StringComparer.Ordinal), again.Skip(1).Select(Comparable).Order(StringComparer.Ordinal));
        Assert.Equal(copy.Select(r => r[0]).Order(), again.Skip(1).Select(r => r[0]).Order());
    }

    [Fact]
    public async Task Orders_of_a_merged_customer_go_to_the_record_it_was_merged_into()
    {
        var prefix = "MG" + Unique.Word(6).ToUpperInvariant();
        var last = Unique.Name();
        using var admin = Fx.Admin();
        await admin.ImportAsync(ImportApi.Utf8(CustomerCsv(prefix, last)), "people.csv", "customers", CustomerMapping);
        var source = await CustomerIdAsync($"{prefix}-1");
        var target = await CustomerIdAsync($"{prefix}-2");
        await admin.PostJsonAsync($"/api/v1/customers/{target}/merge", new { sourceId = source }, HttpStatusCode.OK);

        var job = await admin.ImportAsync(ImportApi.Utf8($"Order,Customer,Date,Sku,Qty,Price\n{prefix}-O1,{prefix}-1,2024-02-03,{prefix}-SKU,1,9.99\n"),
            "orders.csv", "orders", new Dictionary<string, string>
            {
                ["externalId"] = "Order", ["customerExternalId"] = "Customer", ["orderedAt"] = "Date", ["sku"] = "Sku", ["quantity"] = "Qty",
                ["unitPrice"] = "Price", ["$currency"] = "UAH",
            });
        Assert.Equal((1, 0), (job.Int("created"), job.Int("rejected")));
        var order = (await admin.GetJsonAsync($"/api/v1/orders?q={prefix}-O1")).Items().Single();
        Assert.Equal(target, order.GetProperty("customerId").GetGuid());
        Assert.Equal("Customer", (await admin.GetJsonAsync($"/api/v1/customers/{target}")).Str("status"));

        // The merged record itself is not changed by a customer file either: the row says why.
        var again = await admin.ImportAsync(ImportApi.Utf8(CustomerCsv(prefix, last + "x")), "people.csv", "customers", CustomerMapping);
        Assert.Equal((1, 1), (again.Int("updated"), again.Int("rejected")));
        var reject = ReadCsv(await admin.GetStringAsync($"/api/v1/imports/{again.Id()}/rejects.csv"))[1];
        Assert.Equal(("2", "This customer was merged into another record; use that one."), (reject[0], reject[1]));
    }

    [Fact]
    public async Task A_cancellation_in_a_file_audits_the_order_it_brings_goods_back_from_and_gives_it_a_new_version()
    {
        var prefix = "CX" + Unique.Word(6).ToUpperInvariant();
        using var admin = Fx.Admin();
        await admin.ImportAsync(ImportApi.Utf8(CustomerCsv(prefix, Unique.Name())), "people.csv", "customers", CustomerMapping);
        var customerId = await CustomerIdAsync($"{prefix}-1");
        var product = await admin.CreateProductAsync(10m);
        var sold = await admin.CreateOrderAsync(OrderApi.Order(customerId, [OrderApi.Line(product.Id(), 3)]));
        var (_, etag) = await admin.GetOrderAsync(sold.Id());

        var job = await admin.ImportAsync(ImportApi.Utf8($"Order,Customer,Date,Sku,Qty,Price\nC{prefix},{prefix}-1,{DateTime.UtcNow.AddMinutes(1):yyyy-MM-dd HH:mm:ss},{product.Str("sku")},-1,10\n"),
            "returns.csv", "orders", new Dictionary<string, string>
            {
                ["externalId"] = "Order", ["customerExternalId"] = "Customer", ["orderedAt"] = "Date", ["sku"] = "Sku", ["quantity"] = "Qty",
                ["unitPrice"] = "Price", ["$currency"] = "UAH", ["$cancellationPrefix"] = "C",
            });
        Assert.Equal((1, 0), (job.Int("created"), job.Int("rejected")));
        var (after, newTag) = await admin.GetOrderAsync(sold.Id());
        Assert.Equal(1, after.Lines()[0].Int("returnedQuantity"));
        Assert.NotEqual(etag, newTag);
        var history = await admin.GetJsonAsync($"/api/v1/audit?entityType=order&entityId={sold.Id()}");
        Assert.Contains(history.Items(), e => e.Str("action") == "returned"
            && e.GetProperty("changes").EnumerateArray().Any(c => c.Str("field") == "returnNumber" && c.Str("new") == "C" + prefix));
        // A return through the API based on the old version is refused.
        using var stale = await admin.SendRawAsync(HttpMethod.Post, $"/api/v1/orders/{sold.Id()}/returns",
            $"{{\"lines\":[{{\"lineId\":\"{after.Lines()[0].Id()}\",\"quantity\":1}}]}}", etag);
        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);
    }

    private async Task<Guid> CustomerIdAsync(string externalId)
    {
        await using var db = await Db.CreateDbContextAsync();
        return await db.Customers.Where(c => c.ExternalId == externalId).Select(c => c.Id).SingleAsync();
    }

    private static List<string[]> ReadCsv(string text)
    {
        using var reader = new CsvReader(new StringReader(text), CultureInfo.InvariantCulture);
        var rows = new List<string[]>();
        while (reader.Read()) rows.Add(reader.Parser.Record!);
        return rows;
    }
}

[Collection("sqlite")]
public sealed class SqliteImportApiTests(SqliteFixture fx) : ImportApiTests(fx);

[Collection("postgres")]
public sealed class PostgresImportApiTests(PostgresFixture fx) : ImportApiTests(fx);
