using System.Net;
using Kolo.Core.Analytics;
using Kolo.Core.Catalog;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Marketing;
using Kolo.Core.Orders;
using Kolo.Core.Timeline;
using Kolo.Web.Tests.Infrastructure;
using static Kolo.Web.Tests.Infrastructure.AnalyticsApi;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Kolo.Web.Tests;

/// <summary>
/// Every segment field on both databases: a varied set of customers (with scores, orders, interactions and campaign
/// messages) is written straight to the database, and each rule's count through the API is compared with the same rule
/// evaluated here in C# over the customers as written. Each test's customers carry a tag of their own (or values no other
/// test uses), so other tests' data never changes the counts.
/// </summary>
public abstract class SegmentRulesTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    private const int Customers = 60;

    /// <summary>What the test wrote, kept in memory to compute the expected counts independently.</summary>
    private sealed class World
    {
        public required Guid ScopeTag { get; init; }
        public required Guid TagX { get; init; }
        public required Guid TagY { get; init; }
        public required string CityPrefix { get; init; }
        public required string SourcePrefix { get; init; }
        public required string Key { get; init; }
        public required string CategoryA { get; init; }
        public required string CategoryB { get; init; }
        public required Guid Owner { get; init; }
        public required Guid Campaign { get; init; }
        public required Guid[] Products { get; init; }
        public List<Customer> Customers { get; } = [];
        public Dictionary<Guid, CustomerScore> Scores { get; } = [];
        public List<(Order Order, List<OrderLine> Lines)> Orders { get; } = [];
        public List<Interaction> Interactions { get; } = [];
        public List<CampaignMessage> Messages { get; } = [];
        public Dictionary<Guid, string?> Categories { get; } = [];
    }

    private async Task<World> SeedAsync()
    {
        // The scores are written here; the analytics scheduler must not recompute them from the orders behind the test's back.
        using (var settings = Fx.Admin()) await settings.SetSettingsAsync("UAH", recomputeHours: 0);
        var owner = await Fx.CreateUserAsync("Sales");
        var word = Unique.Word(8);
        var now = DateTime.UtcNow;
        var today = DateOnly.FromDateTime(now);
        var w = new World
        {
            ScopeTag = Guid.CreateVersion7(), TagX = Guid.CreateVersion7(), TagY = Guid.CreateVersion7(), CityPrefix = "City" + word, SourcePrefix = "src-" + word,
            Key = "k" + word, CategoryA = "catA-" + word, CategoryB = "catB-" + word, Owner = owner.Id, Campaign = Guid.CreateVersion7(),
            Products = [Guid.CreateVersion7(), Guid.CreateVersion7(), Guid.CreateVersion7()],
        };
        var factory = Fx.Factory.Services.GetRequiredService<IDbContextFactory<KoloDb>>();
        await using var db = await factory.CreateDbContextAsync();
        foreach (var (id, name) in new[] { (w.ScopeTag, "scope"), (w.TagX, "x"), (w.TagY, "y") })
            db.Tags.Add(new Tag { Id = id, Name = $"{name}-{word}", NameKey = $"{name}-{word}", CreatedAt = now });
        var cats = new[] { w.CategoryA, w.CategoryB, w.CategoryA };
        for (var p = 0; p < 3; p++)
        {
            db.Products.Add(new Product { Id = w.Products[p], Sku = $"{word}-{p}", Name = $"P{p} {word}", Category = cats[p], ListPriceMinor = 1000, CreatedAt = now, UpdatedAt = now });
            w.Categories[w.Products[p]] = cats[p];
        }
        db.Campaigns.Add(new Campaign { Id = w.Campaign, Name = "Seg test " + word, Status = CampaignStatus.Running, Currency = "UAH" });
        var cities = new[] { "A", "B", "C" };
        var statuses = new[] { OrderStatus.Confirmed, OrderStatus.Delivered, OrderStatus.Cancelled, OrderStatus.Quote, OrderStatus.Shipped };
        for (var i = 0; i < Customers; i++)
        {
            var c = new Customer
            {
                Kind = i % 5 == 0 ? CustomerKind.Company : CustomerKind.Person,
                FirstName = i % 5 == 0 ? null : "F" + word, LastName = i % 5 == 0 ? null : $"L{i:D2}", CompanyName = i % 5 == 0 ? $"Co {word} {i:D2}" : null,
                Status = (LifecycleStatus)(i % 4),
                Gender = i % 7 == 0 ? null : (Gender)(i % 3),
                MaritalStatus = i % 6 == 0 ? null : (MaritalStatus)(i % 5),
                // Birthdays around today, so the age bounds are tested on their edges.
                BirthDate = i % 8 == 0 ? null : today.AddYears(-(18 + i / 2)).AddDays(i % 3 - 1),
                HouseholdSize = i % 5 == 1 ? null : 1 + i % 6,
                AnnualIncomeMinor = i % 4 == 2 ? null : (10_000 + i * 1_000) * 100L,
                AnnualIncomeCurrency = "UAH",
                Addresses = i % 10 == 9 ? [] : [new PostalAddress { City = w.CityPrefix + cities[i % 3] }],
                PreferredChannel = i % 3 == 0 ? null : (ContactChannel)(i % 7),
                PreferredLanguage = new[] { "uk", "en", "ru", null }[i % 4],
                Source = new[] { w.SourcePrefix + "-web", w.SourcePrefix + "-fair", null }[i % 3],
                OwnerId = i % 3 == 0 ? w.Owner : null,
                CreatedAt = new DateTime(2024, 1, 1, 12, 0, 0, DateTimeKind.Utc).AddDays(i),
                UpdatedAt = now,
                CustomFields = i % 4 == 0 ? [] : new Dictionary<string, string> { [w.Key] = i % 9 == 0 ? "" : new[] { "alpha", "Beta", "alphabet" }[i % 3] },
            };
            c.RefreshDerivedFields();
            c.Tags.Add(new CustomerTag { TagId = w.ScopeTag });
            if (i % 2 == 0) c.Tags.Add(new CustomerTag { TagId = w.TagX });
            if (i % 3 == 0) c.Tags.Add(new CustomerTag { TagId = w.TagY });
            db.Customers.Add(c);
            w.Customers.Add(c);
            if (i % 5 != 4)
            {
                var s = new CustomerScore
                {
                    CustomerId = c.Id, AsOf = now, ComputedAt = now, Segment = new[] { "Champions", "At risk", "Hibernating" }[i % 3],
                    RecencyScore = 1 + i % 5, FrequencyScore = 1 + i * 2 % 5, MonetaryScore = 1 + i * 3 % 5, ProbabilityAlive = i % 10 / 10.0, ClvMinor = i * 1000 * 100L,
                };
                db.CustomerScores.Add(s);
                w.Scores[c.Id] = s;
            }
            if (i % 3 != 2)
                AddOrder(db, w, c, new DateTime(2025, 1, 1, 10, 0, 0, DateTimeKind.Utc).AddDays(i * 5), statuses[i % 5], i % 2 == 0 ? 0 : i % 3 == 0 ? 1 : 2, word, i);
            if (i % 7 == 0) AddOrder(db, w, c, new DateTime(2025, 6, 1, 10, 0, 0, DateTimeKind.Utc), OrderStatus.Delivered, 1, word, 100 + i);
            if (i % 4 == 0) AddInteraction(db, w, c, Sentiment.Negative, new DateTime(2025, 3, 1, 9, 0, 0, DateTimeKind.Utc), archived: false);
            if (i % 4 == 1) AddInteraction(db, w, c, Sentiment.Positive, new DateTime(2025, 3, 1, 9, 0, 0, DateTimeKind.Utc).AddDays(i), archived: false);
            if (i % 8 == 2) AddInteraction(db, w, c, Sentiment.Negative, new DateTime(2025, 4, 1, 9, 0, 0, DateTimeKind.Utc), archived: true);
            if (i % 3 == 0)
            {
                var m = new CampaignMessage
                {
                    CampaignId = w.Campaign, CustomerId = c.Id, Channel = CampaignChannel.Email, Status = MessageStatus.Opened, PlannedAt = now, CreatedAt = now,
                    OpenedAt = new DateTime(2025, 2, 1, 0, 0, 0, DateTimeKind.Utc).AddDays(i),
                    ClickedAt = i % 2 == 0 ? new DateTime(2025, 2, 1, 0, 0, 0, DateTimeKind.Utc).AddDays(i) : null,
                    RespondedAt = i % 5 == 0 ? new DateTime(2025, 2, 10, 0, 0, 0, DateTimeKind.Utc) : null,
                    UnsubscribedAt = i % 6 == 0 ? new DateTime(2025, 2, 20, 0, 0, 0, DateTimeKind.Utc) : null,
                };
                db.CampaignMessages.Add(m);
                w.Messages.Add(m);
            }
        }
        await db.SaveChangesAsync();
        return w;
    }

    private static void AddOrder(KoloDb db, World w, Customer c, DateTime at, OrderStatus status, int product, string word, int n)
    {
        var o = new Order { CustomerId = c.Id, Number = $"S-{word}-{n}", Status = status, OrderedAt = at, Currency = "UAH", CreatedAt = at, UpdatedAt = at, TotalMinor = 1000 };
        var line = new OrderLine { OrderId = o.Id, LineNo = 1, ProductId = w.Products[product], Sku = $"{word}-{product}", Description = "item", Quantity = 1, UnitPriceMinor = 1000, LineTotalMinor = 1000 };
        o.Lines.Add(line);
        db.Orders.Add(o);
        w.Orders.Add((o, [line]));
    }

    private static void AddInteraction(KoloDb db, World w, Customer c, Sentiment sentiment, DateTime at, bool archived)
    {
        var i = new Interaction { CustomerId = c.Id, Type = InteractionType.Call, Subject = "call", OccurredAt = at, Sentiment = sentiment, CreatedAt = at, ArchivedAt = archived ? at : null };
        db.Interactions.Add(i);
        w.Interactions.Add(i);
    }

    private static object Cond(string field, string op, object?[]? values = null, string? key = null, DateTime? from = null, DateTime? to = null) =>
        new { field, @operator = op, values = (values ?? []).Select(v => v switch { null => "", DateTime d => d.ToString("yyyy-MM-dd"), _ => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) }).ToArray(), key, from, to };

    private static async Task<int> CountAsync(HttpClient client, object definition)
    {
        var body = await client.PostJsonAsync("/api/v1/segments/count", new { kind = "Rules", definition }, HttpStatusCode.OK);
        return body.GetProperty("count").GetInt32();
    }

    private static int Age(DateOnly birth, DateOnly today)
    {
        var age = today.Year - birth.Year;
        if (birth > today.AddYears(-age)) age--;
        return age;
    }

    private static bool Purchase(Order o) => o.Status is OrderStatus.Confirmed or OrderStatus.Shipped or OrderStatus.Delivered && o.ReturnOfOrderId is null;

    [Fact]
    public async Task Every_field_counts_what_the_same_rule_computed_here_counts()
    {
        var w = await SeedAsync();
        using var admin = Fx.Admin();
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var scope = Cond("tag", "any", [w.ScopeTag]);
        var purchases = w.Orders.Where(o => Purchase(o.Order)).ToList();
        bool Bought(Customer c, Func<OrderLine, bool> line, DateTime? from, DateTime? to) =>
            purchases.Any(o => o.Order.CustomerId == c.Id && (from is null || o.Order.OrderedAt >= from) && (to is null || o.Order.OrderedAt <= to) && o.Lines.Any(line));
        CustomerScore? Score(Customer c) => w.Scores.GetValueOrDefault(c.Id);
        var feb10 = new DateTime(2025, 2, 10, 0, 0, 0, DateTimeKind.Utc);
        var mar1 = new DateTime(2025, 3, 1, 0, 0, 0, DateTimeKind.Utc);
        var apr1 = new DateTime(2025, 4, 1, 0, 0, 0, DateTimeKind.Utc);
        var may1 = new DateTime(2025, 5, 1, 0, 0, 0, DateTimeKind.Utc);

        var cases = new List<(string Name, object Condition, Func<Customer, bool> Expected)>
        {
            ("kind in", Cond("kind", "in", ["Company"]), c => c.Kind == CustomerKind.Company),
            ("status in", Cond("status", "in", ["Prospect", "Lapsed"]), c => c.Status is LifecycleStatus.Prospect or LifecycleStatus.Lapsed),
            ("status notIn", Cond("status", "notIn", ["Customer"]), c => c.Status != LifecycleStatus.Customer),
            ("gender in", Cond("gender", "in", ["Female"]), c => c.Gender == Gender.Female),
            ("gender notIn", Cond("gender", "notIn", ["Female"]), c => c.Gender != Gender.Female),
            ("maritalStatus in", Cond("maritalStatus", "in", ["Married", "Divorced"]), c => c.MaritalStatus is MaritalStatus.Married or MaritalStatus.Divorced),
            ("age between", Cond("age", "between", [25, 35]), c => c.BirthDate is { } b && Age(b, today) is >= 25 and <= 35),
            ("age min only", Cond("age", "between", [40, null]), c => c.BirthDate is { } b && Age(b, today) >= 40),
            ("age max only", Cond("age", "between", [null, 21]), c => c.BirthDate is { } b && Age(b, today) <= 21),
            ("householdSize between", Cond("householdSize", "between", [2, 4]), c => c.HouseholdSize is >= 2 and <= 4),
            ("annualIncome between", Cond("annualIncome", "between", [20000, 45000.50m]), c => c.AnnualIncomeMinor is >= 2_000_000 and <= 4_500_050),
            ("city in", Cond("city", "in", [w.CityPrefix + "A", (w.CityPrefix + "c").ToUpperInvariant()]), c => c.Addresses.FirstOrDefault()?.City is { } x && (x.EndsWith('A') || x.EndsWith('C'))),
            ("city notIn", Cond("city", "notIn", [w.CityPrefix + "B"]), c => c.Addresses.FirstOrDefault()?.City is not { } x || !x.EndsWith('B')),
            ("preferredChannel in", Cond("preferredChannel", "in", ["Email", "Sms"]), c => c.PreferredChannel is ContactChannel.Email or ContactChannel.Sms),
            ("preferredLanguage in", Cond("preferredLanguage", "in", ["uk", "ru"]), c => c.PreferredLanguage is "uk" or "ru"),
            ("preferredLanguage notIn", Cond("preferredLanguage", "notIn", ["uk"]), c => c.PreferredLanguage != "uk"),
            ("source in", Cond("source", "in", [w.SourcePrefix + "-web"]), c => c.Source == w.SourcePrefix + "-web"),
            ("owner in", Cond("owner", "in", [w.Owner]), c => c.OwnerId == w.Owner),
            ("owner notIn", Cond("owner", "notIn", [w.Owner]), c => c.OwnerId != w.Owner),
            ("createdAt between", Cond("createdAt", "between", from: new DateTime(2024, 1, 10, 0, 0, 0, DateTimeKind.Utc), to: new DateTime(2024, 1, 30, 12, 0, 0, DateTimeKind.Utc)),
                c => c.CreatedAt >= new DateTime(2024, 1, 10, 0, 0, 0, DateTimeKind.Utc) && c.CreatedAt <= new DateTime(2024, 1, 30, 12, 0, 0, DateTimeKind.Utc)),
            ("tag any", Cond("tag", "any", [w.TagX, w.TagY]), c => c.Tags.Any(t => t.TagId == w.TagX || t.TagId == w.TagY)),
            ("tag all", Cond("tag", "all", [w.TagX, w.TagY]), c => c.Tags.Any(t => t.TagId == w.TagX) && c.Tags.Any(t => t.TagId == w.TagY)),
            ("tag none", Cond("tag", "none", [w.TagX]), c => c.Tags.All(t => t.TagId != w.TagX)),
            ("custom equals", Cond("custom", "equals", ["alpha"], key: w.Key), c => c.CustomFields.GetValueOrDefault(w.Key) == "alpha"),
            ("custom notEquals", Cond("custom", "notEquals", ["alpha"], key: w.Key), c => c.CustomFields.GetValueOrDefault(w.Key) != "alpha"),
            ("custom contains", Cond("custom", "contains", ["ALPH"], key: w.Key), c => c.CustomFields.GetValueOrDefault(w.Key)?.Contains("alph", StringComparison.OrdinalIgnoreCase) == true),
            ("custom empty", Cond("custom", "empty", key: w.Key), c => string.IsNullOrEmpty(c.CustomFields.GetValueOrDefault(w.Key))),
            ("custom notEmpty", Cond("custom", "notEmpty", key: w.Key), c => !string.IsNullOrEmpty(c.CustomFields.GetValueOrDefault(w.Key))),
            ("rfmSegment in", Cond("rfmSegment", "in", ["Champions"]), c => Score(c)?.Segment == "Champions"),
            ("rfmSegment notIn", Cond("rfmSegment", "notIn", ["Champions"]), c => Score(c)?.Segment != "Champions"),
            ("recencyScore between", Cond("recencyScore", "between", [4, 5]), c => Score(c)?.RecencyScore is >= 4 and <= 5),
            ("frequencyScore between", Cond("frequencyScore", "between", [null, 2]), c => Score(c)?.FrequencyScore is <= 2),
            ("monetaryScore between", Cond("monetaryScore", "between", [2, 3]), c => Score(c)?.MonetaryScore is 2 or 3),
            ("probabilityAlive between", Cond("probabilityAlive", "between", [0.25, 0.75]), c => Score(c)?.ProbabilityAlive is >= 0.25 and <= 0.75),
            ("clv between", Cond("clv", "between", [10000, 30000]), c => Score(c)?.ClvMinor is >= 1_000_000 and <= 3_000_000),
            ("boughtProduct any", Cond("boughtProduct", "any", [w.Products[0]]), c => Bought(c, l => l.ProductId == w.Products[0], null, null)),
            ("boughtProduct any in period", Cond("boughtProduct", "any", [w.Products[1], w.Products[2]], from: mar1, to: may1),
                c => Bought(c, l => l.ProductId == w.Products[1] || l.ProductId == w.Products[2], mar1, may1)),
            ("boughtProduct none", Cond("boughtProduct", "none", [w.Products[0]]), c => !Bought(c, l => l.ProductId == w.Products[0], null, null)),
            ("boughtCategory any", Cond("boughtCategory", "any", [w.CategoryA], from: mar1), c => Bought(c, l => w.Categories[l.ProductId!.Value] == w.CategoryA, mar1, null)),
            ("boughtCategory none", Cond("boughtCategory", "none", [w.CategoryB]), c => !Bought(c, l => w.Categories[l.ProductId!.Value] == w.CategoryB, null, null)),
            ("lastPurchase before", Cond("lastPurchase", "before", [apr1]),
                c => purchases.Any(o => o.Order.CustomerId == c.Id) && purchases.Where(o => o.Order.CustomerId == c.Id).Max(o => o.Order.OrderedAt) < apr1),
            ("lastPurchase after", Cond("lastPurchase", "after", [apr1]), c => purchases.Any(o => o.Order.CustomerId == c.Id && o.Order.OrderedAt >= apr1)),
            ("campaign opened", Cond("campaignResponse", "opened", [w.Campaign]), c => w.Messages.Any(m => m.CustomerId == c.Id && m.OpenedAt != null)),
            ("campaign clicked in period", Cond("campaignResponse", "clicked", [w.Campaign], from: feb10),
                c => w.Messages.Any(m => m.CustomerId == c.Id && m.ClickedAt >= feb10)),
            ("any campaign responded", Cond("campaignResponse", "responded"), c => w.Messages.Any(m => m.CustomerId == c.Id && m.RespondedAt != null)),
            ("campaign unsubscribed", Cond("campaignResponse", "unsubscribed", [w.Campaign]), c => w.Messages.Any(m => m.CustomerId == c.Id && m.UnsubscribedAt != null)),
            ("campaign converted", Cond("campaignResponse", "converted", [w.Campaign]), _ => false),
            ("sentiment negative", Cond("sentiment", "in", ["Negative"]), c => w.Interactions.Any(i => i.CustomerId == c.Id && i.ArchivedAt == null && i.Sentiment == Sentiment.Negative)),
            ("sentiment positive in period", Cond("sentiment", "in", ["Positive"], from: mar1, to: mar1.AddDays(20)),
                c => w.Interactions.Any(i => i.CustomerId == c.Id && i.ArchivedAt == null && i.Sentiment == Sentiment.Positive && i.OccurredAt >= mar1 && i.OccurredAt <= mar1.AddDays(20))),
        };
        var failures = new List<string>();
        foreach (var (name, condition, expected) in cases)
        {
            var want = w.Customers.Count(expected);
            var got = await CountAsync(admin, new { match = "All", conditions = new[] { scope, condition } });
            if (got != want) failures.Add($"{name}: expected {want}, got {got}");
            // A rule that keeps everyone or no one would not show that it filters (except the one with nothing to find).
            if (name != "campaign converted" && (want == 0 || want == Customers)) failures.Add($"{name}: the data does not exercise it ({want})");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));

        // Match All of several conditions, and Any: customers of this test only (its city prefix and custom key are its own).
        var all = await CountAsync(admin, new { match = "All", conditions = new[] { scope, Cond("status", "in", ["Lead", "Customer"]), Cond("tag", "any", [w.TagX]), Cond("clv", "between", [5000, null]) } });
        Assert.Equal(w.Customers.Count(c => c.Status is LifecycleStatus.Lead or LifecycleStatus.Customer && c.Tags.Any(t => t.TagId == w.TagX) && Score(c)?.ClvMinor >= 500_000), all);
        // Several score conditions of an All-match share one read of the score row; a "not in" beside them still applies.
        var scores = await CountAsync(admin, new
        {
            match = "All",
            conditions = new[]
            {
                scope, Cond("rfmSegment", "in", ["Champions", "At risk"]), Cond("clv", "between", [5000, null]), Cond("recencyScore", "between", [2, null]),
                Cond("probabilityAlive", "between", [null, 0.85]), Cond("rfmSegment", "notIn", ["At risk"]),
            },
        });
        var scoresExpected = w.Customers.Count(c => Score(c) is { } s && s.Segment is "Champions" && s.ClvMinor >= 500_000 && s.RecencyScore >= 2 && s.ProbabilityAlive <= 0.85);
        Assert.True(scoresExpected > 0);
        Assert.Equal(scoresExpected, scores);
        var any = await CountAsync(admin, new { match = "Any", conditions = new[] { Cond("city", "in", [w.CityPrefix + "B"]), Cond("custom", "equals", ["Beta"], key: w.Key), Cond("boughtCategory", "any", [w.CategoryB]) } });
        var anyExpected = w.Customers.Count(c => c.Addresses.FirstOrDefault()?.City == w.CityPrefix + "B" || c.CustomFields.GetValueOrDefault(w.Key) == "Beta"
            || Bought(c, l => w.Categories[l.ProductId!.Value] == w.CategoryB, null, null));
        Assert.Equal(anyExpected, any);
        Assert.True(anyExpected > w.Customers.Count(c => c.Addresses.FirstOrDefault()?.City == w.CityPrefix + "B"), "Any must add the other conditions' customers.");

        // The members of a saved segment are exactly the customers the rule names, paged in name order.
        var seg = await admin.PostJsonAsync("/api/v1/segments", new { name = "Rules " + Unique.Word(), kind = "Rules", definition = new { match = "All", conditions = new[] { scope, Cond("tag", "any", [w.TagY]) } } }, HttpStatusCode.Created);
        var expectedIds = w.Customers.Where(c => c.Tags.Any(t => t.TagId == w.TagY)).OrderBy(c => c.SortName, StringComparer.Ordinal).ThenBy(c => c.Id).Select(c => c.Id).ToList();
        var ids = new List<Guid>();
        string? cursor = null;
        do
        {
            var page = await admin.GetJsonAsync($"/api/v1/segments/{seg.Id()}/members?limit=7" + (cursor is null ? "" : "&cursor=" + cursor));
            ids.AddRange(Ids(page));
            cursor = page.GetProperty("nextCursor").GetString();
        } while (cursor is not null);
        Assert.Equal(expectedIds.Order(), ids.Order());
        var first = (await admin.GetJsonAsync($"/api/v1/segments/{seg.Id()}/members?limit=500")).Items().First(m => w.Scores.ContainsKey(m.Id()));
        Assert.Equal(w.Scores[first.Id()].Segment, first.Str("rfmSegment"));
        Assert.Equal(w.Scores[first.Id()].ClvMinor, first.GetProperty("clvMinor").GetInt64());
        var counted = await admin.GetJsonAsync($"/api/v1/segments/{seg.Id()}/count");
        Assert.Equal(expectedIds.Count, counted.GetProperty("count").GetInt32());
        Assert.Equal(expectedIds.Count, (await admin.GetJsonAsync($"/api/v1/segments/{seg.Id()}")).GetProperty("lastCount").GetInt32());
    }

    [Fact]
    public async Task Include_and_exclude_segments_static_lists_and_cycles()
    {
        var w = await SeedAsync();
        using var admin = Fx.Admin();
        var scope = Cond("tag", "any", [w.ScopeTag]);
        async Task<Guid> Segment(object definition, string kind = "Rules") =>
            (await admin.PostJsonAsync("/api/v1/segments", new { name = "S " + Unique.Word(), kind, definition }, HttpStatusCode.Created)).Id();
        var x = await Segment(new { conditions = new[] { scope, Cond("tag", "any", [w.TagX]) } });
        var y = await Segment(new { conditions = new[] { scope, Cond("tag", "any", [w.TagY]) } });
        bool InX(Customer c) => c.Tags.Any(t => t.TagId == w.TagX);
        bool InY(Customer c) => c.Tags.Any(t => t.TagId == w.TagY);

        // Rules plus an included segment: the union; an excluded one: removed.
        var companiesOrY = await Segment(new { conditions = new[] { scope, Cond("kind", "in", ["Company"]) }, includeSegmentIds = new[] { y } });
        Assert.Equal(w.Customers.Count(c => c.Kind == CustomerKind.Company || InY(c)), (await admin.GetJsonAsync($"/api/v1/segments/{companiesOrY}/count")).GetProperty("count").GetInt32());
        var xNotY = await Segment(new { conditions = new[] { scope, Cond("tag", "any", [w.TagX]) }, excludeSegmentIds = new[] { y } });
        Assert.Equal(w.Customers.Count(c => InX(c) && !InY(c)), (await admin.GetJsonAsync($"/api/v1/segments/{xNotY}/count")).GetProperty("count").GetInt32());
        // Nested: (x minus y) included into a static list with its own members.
        var list = await Segment(new { includeSegmentIds = new[] { xNotY } }, "Static");
        var extra = w.Customers.Where(c => InY(c)).Take(3).Select(c => c.Id).ToList();
        var added = await admin.PostJsonAsync($"/api/v1/segments/{list}/members", new { customerIds = extra.Append(Guid.NewGuid()).ToList() }, HttpStatusCode.OK);
        Assert.Equal(3, added.GetProperty("added").GetInt32());
        Assert.Single(added.GetProperty("rejected").EnumerateArray());
        Assert.Equal(w.Customers.Count(c => InX(c) && !InY(c)) + 3, (await admin.GetJsonAsync($"/api/v1/segments/{list}/count")).GetProperty("count").GetInt32());
        var removed = await admin.PostJsonAsync($"/api/v1/segments/{list}/members/remove", new { customerIds = extra.Take(1).ToList() }, HttpStatusCode.OK);
        Assert.Equal(1, removed.GetProperty("removed").GetInt32());
        Assert.Equal(w.Customers.Count(c => InX(c) && !InY(c)) + 2, (await admin.GetJsonAsync($"/api/v1/segments/{list}/count")).GetProperty("count").GetInt32());

        // A cycle (xNotY including the list that includes xNotY) is refused; so are a segment naming itself and an unknown one.
        var (_, cycleTag) = await GetSegmentAsync(admin, xNotY);
        using (var cycle = await admin.SendRawAsync(HttpMethod.Put, $"/api/v1/segments/{xNotY}", System.Text.Json.JsonSerializer.Serialize(new { name = "x", kind = "Rules", definition = new { conditions = new[] { scope }, includeSegmentIds = new[] { list } } }, Api.Json), cycleTag))
            Assert.Contains("definition", (await cycle.ExpectValidationProblemAsync()).Keys);
        var (_, etag) = await GetSegmentAsync(admin, x);
        using (var self = await admin.SendRawAsync(HttpMethod.Put, $"/api/v1/segments/{x}", System.Text.Json.JsonSerializer.Serialize(new { name = "x", kind = "Rules", definition = new { conditions = new[] { scope }, excludeSegmentIds = new[] { x } } }, Api.Json), etag))
            Assert.Contains("definition", (await self.ExpectValidationProblemAsync()).Keys);
        using (var unknown = await admin.SendRawAsync(HttpMethod.Post, "/api/v1/segments", System.Text.Json.JsonSerializer.Serialize(new { name = "u", kind = "Rules", definition = new { includeSegmentIds = new[] { Guid.NewGuid() } } }, Api.Json)))
            Assert.Contains("definition", (await unknown.ExpectValidationProblemAsync()).Keys);
        // Archiving a segment another one uses is refused.
        using (var used = await admin.DeleteAsync($"/api/v1/segments/{y}"))
            Assert.Contains("id", (await used.ExpectValidationProblemAsync()).Keys);
    }

    private static async Task<(System.Text.Json.JsonElement Body, string ETag)> GetSegmentAsync(HttpClient client, Guid id)
    {
        using var response = await client.GetAsync($"/api/v1/segments/{id}");
        return (await response.ExpectAsync(HttpStatusCode.OK), response.ETag());
    }
}

/// <summary>Segment rule tests write scores by hand and stop the analytics schedule: databases of their own.</summary>
[CollectionDefinition("segments-sqlite")]
public sealed class SegmentsSqliteCollection : ICollectionFixture<SqliteFixture>;

[CollectionDefinition("segments-postgres")]
public sealed class SegmentsPostgresCollection : ICollectionFixture<PostgresFixture>;

[Collection("segments-sqlite")]
public sealed class SqliteSegmentRulesTests(SqliteFixture fx) : SegmentRulesTests(fx);

[Collection("segments-postgres")]
public sealed class PostgresSegmentRulesTests(PostgresFixture fx) : SegmentRulesTests(fx);
