using System.Diagnostics;
using System.Globalization;
using System.Text;
using Kolo.Core.Customers;

namespace Kolo.Bench;

/// <summary>
/// Writes the two CSV files the import benchmark loads: customers (from <see cref="SampleCustomers"/>, the same
/// people the other benchmarks use) and order lines (about ten per order, over a catalogue of a few thousand SKUs),
/// in the column layout the importer maps (<see cref="CustomerMapping"/>, <see cref="OrderMapping"/>).
/// </summary>
public static class ImportFiles
{
    public const string CustomersFile = "customers.csv";
    public const string OrderLinesFile = "order_lines.csv";

    public static readonly string[] CustomerColumns =
        ["external_id", "kind", "first_name", "last_name", "company_name", "email", "phone", "address", "city", "region",
         "postal_code", "country", "birth_date", "status", "source", "language"];

    public static readonly string[] OrderLineColumns =
        ["order_number", "customer_id", "ordered_at", "sku", "description", "quantity", "unit_price", "currency", "channel", "payment_method"];

    /// <summary>Importer target field → file column: what the benchmark posts as the job's mapping.</summary>
    public static readonly Dictionary<string, string> CustomerMapping = new()
    {
        ["externalId"] = "external_id", ["kind"] = "kind", ["firstName"] = "first_name", ["lastName"] = "last_name",
        ["companyName"] = "company_name", ["email"] = "email", ["phone"] = "phone", ["addressLine1"] = "address",
        ["city"] = "city", ["region"] = "region", ["postalCode"] = "postal_code", ["country"] = "country",
        ["birthDate"] = "birth_date", ["status"] = "status", ["source"] = "source", ["preferredLanguage"] = "language",
    };

    public static readonly Dictionary<string, string> OrderMapping = new()
    {
        ["externalId"] = "order_number", ["customerExternalId"] = "customer_id", ["orderedAt"] = "ordered_at", ["sku"] = "sku",
        ["description"] = "description", ["quantity"] = "quantity", ["unitPrice"] = "unit_price", ["currency"] = "currency",
        ["channel"] = "channel", ["paymentMethod"] = "payment_method",
    };

    private static readonly string[] Categories = ["Kitchen", "Textiles", "Ceramics", "Stationery", "Toys", "Garden", "Lighting", "Bath", "Food", "Gifts"];
    private static readonly string[] Adjectives = ["Vintage", "Embroidered", "Hand-painted", "Classic", "Rustic", "Nordic", "Carpathian", "Folk", "Minimal", "Retro", "Floral", "Striped"];
    private static readonly string[] Items = ["mug", "tea towel", "cushion cover", "candle holder", "notebook", "apron", "bowl", "vase", "lantern", "tote bag", "plate", "honey jar", "wooden spoon", "blanket", "postcard set"];
    private static readonly string[] Variants = ["red", "blue", "green", "ivory", "black", "Kalyna", "Sunflower", "Lviv", "Kyiv", "small", "large", "set of 4", "350 ml", "1 l"];
    private static readonly string[] Channels = ["web", "web", "web", "store", "phone", "marketplace"];
    private static readonly string[] Payments = ["card", "card", "card", "cash", "transfer", "cash on delivery"];

    public sealed record Product(string Sku, string Description, long PriceKopiyky);

    /// <summary>The catalogue: SKUs, descriptions (some with commas and quotes, so the CSV quoting is exercised), prices.</summary>
    public static List<Product> Catalogue(int count, Random r)
    {
        var products = new List<Product>(count);
        for (var i = 0; i < count; i++)
        {
            var description = $"{Adjectives[r.Next(Adjectives.Length)]} {Items[r.Next(Items.Length)]}";
            var roll = r.NextDouble();
            description = roll < 0.15 ? $"{description} \"{Variants[r.Next(Variants.Length)]}\""
                : roll < 0.35 ? $"{description}, {Variants[r.Next(Variants.Length)]}"
                : $"{description} {Variants[r.Next(Variants.Length)]}";
            // Log-normal prices, 20 to a few thousand hryvnias, in kopiyky.
            var price = (long)Math.Round(Math.Exp(r.NextDouble() * 5.5 + 3.0)) * 100 + r.Next(0, 100);
            products.Add(new Product($"{Categories[i % Categories.Length][..3].ToUpperInvariant()}-{10000 + i}", description, price));
        }
        return products;
    }

