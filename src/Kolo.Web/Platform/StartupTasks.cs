using System.Security.Cryptography;
using Kolo.Core.Analytics;
using Kolo.Core.Customers;
using Kolo.Core.Sales;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Kolo.Core.Catalog;
using Kolo.Core.Orders;
using Kolo.Core.Timeline;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Kolo.Web.Platform;

/// <summary>What runs before Kolo serves requests: migrations, the first admin, demo data for an empty database.</summary>
public static class StartupTasks
{
    public const string DemoPassword = "Demo-pass-2026";

    public static async Task RunAsync(IServiceProvider root, ILogger log)
    {
        await using var scope = root.CreateAsyncScope();
        var services = scope.ServiceProvider;
        var options = services.GetRequiredService<IOptions<KoloOptions>>().Value;
        var db = services.GetRequiredService<KoloDb>();
        await DatabaseSetup.MigrateAsync(db);

        // Every Kolo starts with a sales pipeline, which admins may rename, extend or replace.
        if (!await db.Pipelines.AnyAsync())
        {
            db.Pipelines.Add(PipelineService.DefaultPipeline(DateTime.UtcNow));
            await db.SaveChangesAsync();
        }

        var users = services.GetRequiredService<UserManager<User>>();
        if (!await db.Users.AnyAsync())
        {
            var generated = string.IsNullOrEmpty(options.Admin.Password);
            var password = generated ? GeneratePassword() : options.Admin.Password!;
            var admin = new User
            {
                UserName = options.Admin.Email, Email = options.Admin.Email, EmailConfirmed = true, DisplayName = "Administrator",
                Role = UserRole.Admin, CustomerAccess = CustomerAccess.All, CreatedAt = DateTime.UtcNow, LockoutEnabled = true,
            };
            var result = await users.CreateAsync(admin, password);
            if (!result.Succeeded)
                throw new InvalidOperationException("Cannot create the first admin: " + string.Join(" ", result.Errors.Select(e => e.Description)));
            Console.WriteLine(generated
                ? $"Created the first admin {admin.Email} with the generated password: {password}\n(It is shown only this once; change it after signing in, or set Kolo__Admin__Password before the first start.)"
                : $"Created the first admin {admin.Email} with the password from Kolo__Admin__Password.");

            if (options.SeedDemo)
            {
                await SeedDemoAsync(services, db, users);
                Console.WriteLine($"Seeded demo data. Demo users (password {DemoPassword}): manager@kolo.local, sales@kolo.local, marketing@kolo.local, support@kolo.local");
            }
        }
        log.LogInformation("Database ready ({Provider})", options.Database.Provider);
    }

