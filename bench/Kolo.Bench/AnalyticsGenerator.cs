using System.Diagnostics;
using Kolo.Core.Analytics;
using Kolo.Core.Catalog;
using Kolo.Core.Data;
using Kolo.Core.Orders;
using MathNet.Numerics.Distributions;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace Kolo.Bench;

/// <summary>
/// The parameters the analytics data are simulated with: BG/NBD (purchase rate λ ~ Gamma(r, α) per week, dropout
/// p ~ Beta(a, b)) and Gamma-Gamma (spend per purchase ~ Gamma(p, ν), ν ~ Gamma(q, γ), in UAH), so a fit on the
/// data can be checked against them.
/// </summary>
public sealed record AnalyticsTruth(double R, double Alpha, double A, double B, double P, double Q, double Gamma);

/// <summary>
/// Loads a purchase history for the analytics benchmark (PostgreSQL): sample customers (as <c>generate</c>), a catalog
/// with categories and unit costs, and orders over three years simulated customer by customer from the BG/NBD and
/// Gamma-Gamma models with known parameters, written in time order through Kolo.Core's <see cref="BulkInsert"/>
/// (binary COPY of exactly what EF would write) with the tables' secondary indexes and foreign keys dropped for the load.
/// </summary>
public static partial class Generator
{
    /// <summary>Orders run from <see cref="AnalyticsStart"/> to just before <see cref="AnalyticsEnd"/>.</summary>
    public static readonly DateTime AnalyticsStart = new(2023, 11, 1, 0, 0, 0, DateTimeKind.Utc);
    public static readonly DateTime AnalyticsEnd = new(2026, 11, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>CDNOW-like repeat buying (weeks) with about four purchases per buyer over three years; spend around 1,500 UAH.</summary>
    public static readonly AnalyticsTruth Truth = new(R: 0.75, Alpha: 8, A: 0.8, B: 2.5, P: 6, Q: 4, Gamma: 750);

    private static readonly string[] OrderTables = ["orders", "order_lines"];

    private static readonly string[] Categories =
    [
        "Kitchen", "Tableware", "Bedding", "Bath", "Lighting", "Garden", "Tools", "Paint", "Toys", "Books", "Stationery", "Pets",
        "Coffee", "Tea", "Snacks", "Wine", "Cosmetics", "Hair care", "Baby", "Sport", "Cycling", "Camping", "Phones", "Audio",
        "Computers", "Printers", "Storage", "Cleaning", "Laundry", "Textiles", "Decor", "Candles", "Gifts", "Party", "Shoes",
        "Bags", "Watches", "Jewellery", "Auto", "Office",
    ];

    private const double BuyerShare = 0.9;     // the rest are prospects without orders
    private const double CancelledShare = 0.02; // extra cancelled orders per purchase (not purchases, not in the models)
    private const double ReturnShare = 0.015;   // purchases with a partial return some days later
    private const double FavouriteShare = 0.6;  // lines from the customer's favourite category
    private const double CompanionShare = 0.5;  // a product's companion follows it in the basket (association rules)

    /// <summary>One simulated order before it is written: whose, when, the simulated spend (UAH) and its kind.</summary>
    private record struct PlannedOrder(int Customer, long Ticks, double Spend, byte Kind); // Kind: 0 purchase, 1 cancelled

    internal sealed record AnalyticsData(int Customers, int Buyers, int Products, long Orders, long Purchases, long Returns, long Cancelled, long Lines);

    /// <summary>Migrates an empty database and fills it: customers, products, orders and lines (exactly <paramref name="lines"/>).</summary>
    internal static async Task<AnalyticsData> GenerateAnalyticsAsync(string connection, int customerCount, int lines, int productCount, int seed)
    {
        var now = AnalyticsEnd.AddHours(12);
        var dbOptions = new DbContextOptionsBuilder<KoloDb>();
        DatabaseSetup.Configure(dbOptions, DatabaseProvider.Postgres, connection);
        await using (var db = new KoloDb(dbOptions.Options))
        {
            await DatabaseSetup.MigrateAsync(db);
            if (await db.Customers.AnyAsync() || await db.Orders.AnyAsync())
                throw new BenchException("The database already holds customers or orders; the analytics data go into an empty database.");
        }

        // Customers as `generate` makes them; most have an acquisition cost, which the profitability subtracts.
        var acquisition = new Random(seed + 20);
        await LoadCustomersAsync(DatabaseProvider.Postgres, connection, customerCount, seed, now, c =>
        {
            if (acquisition.NextDouble() >= 0.6) return;
            c.AcquisitionCostMinor = acquisition.Next(50, 500) * 100L;
            c.AcquisitionCostCurrency = "UAH";
        });

        var sw = Stopwatch.StartNew();
        List<Guid> customers;
        await using (var db = new KoloDb(dbOptions.Options))
        {
            customers = await db.Customers.AsNoTracking().OrderBy(c => c.Id).Select(c => c.Id).ToListAsync();
            // The analysed currency is set, as an admin would; the rest are the product's defaults.
            db.AnalyticsSettings.Add(new AnalyticsSettings { Currency = "UAH" });
            await db.SaveChangesAsync();
        }

        var random = new Random(seed + 30);
        var catalog = new Catalog(productCount, random, now);
        var plan = Simulate(customers.Count, random, out var buyers);
        Console.WriteLine($"Simulated {plan.Length:N0} orders of {buyers:N0} buyers (BG/NBD r={Truth.R}, alpha={Truth.Alpha} weeks, a={Truth.A}, b={Truth.B}; " +
                          $"Gamma-Gamma p={Truth.P}, q={Truth.Q}, gamma={Truth.Gamma} UAH) in {sw.Elapsed.TotalSeconds:N1} s.");

        // Line counts are fixed before writing, so the total is exactly the number asked for.
        var returns = new bool[plan.Length];
        long returnCount = 0;
        for (var i = 0; i < plan.Length; i++)
            if (plan[i].Kind == 0 && random.NextDouble() < ReturnShare) { returns[i] = true; returnCount++; }
        var lineCounts = LineCounts(plan.Length, lines - returnCount, random);

        // One connection: EF's transaction for BulkInsert, and the index and key changes inside it.
        await using var ef = new KoloDb(dbOptions.Options);
        ef.Database.SetCommandTimeout(TimeSpan.Zero);
        await ef.Database.OpenConnectionAsync();
        var conn = (NpgsqlConnection)ef.Database.GetDbConnection();
        List<(string Name, string Sql)> indexes;
        List<(string Table, string Name, string Sql)> foreignKeys;
        long written = 0, writtenLines = 0, cancelled = 0;
        sw.Restart();
        await using (var tx = await ef.Database.BeginTransactionAsync())
        {
            var npgsqlTx = (NpgsqlTransaction)tx.GetDbTransaction();
            await BulkInsert.WriteAsync(ef, catalog.Products.Cast<object>().ToList());
            indexes = await DropPostgresSecondaryIndexesAsync(conn, npgsqlTx, OrderTables);
            foreignKeys = await DropForeignKeysAsync(conn, npgsqlTx, OrderTables);
            Console.WriteLine($"Wrote {catalog.Products.Count:N0} products; dropped {indexes.Count} secondary indexes and {foreignKeys.Count} foreign keys of orders and order lines for the load.");

            var favourite = new short[customers.Count];
            for (var c = 0; c < favourite.Length; c++) favourite[c] = (short)catalog.PickCategory(random);
            var batch = new List<object>(60_000);
            var basket = new List<int>(40);
            for (var k = 0; k < plan.Length; k++)
            {
                var o = plan[k];
                var order = NewOrder(k, customers[o.Customer], new DateTime(o.Ticks, DateTimeKind.Utc), o.Kind == 1, random);
                basket.Clear();
                for (var j = 0; j < lineCounts[k]; j++)
                {
                    var product = j > 0 && catalog.Companion[basket[^1]] is var companion and >= 0 && !basket.Contains(companion) && random.NextDouble() < CompanionShare
                        ? companion
                        : catalog.Pick(random, favourite[o.Customer], basket);
                    basket.Add(product);
                }
                Price(order, basket, catalog, o.Spend, random);
                batch.Add(order);
                batch.AddRange(order.Lines);
                written++;
                writtenLines += order.Lines.Count;
                if (o.Kind == 1) cancelled++;
                if (returns[k])
                {
                    var back = ReturnOf(order, random);
                    batch.Add(back);
                    batch.AddRange(back.Lines);
                    written++;
                    writtenLines += back.Lines.Count;
                }
                if (batch.Count >= 50_000 || k == plan.Length - 1)
                {
                    await BulkInsert.WriteAsync(ef, batch);
                    batch.Clear();
                }
                if ((k + 1) % 500_000 == 0 || k == plan.Length - 1)
                    Console.WriteLine($"  {written,11:N0} orders  {writtenLines,12:N0} lines  {writtenLines / sw.Elapsed.TotalSeconds,9:N0} lines/s");
            }
            await tx.CommitAsync();
        }
        Console.WriteLine($"Loaded {written:N0} orders with {writtenLines:N0} lines in {sw.Elapsed.TotalSeconds:N1} s.");
        if (writtenLines != lines) throw new BenchException($"Wrote {writtenLines:N0} lines instead of {lines:N0}.");

        sw.Restart();
        await ExecAsync(conn, "SET maintenance_work_mem = '512MB'");
        foreach (var (_, sql) in indexes) await ExecAsync(conn, sql);
        Console.WriteLine($"Re-created the indexes in {sw.Elapsed.TotalSeconds:N1} s.");
        sw.Restart();
        foreach (var (table, name, sql) in foreignKeys) await ExecAsync(conn, $"ALTER TABLE \"{table}\" ADD CONSTRAINT \"{name}\" {sql}");
        Console.WriteLine($"Re-added and validated the foreign keys in {sw.Elapsed.TotalSeconds:N1} s.");
        sw.Restart();
        foreach (var table in OrderTables.Append("products").Append("analytics_settings")) await ExecAsync(conn, $"VACUUM (ANALYZE) \"{table}\"");
        Console.WriteLine($"VACUUM (ANALYZE) in {sw.Elapsed.TotalSeconds:N1} s.");
        return new AnalyticsData(customers.Count, buyers, catalog.Products.Count, written, written - returnCount - cancelled, returnCount, cancelled, writtenLines);
    }

    /// <summary>
    /// Every buyer's purchases from the models: a first purchase at a uniform time in the three years, then repeat
    /// purchases at rate λ until the end, after each of which the customer drops out with probability p; each purchase's
    /// spend is Gamma(p, ν). Plus a few cancelled orders. Sorted by time, as a shop writes them.
    /// </summary>
    private static PlannedOrder[] Simulate(int customers, Random random, out int buyers)
    {
        var plan = new List<PlannedOrder>(customers * 5);
        var span = (AnalyticsEnd - AnalyticsStart).Ticks;
        var week = TimeSpan.FromDays(7).Ticks;
        buyers = 0;
        for (var c = 0; c < customers; c++)
        {
            if (random.NextDouble() >= BuyerShare) continue;
            buyers++;
            var lambda = Gamma.Sample(random, Truth.R, Truth.Alpha); // per week (shape r, rate α)
            var dropout = Beta.Sample(random, Truth.A, Truth.B);
            var nu = Gamma.Sample(random, Truth.Q, Truth.Gamma);
            var t = AnalyticsStart.Ticks + (long)(random.NextDouble() * span);
            var end = AnalyticsEnd.Ticks;
            // The first purchase always happens; after each repeat purchase the customer may leave for good.
            Add(t);
            while (true)
            {
                var gap = lambda > 0 ? Exponential.Sample(random, lambda) * week : double.PositiveInfinity;
                if (!(gap < end - t)) break;
                t += (long)gap;
                Add(t);
                if (random.NextDouble() < dropout) break;
            }

            void Add(long at)
            {
                plan.Add(new PlannedOrder(c, at, Gamma.Sample(random, Truth.P, nu), 0));
                if (random.NextDouble() < CancelledShare)
                    plan.Add(new PlannedOrder(c, at + (long)(random.NextDouble() * (end - at)), Gamma.Sample(random, Truth.P, nu), 1));
            }
        }
        var array = plan.ToArray();
        Array.Sort(array, (x, y) => x.Ticks.CompareTo(y.Ticks));
        return array;
    }

    /// <summary>Each order gets one line plus a Poisson share of the rest, then single lines move so the sum is exact.</summary>
    private static byte[] LineCounts(int orders, long lines, Random random)
    {
        if (lines < orders) throw new BenchException($"{lines:N0} lines cannot fill {orders:N0} orders; ask for more lines or fewer customers.");
        var counts = new byte[orders];
        var extraMean = (double)(lines - orders) / orders;
        long total = 0;
        for (var i = 0; i < orders; i++)
        {
            counts[i] = (byte)Math.Min(40, 1 + MathNet.Numerics.Distributions.Poisson.Sample(random, extraMean));
            total += counts[i];
        }
        while (total < lines)
        {
            var i = random.Next(orders);
            if (counts[i] < 40) { counts[i]++; total++; }
        }
        while (total > lines)
        {
            var i = random.Next(orders);
            if (counts[i] > 1) { counts[i]--; total--; }
        }
        return counts;
    }

    private static readonly string[] Channels = ["web", "web", "web", "store", "store", "phone"];
    private static readonly string[] PaymentMethods = ["card", "card", "card", "card", "cash", "invoice"];

    private static Order NewOrder(int k, Guid customerId, DateTime at, bool cancelled, Random random)
    {
        var recent = AnalyticsEnd - at;
        var order = new Order
        {
            // Ids carry the order time, as if each had been created then.
            Id = Guid.CreateVersion7(at), Number = $"SO-{k + 1:D9}", CustomerId = customerId, Currency = "UAH", OrderedAt = at,
            Channel = Channels[random.Next(Channels.Length)], PaymentMethod = PaymentMethods[random.Next(PaymentMethods.Length)],
            CreatedAt = at, UpdatedAt = at,
        };
        if (cancelled)
        {
            order.Status = OrderStatus.Cancelled;
            order.CancelledAt = order.UpdatedAt = at.AddHours(random.Next(1, 48));
            return order;
        }
        order.ConfirmedAt = at;
        order.Status = recent < TimeSpan.FromDays(2) ? OrderStatus.Confirmed : recent < TimeSpan.FromDays(5) ? OrderStatus.Shipped : OrderStatus.Delivered;
        if (order.Status != OrderStatus.Confirmed) order.ShippedAt = order.UpdatedAt = at.AddDays(1);
        if (order.Status == OrderStatus.Delivered) order.DeliveredAt = order.UpdatedAt = at.AddDays(3);
        order.PromisedDeliveryDate = DateOnly.FromDateTime(at.AddDays(4));
        return order;
    }

    /// <summary>
    /// Lines at the products' list prices times one factor per order, so the order's total is exactly the simulated
    /// spend (quantities absorb most of the difference first); one order in ten has a discount of 5–15 %.
    /// </summary>
    private static void Price(Order order, List<int> basket, Catalog catalog, double spend, Random random)
    {
        long listTotal = 0;
        foreach (var p in basket) listTotal += catalog.Products[p].ListPriceMinor;
        var discount = random.NextDouble() < 0.1 ? random.Next(1, 4) * 0.05 : 0;
        var subtotal = spend * 100 / (1 - discount);
        var quantity = Math.Clamp((int)Math.Round(subtotal / listTotal), 1, 12);
        var factor = subtotal / (listTotal * (double)quantity);
        for (var j = 0; j < basket.Count; j++)
        {
            var product = catalog.Products[basket[j]];
            var unit = Math.Max(1, (long)Math.Round(product.ListPriceMinor * factor));
            order.Lines.Add(new OrderLine
            {
                Id = Guid.CreateVersion7(order.OrderedAt), OrderId = order.Id, LineNo = j + 1, ProductId = product.Id, Sku = product.Sku,
                Description = product.Name, Quantity = quantity, UnitPriceMinor = unit,
                DiscountMinor = (long)Math.Round(quantity * unit * discount),
            });
        }
        OrderTotals.Apply(order);
    }

    /// <summary>A return of one unit of one line, some days later (never after the data's end).</summary>
    private static Order ReturnOf(Order order, Random random)
    {
        var line = order.Lines[random.Next(order.Lines.Count)];
        line.ReturnedQuantity = 1;
        var at = new DateTime(Math.Min(order.OrderedAt.AddDays(random.Next(3, 21)).Ticks, AnalyticsEnd.Ticks - 1), DateTimeKind.Utc);
        var back = new Order
        {
            Id = Guid.CreateVersion7(at), Number = order.Number + "-R1", CustomerId = order.CustomerId, Status = OrderStatus.Returned,
            Currency = order.Currency, OrderedAt = at, ReturnOfOrderId = order.Id, ReturnReason = "Did not fit", Channel = order.Channel,
            PaymentMethod = order.PaymentMethod, CreatedAt = at, UpdatedAt = at,
        };
        back.Lines.Add(new OrderLine
        {
            Id = Guid.CreateVersion7(at), OrderId = back.Id, LineNo = 1, ProductId = line.ProductId, Sku = line.Sku, Description = line.Description,
            Quantity = 1, UnitPriceMinor = line.UnitPriceMinor, DiscountMinor = (long)Math.Round((double)line.DiscountMinor / line.Quantity),
            ReturnOfLineId = line.Id,
        });
        OrderTotals.Apply(back);
        return back;
    }

    /// <summary>
    /// Products in categories, with list prices around a median per category and unit costs at 45–75 % of the price.
    /// Popularity is Zipf-like over the whole catalog; each product has a companion in its category (picked by
    /// popularity) that often follows it into a basket, which is what the association rules find.
    /// </summary>
    private sealed class Catalog
    {
        public List<Product> Products { get; } = [];
        public int[] Companion { get; }
        private readonly double[] _cumulative;
        private readonly int[][] _byCategory;
        private readonly double[][] _categoryCumulative;
        private readonly double[] _categoryWeights;

        public Catalog(int count, Random random, DateTime now)
        {
            var median = Categories.Select(_ => Math.Exp(Math.Log(100) + random.NextDouble() * (Math.Log(3000) - Math.Log(100)))).ToArray();
            var category = new int[count];
            for (var i = 0; i < count; i++)
            {
                var c = category[i] = random.Next(Categories.Length);
                var price = Math.Max(5, Math.Round(median[c] * Math.Exp(0.5 * Normal.Sample(random, 0, 1))));
                var priceMinor = (long)price * 100;
                Products.Add(new Product
                {
                    Sku = $"P-{i + 1:D5}", Name = $"{Categories[c]} item {i + 1}", Category = Categories[c], ListPriceMinor = priceMinor,
                    UnitCostMinor = (long)Math.Round(priceMinor * (0.45 + 0.3 * random.NextDouble())), Currency = "UAH",
                    Active = random.NextDouble() < 0.97, CreatedAt = AnalyticsStart, UpdatedAt = now,
                });
            }
            // Popularity rank is a random permutation: weight 1 / (rank + 1)^0.9.
            var rank = Enumerable.Range(0, count).OrderBy(_ => random.Next()).ToArray();
            var weight = rank.Select(r => 1 / Math.Pow(r + 1, 0.9)).ToArray();
            _cumulative = Cumulative(weight);
            _byCategory = Enumerable.Range(0, Categories.Length).Select(c => Enumerable.Range(0, count).Where(i => category[i] == c).ToArray()).ToArray();
            _categoryCumulative = _byCategory.Select(items => Cumulative(items.Select(i => weight[i]).ToArray())).ToArray();
            _categoryWeights = Cumulative(_byCategory.Select(items => items.Sum(i => weight[i])).ToArray());
            Companion = new int[count];
            for (var i = 0; i < count; i++)
            {
                Companion[i] = -1;
                var items = _byCategory[category[i]];
                if (items.Length < 2) continue;
                var pick = items[Draw(_categoryCumulative[category[i]], random)];
                if (pick != i) Companion[i] = pick;
            }
        }

        public int PickCategory(Random random) => Draw(_categoryWeights, random);

        /// <summary>A product not yet in the basket: from the favourite category or the whole catalog, by popularity.</summary>
        public int Pick(Random random, int favourite, List<int> basket)
        {
            for (var attempt = 0; ; attempt++)
            {
                var items = _byCategory[favourite];
                var p = items.Length > 0 && random.NextDouble() < FavouriteShare
                    ? items[Draw(_categoryCumulative[favourite], random)]
                    : Draw(_cumulative, random);
                if (!basket.Contains(p) || attempt >= 20) return p;
            }
        }

        private static double[] Cumulative(double[] weights)
        {
            var c = new double[weights.Length];
            double sum = 0;
            for (var i = 0; i < weights.Length; i++) c[i] = sum += weights[i];
            return c;
        }

        private static int Draw(double[] cumulative, Random random)
        {
            var i = Array.BinarySearch(cumulative, random.NextDouble() * cumulative[^1]);
            return Math.Min(i < 0 ? ~i : i, cumulative.Length - 1);
        }
    }
}