    public static async Task RunAsync(Options options)
    {
        var customers = options.Int("customers", 1_000_000);
        var lines = options.Int("lines", 10_000_000);
        var skus = Math.Max(1, options.Int("products", 3000));
        var seed = options.Int("seed", 2026);
        var dir = Directory.CreateDirectory(options.Get("out")).FullName;
        var now = new DateTime(2026, 11, 1, 12, 0, 0, DateTimeKind.Utc);

        var sw = Stopwatch.StartNew();
        var currencies = new byte[customers];
        var path = Path.Combine(dir, CustomersFile);
        await using (var w = Writer(path))
        {
            await w.WriteLineAsync(string.Join(',', CustomerColumns));
            var sample = new SampleCustomers(seed);
            var line = new StringBuilder(256);
            for (var i = 0; i < customers; i++)
            {
                var c = sample.Next(now);
                var a = c.Addresses[0];
                currencies[i] = a.Country switch { "GB" => 1, "PL" => 2, _ => 0 };
                line.Clear();
                Field(line, CustomerId(i)); Field(line, c.Kind.ToString()); Field(line, c.FirstName); Field(line, c.LastName);
                Field(line, c.CompanyName); Field(line, c.Emails[0].Address); Field(line, c.Phones[0].Number); Field(line, a.Line1);
                Field(line, a.City); Field(line, a.Region); Field(line, a.PostalCode); Field(line, a.Country);
                Field(line, c.BirthDate?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)); Field(line, c.Status.ToString());
                Field(line, c.Source); Field(line, c.PreferredLanguage, last: true);
                await w.WriteLineAsync(line);
            }
        }
        Console.WriteLine($"{path}: {customers:N0} customers, {new FileInfo(path).Length / 1e6:N0} MB in {sw.Elapsed.TotalSeconds:N1} s");

        sw.Restart();
        var r = new Random(seed + 10);
        var catalogue = Catalogue(skus, r);
        // A few products sell far more often than the rest.
        Product Pick() => catalogue[(int)(catalogue.Count * Math.Pow(r.NextDouble(), 2.5))];
        path = Path.Combine(dir, OrderLinesFile);
        var orders = 0;
        await using (var w = Writer(path))
        {
            await w.WriteLineAsync(string.Join(',', OrderLineColumns));
            var start = new DateTime(2023, 1, 1, 8, 0, 0, DateTimeKind.Utc);
            var span = (now.AddDays(-1) - start).Ticks;
            var expectedOrders = Math.Max(1, lines / 10);
            var line = new StringBuilder(256);
            for (var written = 0; written < lines;)
            {
                var number = $"SO-{orders + 1:D8}";
                // Orders in time order; customers skewed (regulars order often) but every one can appear.
                var at = start.AddTicks(span / expectedOrders * Math.Min(orders, expectedOrders - 1) + r.NextInt64(0, Math.Max(1, span / expectedOrders)));
                var customer = (int)(customers * Math.Pow(r.NextDouble(), 1.6));
                var currency = currencies[customer] switch { 1 => "GBP", 2 => "PLN", _ => "UAH" };
                var divisor = currencies[customer] switch { 1 => 50m, 2 => 10m, _ => 1m };
                var channel = Channels[r.Next(Channels.Length)];
                var payment = Payments[r.Next(Payments.Length)];
                var count = Math.Min(lines - written, r.Next(1, 20));
                for (var k = 0; k < count; k++, written++)
                {
                    var p = Pick();
                    var quantity = r.NextDouble() < 0.7 ? r.Next(1, 4) : r.Next(4, 25);
                    var price = Math.Round(p.PriceKopiyky / 100m / divisor * (r.NextDouble() < 0.1 ? 0.9m : 1m), 2);
                    line.Clear();
                    Field(line, number); Field(line, CustomerId(customer)); Field(line, at.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
                    Field(line, p.Sku); Field(line, p.Description); Field(line, quantity.ToString(CultureInfo.InvariantCulture));
                    Field(line, price.ToString("F2", CultureInfo.InvariantCulture)); Field(line, currency); Field(line, channel);
                    Field(line, payment, last: true);
                    await w.WriteLineAsync(line);
                }
                orders++;
                if (orders % 200_000 == 0) Console.WriteLine($"  {written,11:N0} lines");
            }
        }
        Console.WriteLine($"{path}: {lines:N0} lines in {orders:N0} orders over {skus:N0} SKUs, {new FileInfo(path).Length / 1e6:N0} MB in {sw.Elapsed.TotalSeconds:N1} s");
    }

    public static string CustomerId(int index) => $"C{index + 1:D7}";

    private static StreamWriter Writer(string path) =>
        new(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 20), new UTF8Encoding(false), 1 << 20) { NewLine = "\n" };

    /// <summary>RFC 4180: quoted only when it must be; an empty field is a missing value.</summary>
    private static void Field(StringBuilder line, string? value, bool last = false)
    {
        if (value is not null)
        {
            if (value.AsSpan().IndexOfAny(",\"\r\n") >= 0) line.Append('"').Append(value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
            else line.Append(value);
        }
        if (!last) line.Append(',');
    }
}