    private static string GeneratePassword() =>
        "Kolo-" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(12)).Replace('+', 'x').Replace('/', 'y').TrimEnd('=') + "-9";

    private static async Task SeedDemoAsync(IServiceProvider services, KoloDb db, UserManager<User> users)
    {
        var now = DateTime.UtcNow;
        var demoUsers = new (string Email, string Name, UserRole Role, string? Team)[]
        {
            ("manager@kolo.local", "Olena Manager", UserRole.Manager, "Kyiv"),
            ("sales@kolo.local", "Taras Sales", UserRole.Sales, "Kyiv"),
            ("sales2@kolo.local", "Iryna Sales", UserRole.Sales, "Lviv"),
            ("marketing@kolo.local", "Sofiia Marketing", UserRole.Marketing, null),
            ("support@kolo.local", "Petro Support", UserRole.Support, null),
        };
        var created = new List<User>();
        foreach (var (email, name, role, team) in demoUsers)
        {
            var user = new User { UserName = email, Email = email, EmailConfirmed = true, DisplayName = name, Role = role, Team = team, CreatedAt = now, LockoutEnabled = true };
            await users.CreateAsync(user, DemoPassword);
            created.Add(user);
        }
        db.CustomFieldDefinitions.AddRange(
            new CustomFieldDefinition { Key = "loyaltyCard", Label = "Loyalty card", Type = CustomFieldType.Text, CreatedAt = now, SortOrder = 1 },
            new CustomFieldDefinition { Key = "segment", Label = "Segment", Type = CustomFieldType.Choice, Choices = ["Retail", "Wholesale", "VIP"], CreatedAt = now, SortOrder = 2 },
            new CustomFieldDefinition { Key = "creditLimit", Label = "Credit limit", Type = CustomFieldType.Number, CreatedAt = now, SortOrder = 3 });
        await db.SaveChangesAsync();

        var customerService = services.GetRequiredService<CustomerService>();
        var sample = new SampleCustomers(seed: 2026);
        var salesOwners = created.Where(u => u.Role == UserRole.Sales).Select(u => (Guid?)u.Id).ToArray();
        var tags = new[] { "vip", "newsletter", "wholesale", "b2b", "returning" };
        var ids = new List<Guid>();
        for (var i = 0; i < 120; i++)
        {
            var c = sample.Next(now);
            var input = new CustomerInput
            {
                Kind = c.Kind, FirstName = c.FirstName, LastName = c.LastName, CompanyName = c.CompanyName,
                Emails = c.Emails.Select(e => new EmailInput { Address = e.Address, Label = e.Label }).ToList(),
                Phones = c.Phones.Select(p => new PhoneInput { Number = p.Number, Label = p.Label }).ToList(),
                Addresses = c.Addresses.Select(a => new AddressInput { Label = a.Label, Line1 = a.Line1, City = a.City, Region = a.Region, PostalCode = a.PostalCode, Country = a.Country }).ToList(),
                BirthDate = c.BirthDate, Gender = c.Gender, MaritalStatus = c.MaritalStatus, HouseholdSize = c.HouseholdSize,
                AnnualIncome = c.AnnualIncomeMinor is { } income ? new MoneyInput { Amount = income / 100m, Currency = c.AnnualIncomeCurrency! } : null,
                PreferredChannel = c.PreferredChannel, PreferredLanguage = c.PreferredLanguage, Status = c.Status, Source = c.Source,
                Consents = c.Consents.Select(x => new ConsentInput { Channel = x.Channel, Granted = x.Granted, At = x.At, Source = x.Source }).ToList(),
                OwnerId = salesOwners[i % salesOwners.Length],
                Tags = i % 4 == 0 ? [tags[i % tags.Length]] : [],
            };
            var details = await customerService.CreateAsync(Actor.System, input, allowDuplicate: true);
            ids.Add(details.Id);
        }
        // A few family and employer links so customer cards show relationships.
        for (var i = 0; i + 1 < Math.Min(ids.Count, 20); i += 2)
            await customerService.AddLinkAsync(Actor.System, ids[i], new LinkInput { CustomerId = ids[i + 1], Type = i % 4 == 0 ? LinkType.Spouse : LinkType.HouseholdMember });

        // Some history, so timelines, "My tasks" and the feedback list have something to show.
        var interactions = services.GetRequiredService<InteractionService>();
        var salesActors = created.Where(u => u.Role == UserRole.Sales).Select(Actor.From).ToList();
        (InteractionType Type, string Subject, Sentiment? Sentiment)[] contacts =
        [
            (InteractionType.Call, "Asked about delivery times", Sentiment.Neutral),
            (InteractionType.Email, "Sent the spring catalogue", null),
            (InteractionType.Meeting, "Showroom visit with the family", Sentiment.Positive),
            (InteractionType.Call, "Complained about a late delivery", Sentiment.Negative),
            (InteractionType.Note, "Prefers calls after 18:00", null),
        ];
        for (var i = 0; i < 40; i++)
        {
            var (type, subject, sentiment) = contacts[i % contacts.Length];
            await interactions.RecordAsync(salesActors[i % salesActors.Count], new InteractionInput
            {
                CustomerId = ids[i], Type = type, Subject = subject, Sentiment = sentiment,
                Direction = type == InteractionType.Note ? null : i % 2 == 0 ? InteractionDirection.Inbound : InteractionDirection.Outbound,
                OccurredAt = now.AddDays(-(i % 30)).AddHours(-i),
            });
        }
        for (var i = 0; i < 6; i++)
            await interactions.RecordAsync(salesActors[i % salesActors.Count], new InteractionInput
            {
                CustomerId = ids[40 + i], Type = InteractionType.Agreement, Subject = i % 2 == 0 ? "Send a quote for the kitchen set" : "Call back about the loyalty card",
                DueAt = now.Date.AddDays(i - 2).AddHours(15),
            });

        await SeedOrdersAsync(services, ids, now);
        await SeedPurchaseHistoryAsync(services, ids, now);
        await SeedDealsAsync(services, db, ids, salesActors, created.First(u => u.Role == UserRole.Manager), now);
        await Kolo.Web.Marketing.MarketingDemo.SeedAsync(services.GetRequiredService<IDbContextFactory<KoloDb>>(),
            created.First(u => u.Role == UserRole.Marketing).Id, created.First(u => u.Role == UserRole.Manager).Id, now);
    }

    /// <summary>Open deals across the stages (some idle, so at risk), closed deals for the forecast's history, targets and a commission plan.</summary>
    private static async Task SeedDealsAsync(IServiceProvider services, KoloDb db, List<Guid> customerIds, List<Actor> reps, User manager, DateTime now)
    {
        var deals = services.GetRequiredService<DealService>();
        var planning = services.GetRequiredService<SalesPlanningService>();
        var pipeline = await db.Pipelines.AsNoTracking().Include(p => p.Stages).FirstAsync(p => p.IsDefault);
        var stages = pipeline.Stages.OrderBy(s => s.Position).ToList();
        var open = stages.Where(s => s.Kind == StageKind.Open).ToList();
        string[] names = ["Kitchen for the new flat", "Office chairs", "Living room set", "Hotel lobby furniture", "Dining set", "Showroom lighting"];
        for (var i = 0; i < 30; i++)
        {
            var rep = reps[i % reps.Count];
            var customer = customerIds[i * 3 % customerIds.Count];
            await db.Customers.Where(c => c.Id == customer).ExecuteUpdateAsync(u => u.SetProperty(c => c.OwnerId, rep.UserId));
            var deal = await deals.CreateAsync(rep, new DealInput
            {
                Name = names[i % names.Length], CustomerId = customer, Currency = "UAH", Amount = 20_000 + i * 3_500,
                ExpectedCloseDate = DateOnly.FromDateTime(now).AddDays(-20 + i * 4), SourceCampaign = i % 3 == 0 ? "Spring catalogue" : null,
                ForecastCategory = (i % 4) switch { 0 => ForecastCategory.Commit, 1 => ForecastCategory.BestCase, _ => ForecastCategory.Pipeline },
            });
            var target = i < 20 ? open[i % open.Count] : stages[i % 2 == 0 ? ^2 : ^1];
            if (target.Id != deal.StageId)
                await deals.MoveAsync(rep, deal.Id, null, new MoveInput { StageId = target.Id, Reason = target.Kind == StageKind.Won ? "Best price and delivery date" : target.Kind == StageKind.Lost ? "Chose a cheaper offer" : null });
            // Spread the history over the last months, and leave some open deals idle so they are at risk.
            var created = now.AddDays(-(i * 5 % 90) - 10);
            var closed = created.AddDays(15 + i % 20);
            await db.Deals.Where(d => d.Id == deal.Id).ExecuteUpdateAsync(u => u.SetProperty(d => d.CreatedAt, created)
                .SetProperty(d => d.StageEnteredAt, created.AddDays(3)).SetProperty(d => d.LastActivityAt, i % 5 == 0 ? created : now.AddDays(-2))
                .SetProperty(d => d.ClosedAt, d => d.Status == DealStatus.Open ? null : closed));
            await db.DealStageChanges.Where(c => c.DealId == deal.Id && c.LeftAt == null).ExecuteUpdateAsync(u => u.SetProperty(c => c.EnteredAt, created.AddDays(3)));
            await db.DealStageChanges.Where(c => c.DealId == deal.Id && c.LeftAt != null).ExecuteUpdateAsync(u => u.SetProperty(c => c.EnteredAt, created).SetProperty(c => c.LeftAt, created.AddDays(3)));
        }
        var managerActor = Actor.From(manager);
        var month = Forecasting.PeriodStart(DateOnly.FromDateTime(now), PeriodKind.Month);
        foreach (var rep in reps)
            for (var m = -2; m <= 3; m++)
                await planning.SaveTargetAsync(managerActor, null, null, new TargetInput { UserId = rep.UserId, Period = PeriodKind.Month, PeriodStart = month.AddMonths(m), Amount = 150_000 });
        await planning.SavePlanAsync(managerActor, null, null, new CommissionPlanInput
        {
            Name = "Standard", BaseRateBasisPoints = 500,
            Tiers = [new CommissionTier { FromAttainmentPercent = 100, RateBasisPoints = 800 }, new CommissionTier { FromAttainmentPercent = 150, RateBasisPoints = 1000 }],
        });
    }

    /// <summary>
    /// Two years of delivered orders for the demo customers — buying rates and drop-out drawn as the BG/NBD model
    /// assumes, baskets with habits (a table with chairs, a sofa with a rug) — then a lifetime-value fit and a score
    /// recompute queued, so the analytics pages, the customer card's scores and the offers show something.
    /// </summary>
    private static async Task SeedPurchaseHistoryAsync(IServiceProvider services, List<Guid> customerIds, DateTime now)
    {
        var factory = services.GetRequiredService<IDbContextFactory<KoloDb>>();
        await using var db = await factory.CreateDbContextAsync();
        var products = await db.Products.AsNoTracking().ToDictionaryAsync(p => p.Sku);
        string[][] habits =
        [
            ["TAB-050", "CHR-020"], ["SOF-210", "RUG-330"], ["SOF-210", "LMP-007"], ["KIT-100", "SRV-DEL"],
            ["CHR-020"], ["LMP-007"], ["RUG-330", "LMP-007"], ["TAB-050", "CHR-020", "LMP-007"],
        ];
        var random = new Random(2026);
        var records = new List<object>();
        var buyers = new HashSet<Guid>();
        var start = now.Date.AddDays(-730);
        var number = 0;
        foreach (var customerId in customerIds.Take(100))
        {
            // Purchases per week λ ~ Gamma(0.8)/40 (about one purchase a year on average); after each purchase the
            // customer drops out with probability p ~ Beta(1, 3).
            var rate = Gamma(random, 0.8) / 40;
            var dropout = Beta(random, 1, 3);
            var t = random.NextDouble() * 300;
            while (true)
            {
                var day = start.AddDays(Math.Floor(t));
                if (day >= now.Date) break;
                var basket = habits[random.Next(habits.Length)];
                var order = new Order
                {
                    Number = $"H-{++number:D5}", CustomerId = customerId, Status = OrderStatus.Delivered, Currency = "UAH",
                    Channel = random.Next(3) == 0 ? "web" : "store", PaymentMethod = "card", OrderedAt = day.AddHours(10 + random.Next(8)),
                    CreatedAt = now, UpdatedAt = now,
                };
                order.ConfirmedAt = order.OrderedAt;
                order.DeliveredAt = order.OrderedAt.AddDays(3);
                order.PromisedDeliveryDate = DateOnly.FromDateTime(order.OrderedAt.AddDays(4));
                var lineNo = 0;
                foreach (var sku in basket)
                {
                    var product = products[sku];
                    order.Lines.Add(new OrderLine
                    {
                        OrderId = order.Id, LineNo = ++lineNo, ProductId = product.Id, Sku = sku, Description = product.Name,
                        Quantity = sku == "CHR-020" ? 4 : 1, UnitPriceMinor = product.ListPriceMinor,
                    });
                }
                OrderTotals.Apply(order);
                records.Add(order);
                records.AddRange(order.Lines);
                buyers.Add(customerId);
                if (random.NextDouble() < dropout) break;
                t += -Math.Log(1 - random.NextDouble()) / Math.Max(rate, 1e-3) * 7;
            }
        }
        await using (var tx = await db.Database.BeginTransactionAsync())
        {
            await BulkInsert.WriteAsync(db, records);
            await db.Customers.Where(c => buyers.Contains(c.Id) && c.Status != LifecycleStatus.Customer)
                .ExecuteUpdateAsync(u => u.SetProperty(c => c.Status, LifecycleStatus.Customer));
            await tx.CommitAsync();
        }
        db.AnalyticsSettings.Add(new AnalyticsSettings
        {
            Currency = "UAH", InteractionCosts = new() { ["Call"] = "1500", ["Meeting"] = "6000", ["Visit"] = "8000", ["Email"] = "200" },
        });
        db.AnalyticsJobs.AddRange(
            new AnalyticsJob { Kind = AnalyticsJobKind.ClvFit, Status = AnalyticsJobStatus.Queued, CalibrationEnd = now.Date.AddDays(-182), HoldoutEnd = now.Date, TimeUnit = Kolo.Core.Analytics.TimeUnit.Week, CreatedAt = now },
            new AnalyticsJob { Kind = AnalyticsJobKind.Scores, Status = AnalyticsJobStatus.Queued, CreatedAt = now.AddTicks(10) });
        await db.SaveChangesAsync();
    }

    /// <summary>A Gamma(shape, 1) draw (Marsaglia and Tsang), for the demo's buying rates.</summary>
    private static double Gamma(Random random, double shape)
    {
        if (shape < 1) return Gamma(random, shape + 1) * Math.Pow(random.NextDouble(), 1 / shape);
        var d = shape - 1.0 / 3;
        var c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = Normal(random);
                v = 1 + c * x;
            }
            while (v <= 0);
            v = v * v * v;
            var u = random.NextDouble();
            if (Math.Log(u) < 0.5 * x * x + d - d * v + d * Math.Log(v)) return d * v;
        }
    }

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static double Beta(Random random, double a, double b)
    {
        var x = Gamma(random, a);
        return x / (x + Gamma(random, b));
    }

    /// <summary>A small catalogue and orders in every state, so purchases, deliveries and the start page show something.</summary>
    private static async Task SeedOrdersAsync(IServiceProvider services, List<Guid> customerIds, DateTime now)
    {
        var products = services.GetRequiredService<ProductService>();
        (string Sku, string Name, string Category, decimal Price, decimal Cost)[] catalogue =
        [
            ("KIT-100", "Kitchen set Oslo", "Kitchens", 48_900m, 31_000m),
            ("SOF-210", "Sofa Lviv, three seats", "Living room", 27_500m, 16_200m),
            ("TAB-050", "Oak dining table", "Dining", 15_400m, 9_100m),
            ("CHR-020", "Dining chair", "Dining", 2_350m, 1_200m),
            ("LMP-007", "Floor lamp", "Lighting", 3_100m, 1_450m),
            ("RUG-330", "Wool rug 2×3 m", "Textiles", 6_800m, 3_900m),
            ("SRV-DEL", "Delivery and assembly", "Services", 1_200m, 700m),
        ];
        foreach (var p in catalogue)
            await products.CreateAsync(Actor.System, new ProductInput { Sku = p.Sku, Name = p.Name, Category = p.Category, ListPrice = p.Price, UnitCost = p.Cost, Currency = "UAH" });

        var orders = services.GetRequiredService<OrderService>();
        var today = DateOnly.FromDateTime(now);
        for (var i = 0; i < 36; i++)
        {
            var first = catalogue[i % catalogue.Length];
            var order = await orders.CreateAsync(Actor.System, new OrderInput
            {
                CustomerId = customerIds[60 + i % 40], Quote = i % 9 == 8, Currency = "UAH", Channel = i % 3 == 0 ? "web" : "store",
                PaymentMethod = i % 2 == 0 ? "card" : "bank transfer", OrderedAt = now.AddDays(-(36 - i) * 3),
                // Promises spread from four weeks ago to two weeks ahead: some kept, some late, some due soon.
                PromisedDeliveryDate = today.AddDays(i - 22),
                Lines =
                [
                    new OrderLineInput { Sku = first.Sku, Quantity = 1 + i % 3, Purpose = i % 4 == 0 ? "gift" : null },
                    new OrderLineInput { Sku = "SRV-DEL", Quantity = 1 },
                ],
            });
            var promised = today.AddDays(i - 22);
            if (order.Status == OrderStatus.Quote) continue;
            if (promised < today.AddDays(-3) && i % 5 != 0)
                await orders.SetStatusAsync(Actor.System, order.Id, null, new StatusInput
                {
                    Status = OrderStatus.Delivered,
                    At = promised.AddDays(i % 4 == 0 ? 2 : -1).ToDateTime(new TimeOnly(14, 0), DateTimeKind.Utc),
                });
            else if (promised >= today && i % 2 == 0)
                await orders.SetStatusAsync(Actor.System, order.Id, null, new StatusInput { Status = OrderStatus.Shipped });
        }
    }
}
