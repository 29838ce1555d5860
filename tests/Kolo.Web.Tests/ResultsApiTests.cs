using System.Net;
using System.Text.Json;
using Kolo.Core.Catalog;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Marketing;
using Kolo.Core.Orders;
using Kolo.Core.Tasks;
using Kolo.Web.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Kolo.Web.Tests;

/// <summary>
/// Campaign results (funnel, attribution, control group, incremental margin, cost split, ROI), responses and the call list.
/// Campaigns, variants, messages and orders are written straight into the database: these tests own the figures, not the
/// audience builder or the sender. Messages are seeded sent or suppressed (never Queued), so a sender never touches them.
/// </summary>
public abstract class ResultsApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    // A fixed past moment: every window of the example lies before "now", whatever day the tests run.
    private static readonly DateTime T0 = new(2026, 3, 2, 10, 0, 0, DateTimeKind.Utc);

    private IDbContextFactory<KoloDb> Db => Fx.Factory.Services.GetRequiredService<IDbContextFactory<KoloDb>>();

    private async Task<List<Guid>> CustomersAsync(int count, params object[] consents)
    {
        var ids = new List<Guid>();
        for (var i = 0; i < count; i++)
        {
            var body = Person();
            if (consents.Length > 0) body["consents"] = consents;
            ids.Add((await CreateAsync(body)).Id());
        }
        return ids;
    }

    private async Task<Product> ProductAsync(long priceMinor, long costMinor)
    {
        var p = new Product
        {
            Sku = "R-" + Unique.Word(10).ToUpperInvariant(), Name = "Results " + Unique.Word(5), ListPriceMinor = priceMinor, UnitCostMinor = costMinor,
            Currency = "UAH", CreatedAt = T0, UpdatedAt = T0,
        };
        await using var db = await Db.CreateDbContextAsync();
        db.Products.Add(p);
        await db.SaveChangesAsync();
        return p;
    }

    /// <summary>An order (or with <paramref name="returnOf"/> a return, negative) of whole units of one product.</summary>
    private async Task<Order> OrderAsync(Guid customerId, Product product, int quantity, DateTime at, OrderStatus status = OrderStatus.Delivered,
        string currency = "UAH", Order? returnOf = null)
    {
        var sign = returnOf is null ? 1 : -1;
        var total = sign * quantity * product.ListPriceMinor;
        var order = new Order
        {
            Number = "R" + Unique.Word(12).ToUpperInvariant(), CustomerId = customerId, Status = returnOf is null ? status : OrderStatus.Returned, Currency = currency,
            OrderedAt = at, SubtotalMinor = total, TotalMinor = total, ReturnOfOrderId = returnOf?.Id, CreatedAt = at, UpdatedAt = at,
        };
        order.Lines.Add(new OrderLine
        {
            OrderId = order.Id, LineNo = 1, ProductId = product.Id, Sku = product.Sku, Description = product.Name, Quantity = quantity,
            UnitPriceMinor = product.ListPriceMinor, LineTotalMinor = total,
        });
        await using var db = await Db.CreateDbContextAsync();
        db.Orders.Add(order);
        await db.SaveChangesAsync();
        return order;
    }

    private static Campaign NewCampaign(string name) => new()
    {
        Name = name, Status = CampaignStatus.Running, StartsAt = T0, Currency = "UAH", Channels = [CampaignChannel.Email, CampaignChannel.Sms],
        ControlGroupPercent = 20, AttributionDays = 14, CreatedAt = T0, UpdatedAt = T0, LaunchedAt = T0,
        // Still running when the sender looks: with nothing queued it would otherwise complete the campaign.
        EndsAt = DateTime.UtcNow.AddDays(30),
    };

    /// <summary>A running campaign with one e-mail variant, "All".</summary>
    private static (Campaign Campaign, CampaignVariant Variant) OneVariantCampaign(string name)
    {
        var campaign = NewCampaign(name);
        var v = new CampaignVariant { CampaignId = campaign.Id, Name = "All", SortOrder = 0, EmailBody = "x" };
        campaign.Variants = [v];
        return (campaign, v);
    }

    private static CampaignMessage Sent(Campaign c, CampaignVariant v, Guid customer, CampaignChannel channel, DateTime at) => new()
    {
        CampaignId = c.Id, VariantId = v.Id, CustomerId = customer, Channel = channel, Status = MessageStatus.Sent, PlannedAt = at, SentAt = at, CreatedAt = at,
        Address = channel == CampaignChannel.Email ? "x@example.com" : "+380670000000", Attempts = 1,
    };

    private static CampaignMessage Suppressed(Campaign c, CampaignVariant v, Guid customer, SuppressionReason reason, DateTime at) => new()
    {
        CampaignId = c.Id, VariantId = v.Id, CustomerId = customer, Status = MessageStatus.Suppressed, Reason = reason, PlannedAt = at, CreatedAt = at,
    };

    private async Task SaveAsync(Campaign campaign, IEnumerable<CampaignMessage> messages)
    {
        await using var db = await Db.CreateDbContextAsync();
        db.Campaigns.Add(campaign);
        db.CampaignMessages.AddRange(messages);
        await db.SaveChangesAsync();
    }

    private static decimal Dec(JsonElement e, string property) => e.GetProperty(property).GetDecimal();

    [Fact]
    public async Task Roi_per_campaign_and_variant_matches_the_hand_computed_example()
    {
        // Products: P1 sells at 1,000.00 and costs 600.00 (margin 400.00); P2 sells at 500.00 and costs 200.00 (margin 300.00).
        var p1 = await ProductAsync(100_000, 60_000);
        var p2 = await ProductAsync(50_000, 20_000);
        var ids = await CustomersAsync(11);
        var (a1, a2, a3, a4, ac1, ac2, aSup) = (ids[0], ids[1], ids[2], ids[3], ids[4], ids[5], ids[6]);
        var (b1, b2, bc1, bSup) = (ids[7], ids[8], ids[9], ids[10]);

        // Fixed cost 30.00; an e-mail costs 1.00, an SMS 2.00; orders count for 14 days after the contact.
        var campaign = NewCampaign("ROI example " + Unique.Word(6));
        campaign.FixedCostMinor = 3_000;
        campaign.EmailCostMinor = 100;
        campaign.SmsCostMinor = 200;
        var va = new CampaignVariant { CampaignId = campaign.Id, Name = "Prospects", Audience = VariantAudience.Prospects, SortOrder = 0, EmailSubject = "Hi", EmailBody = "Hi" };
        var vb = new CampaignVariant { CampaignId = campaign.Id, Name = "Customers", Audience = VariantAudience.Customers, SortOrder = 1, SmsText = "Hi" };
        campaign.Variants = [va, vb];
        var m = new Dictionary<Guid, CampaignMessage>
        {
            // Variant A: four e-mails sent at T0, two customers held out (planned at T0), one without consent.
            [a1] = Sent(campaign, va, a1, CampaignChannel.Email, T0), [a2] = Sent(campaign, va, a2, CampaignChannel.Email, T0),
            [a3] = Sent(campaign, va, a3, CampaignChannel.Email, T0), [a4] = Sent(campaign, va, a4, CampaignChannel.Email, T0),
            [ac1] = Suppressed(campaign, va, ac1, SuppressionReason.ControlGroup, T0), [ac2] = Suppressed(campaign, va, ac2, SuppressionReason.ControlGroup, T0),
            [aSup] = Suppressed(campaign, va, aSup, SuppressionReason.NoConsent, T0),
            // Variant B: two SMS sent a day later, one customer held out (planned then), one over the contact cap.
            [b1] = Sent(campaign, vb, b1, CampaignChannel.Sms, T0.AddDays(1)), [b2] = Sent(campaign, vb, b2, CampaignChannel.Sms, T0.AddDays(1)),
            [bc1] = Suppressed(campaign, vb, bc1, SuppressionReason.ControlGroup, T0.AddDays(1)),
            [bSup] = Suppressed(campaign, vb, bSup, SuppressionReason.PressureCap, T0.AddDays(1)),
        };
        // Funnel events: a1, a2 opened (and delivered); a3 clicked without the open pixel (counts as opened and delivered); b1, b2 delivered.
        foreach (var id in new[] { a1, a2, a3, b1, b2 }) m[id].DeliveredAt = m[id].SentAt!.Value.AddMinutes(1);
        m[a1].OpenedAt = m[a2].OpenedAt = T0.AddHours(1);
        m[a1].Status = m[a2].Status = MessageStatus.Opened;
        m[a3].DeliveredAt = null;
        m[a3].ClickedAt = T0.AddHours(2);
        m[a3].Status = MessageStatus.Clicked;
        await SaveAsync(campaign, m.Values);

        // a1: 2 × P1 two days after the e-mail (2,000.00, margin 800.00), one P1 returned after the window (−1,000.00, margin −400.00):
        //     returns of an attributed order subtract whenever they come → revenue 1,000.00, margin 400.00.
        var a1Order = await OrderAsync(a1, p1, 2, T0.AddDays(2));
        await OrderAsync(a1, p1, 1, T0.AddDays(20), returnOf: a1Order);
        // a2: P2 a minute before the window closes (500.00, margin 300.00) counts; P1 exactly at T0 + 14 days does not;
        //     neither a quote nor a cancelled order inside the window.
        await OrderAsync(a2, p2, 1, T0.AddDays(14).AddMinutes(-1));
        await OrderAsync(a2, p1, 1, T0.AddDays(14));
        await OrderAsync(a2, p1, 1, T0.AddDays(1), OrderStatus.Quote);
        await OrderAsync(a2, p1, 1, T0.AddDays(1), OrderStatus.Cancelled);
        // a3: bought an hour before the e-mail — not attributed. a4: nothing.
        await OrderAsync(a3, p1, 1, T0.AddHours(-1));
        // Control A: ac1 buys P2 a day after the planned time (500.00, margin 300.00); ac2 bought a minute before it (not counted).
        await OrderAsync(ac1, p2, 1, T0.AddDays(1));
        await OrderAsync(ac2, p1, 1, T0.AddMinutes(-1));
        // b1: P1 four days after its SMS (1,000.00, margin 400.00). b2: an order in another currency (not counted). bc1: nothing.
        await OrderAsync(b1, p1, 1, T0.AddDays(5));
        await OrderAsync(b2, p1, 1, T0.AddDays(2), currency: "EUR");

        using var admin = Fx.Admin();
        // a4 replied: responded in the funnel.
        await admin.PostJsonAsync($"/api/v1/campaign-messages/{m[a4].Id}/responses", new { kind = "Reply", text = "Tell me more", occurredAt = T0.AddHours(3) }, HttpStatusCode.Created);

        var results = await admin.GetJsonAsync($"/api/v1/campaigns/{campaign.Id}/results");
        var total = results.GetProperty("total");
        var variants = results.GetProperty("variants").EnumerateArray().ToList();
        var ra = variants.Single(v => v.GetProperty("variantId").GetGuid() == va.Id);
        var rb = variants.Single(v => v.GetProperty("variantId").GetGuid() == vb.Id);

        // Funnel: 11 targeted; 5 suppressed (3 control_group, 1 no_consent, 1 pressure_cap); 6 sent; delivered a1 a2 a3 b1 b2 = 5;
        // opened a1 a2 a3 = 3; clicked a3 = 1; responded a4 = 1; converted a1 a2 b1 = 3.
        var funnel = total.GetProperty("funnel");
        Assert.Equal(11, funnel.GetProperty("targeted").GetInt32());
        Assert.Equal(5, funnel.GetProperty("suppressed").GetInt32());
        var byReason = funnel.GetProperty("suppressedByReason");
        Assert.Equal(3, byReason.GetProperty("control_group").GetInt32());
        Assert.Equal(1, byReason.GetProperty("no_consent").GetInt32());
        Assert.Equal(1, byReason.GetProperty("pressure_cap").GetInt32());
        Assert.Equal(6, funnel.GetProperty("sent").GetInt32());
        Assert.Equal(5, funnel.GetProperty("delivered").GetInt32());
        Assert.Equal(3, funnel.GetProperty("opened").GetInt32());
        Assert.Equal(1, funnel.GetProperty("clicked").GetInt32());
        Assert.Equal(1, funnel.GetProperty("responded").GetInt32());
        Assert.Equal(3, funnel.GetProperty("converted").GetInt32());
        Assert.Equal(7, ra.GetProperty("funnel").GetProperty("targeted").GetInt32());
        Assert.Equal(1, rb.GetProperty("funnel").GetProperty("converted").GetInt32());

        // Variant A. Treated: 4 customers, 2 converted, revenue 1,000 + 500 = 1,500.00, margin 400 + 300 = 700.00.
        // Control: 2 customers, 1 converted, revenue 500.00, margin 300.00.
        // Incremental revenue = (1,500/4 − 500/2) × 4 = 500.00; incremental margin = (700/4 − 300/2) × 4 = 100.00.
        // Cost = fixed 30.00 × 4/6 sent = 20.00 + 4 e-mails × 1.00 = 24.00. ROI = (100 − 24) / 24 = 3.1667.
        Assert.Equal(4, ra.GetProperty("treated").GetProperty("customers").GetInt32());
        Assert.Equal(2, ra.GetProperty("treated").GetProperty("converted").GetInt32());
        Assert.Equal(0.5m, Dec(ra.GetProperty("treated"), "conversionRate"));
        Assert.Equal(1500m, Dec(ra.GetProperty("treated"), "revenue"));
        Assert.Equal(700m, Dec(ra.GetProperty("treated"), "margin"));
        Assert.Equal(2, ra.GetProperty("control").GetProperty("customers").GetInt32());
        Assert.Equal(0.5m, Dec(ra.GetProperty("control"), "conversionRate"));
        Assert.Equal(500m, Dec(ra.GetProperty("control"), "revenue"));
        Assert.Equal(300m, Dec(ra.GetProperty("control"), "margin"));
        Assert.False(ra.GetProperty("controlIsCampaignWide").GetBoolean());
        Assert.Equal(500m, Dec(ra, "incrementalRevenue"));
        Assert.Equal(100m, Dec(ra, "incrementalMargin"));
        Assert.Equal(20m, Dec(ra, "fixedCost"));
        Assert.Equal(4m, Dec(ra, "messageCost"));
        Assert.Equal(24m, Dec(ra, "cost"));
        Assert.Equal(3.1667m, Dec(ra, "roi"));

        // Variant B. Treated: 2 customers, 1 converted (b1), revenue 1,000.00, margin 400.00. Control: 1 customer, nothing.
        // Incremental revenue 1,000.00, margin 400.00. Cost = 30.00 × 2/6 = 10.00 + 2 SMS × 2.00 = 14.00.
        // ROI = (400 − 14) / 14 = 27.5714.
        Assert.Equal(1000m, Dec(rb.GetProperty("treated"), "revenue"));
        Assert.Equal(400m, Dec(rb.GetProperty("treated"), "margin"));
        Assert.Equal(0m, Dec(rb.GetProperty("control"), "revenue"));
        Assert.Equal(1000m, Dec(rb, "incrementalRevenue"));
        Assert.Equal(400m, Dec(rb, "incrementalMargin"));
        Assert.Equal(10m, Dec(rb, "fixedCost"));
        Assert.Equal(14m, Dec(rb, "cost"));
        Assert.Equal(27.5714m, Dec(rb, "roi"));

        // Campaign. Treated: 6 customers, 3 converted, revenue 2,500.00, margin 1,100.00. Control: 3 customers, 1 converted,
        // revenue 500.00, margin 300.00 (conversion 1/3). Incremental revenue = 2,500 − 500 × 6/3 = 1,500.00; incremental
        // margin = 1,100 − 300 × 6/3 = 500.00. Cost = 30.00 + 4 × 1.00 + 2 × 2.00 = 38.00. ROI = (500 − 38) / 38 = 12.1579.
        Assert.Equal(6, total.GetProperty("treated").GetProperty("customers").GetInt32());
        Assert.Equal(3, total.GetProperty("treated").GetProperty("converted").GetInt32());
        Assert.Equal(2500m, Dec(total.GetProperty("treated"), "revenue"));
        Assert.Equal(1100m, Dec(total.GetProperty("treated"), "margin"));
        Assert.Equal(3, total.GetProperty("control").GetProperty("customers").GetInt32());
        Assert.Equal(0.3333m, Dec(total.GetProperty("control"), "conversionRate"));
        Assert.Equal(1500m, Dec(total, "incrementalRevenue"));
        Assert.Equal(500m, Dec(total, "incrementalMargin"));
        Assert.Equal(30m, Dec(total, "fixedCost"));
        Assert.Equal(8m, Dec(total, "messageCost"));
        Assert.Equal(38m, Dec(total, "cost"));
        Assert.Equal(12.1579m, Dec(total, "roi"));

        // Conversions by day: a1 on T0+2, b1 on T0+6 (T0+1 + 5), a2 on T0+13 (a minute before T0+14); control ac1 on T0+1.
        var days = results.GetProperty("conversionsByDay").EnumerateArray()
            .ToDictionary(d => d.GetProperty("day").GetString()!, d => (d.GetProperty("treated").GetInt32(), d.GetProperty("control").GetInt32()));
        Assert.Equal((0, 1), days["2026-03-03"]);
        Assert.Equal((1, 0), days["2026-03-04"]);
        Assert.Equal((1, 0), days["2026-03-07"]);
        Assert.Equal((1, 0), days["2026-03-16"]);
        Assert.Equal(4, days.Count);

        // The periodic stamp writes the first attributed order's time as ConvertedAt (and raises the status of contacted
        // customers only); running it again changes nothing.
        var service = Fx.Factory.Services.GetRequiredService<CampaignResponseService>();
        Assert.True(await service.StampConversionsAsync() >= 4);
        await service.StampConversionsAsync();
        await using var db = await Db.CreateDbContextAsync();
        var stored = await db.CampaignMessages.AsNoTracking().Where(x => x.CampaignId == campaign.Id).ToDictionaryAsync(x => x.CustomerId);
        Assert.Equal(T0.AddDays(2), stored[a1].ConvertedAt);
        Assert.Equal(MessageStatus.Converted, stored[a1].Status);
        Assert.Equal(T0.AddDays(14).AddMinutes(-1), stored[a2].ConvertedAt);
        Assert.Null(stored[a3].ConvertedAt);
        Assert.Equal(T0.AddDays(1), stored[ac1].ConvertedAt);
        Assert.Equal(MessageStatus.Suppressed, stored[ac1].Status);
        Assert.Null(stored[ac2].ConvertedAt);
        Assert.Null(stored[b2].ConvertedAt);
        Assert.Equal(MessageStatus.Responded, stored[a4].Status);

        // The results read the same after the stamp.
        var again = await admin.GetJsonAsync($"/api/v1/campaigns/{campaign.Id}/results");
        Assert.Equal(12.1579m, Dec(again.GetProperty("total"), "roi"));
        Assert.Equal(3, again.GetProperty("total").GetProperty("funnel").GetProperty("converted").GetInt32());
    }

    [Fact]
    public async Task Without_a_control_group_there_is_no_incremental_figure_and_without_cost_no_roi()
    {
        var p = await ProductAsync(10_000, 4_000);
        var ids = await CustomersAsync(2);
        var (campaign, v) = OneVariantCampaign("No control " + Unique.Word(6));
        await SaveAsync(campaign, [Sent(campaign, v, ids[0], CampaignChannel.Email, T0), Sent(campaign, v, ids[1], CampaignChannel.Email, T0)]);
        await OrderAsync(ids[0], p, 3, T0.AddDays(3));
        using var admin = Fx.Admin();
        var total = (await admin.GetJsonAsync($"/api/v1/campaigns/{campaign.Id}/results")).GetProperty("total");
        Assert.Equal(300m, Dec(total.GetProperty("treated"), "revenue"));
        Assert.Equal(180m, Dec(total.GetProperty("treated"), "margin"));
        Assert.Equal(JsonValueKind.Null, total.GetProperty("incrementalMargin").ValueKind);
        Assert.Equal(JsonValueKind.Null, total.GetProperty("roi").ValueKind);
        Assert.Equal(0m, Dec(total, "cost"));
    }

    [Fact]
    public async Task Orders_in_another_currency_are_reported_not_counted()
    {
        var p = await ProductAsync(10_000, 4_000);
        var ids = await CustomersAsync(3);
        var (campaign, v) = OneVariantCampaign("Currencies " + Unique.Word(6));
        // The USD order comes after its window: it is not reported.
        await SaveAsync(campaign, [Sent(campaign, v, ids[0], CampaignChannel.Email, T0), Sent(campaign, v, ids[1], CampaignChannel.Email, T0),
            Sent(campaign, v, ids[2], CampaignChannel.Email, T0)]);
        await OrderAsync(ids[0], p, 1, T0.AddDays(2));
        await OrderAsync(ids[0], p, 2, T0.AddDays(3), currency: "EUR");
        await OrderAsync(ids[1], p, 5, T0.AddDays(4), currency: "PLN");
        await OrderAsync(ids[2], p, 7, T0.AddDays(20), currency: "USD");
        using var admin = Fx.Admin();
        var results = await admin.GetJsonAsync($"/api/v1/campaigns/{campaign.Id}/results");
        Assert.Equal(100m, Dec(results.GetProperty("total").GetProperty("treated"), "revenue"));
        Assert.Equal(2, results.GetProperty("otherCurrencyOrders").GetInt32());
        Assert.Equal(["EUR", "PLN"], results.GetProperty("otherCurrencies").EnumerateArray().Select(c => c.GetString()!).ToArray());
    }

    [Fact]
    public async Task A_variant_without_held_out_customers_is_compared_with_the_whole_control_group()
    {
        var p = await ProductAsync(10_000, 4_000);
        var ids = await CustomersAsync(4);
        var (campaign, v) = OneVariantCampaign("Wide control " + Unique.Word(6));
        campaign.EmailCostMinor = 100;
        // Two held out without a variant; two contacted with variant "All".
        var held = new[] { Suppressed(campaign, v, ids[0], SuppressionReason.ControlGroup, T0), Suppressed(campaign, v, ids[1], SuppressionReason.ControlGroup, T0) };
        foreach (var h in held) h.VariantId = null;
        await SaveAsync(campaign, [.. held, Sent(campaign, v, ids[2], CampaignChannel.Email, T0), Sent(campaign, v, ids[3], CampaignChannel.Email, T0)]);
        // Control: one of two buys 1 × 100.00 (margin 60.00). Contacted: both buy 1 × 100.00.
        await OrderAsync(ids[0], p, 1, T0.AddDays(1));
        await OrderAsync(ids[2], p, 1, T0.AddDays(1));
        await OrderAsync(ids[3], p, 1, T0.AddDays(2));
        using var admin = Fx.Admin();
        var results = await admin.GetJsonAsync($"/api/v1/campaigns/{campaign.Id}/results");
        var variant = Assert.Single(results.GetProperty("variants").EnumerateArray());
        Assert.True(variant.GetProperty("controlIsCampaignWide").GetBoolean());
        Assert.Equal(2, variant.GetProperty("control").GetProperty("customers").GetInt32());
        // Incremental margin = (120/2 − 60/2) × 2 = 60.00; cost 2 × 1.00; ROI = (60 − 2) / 2 = 29.
        Assert.Equal(60m, Dec(variant, "incrementalMargin"));
        Assert.Equal(29m, Dec(variant, "roi"));
        Assert.Equal(29m, Dec(results.GetProperty("total"), "roi"));
        Assert.Equal(2, results.GetProperty("total").GetProperty("funnel").GetProperty("suppressedByReason").GetProperty("control_group").GetInt32());
    }

    [Fact]
    public async Task Fixed_cost_split_adds_up_to_the_cent()
    {
        Assert.Equal([334L, 333L, 333L], CampaignResults.SplitFixedCost(1_000, [1, 1, 1]));
        Assert.Equal([750L, 250L], CampaignResults.SplitFixedCost(1_000, [3, 1]));
        Assert.Equal([500L, 500L], CampaignResults.SplitFixedCost(1_000, [0, 0]));
        Assert.Equal([0L, 1_001L], CampaignResults.SplitFixedCost(1_001, [0, 7]));
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Negative_feedback_withdraws_consent_and_shows_on_the_timeline()
    {
        var ids = await CustomersAsync(2, new { channel = "Email", granted = true }, new { channel = "Sms", granted = true });
        var (campaign, v) = OneVariantCampaign("Feedback " + Unique.Word(6));
        var sent = Sent(campaign, v, ids[0], CampaignChannel.Email, T0);
        var suppressed = Suppressed(campaign, v, ids[1], SuppressionReason.ControlGroup, T0);
        await SaveAsync(campaign, [sent, suppressed]);
        // Another campaign still has an e-mail and an SMS waiting for the same customer (planned for next week).
        var (later, lv) = OneVariantCampaign("Later " + Unique.Word(6));
        var waitingEmail = new CampaignMessage
        {
            CampaignId = later.Id, VariantId = lv.Id, CustomerId = ids[0], Channel = CampaignChannel.Email, Status = MessageStatus.Queued,
            PlannedAt = DateTime.UtcNow.AddDays(7), CreatedAt = T0,
        };
        var (sms, sv) = OneVariantCampaign("Later SMS " + Unique.Word(6));
        var waitingSms = new CampaignMessage
        {
            CampaignId = sms.Id, VariantId = sv.Id, CustomerId = ids[0], Channel = CampaignChannel.Sms, Status = MessageStatus.Queued,
            PlannedAt = DateTime.UtcNow.AddDays(7), CreatedAt = T0,
        };
        await SaveAsync(later, [waitingEmail]);
        await SaveAsync(sms, [waitingSms]);
        using var admin = Fx.Admin();
        var url = $"/api/v1/campaign-messages/{sent.Id}/responses";

        // A reason is required, and a held-out customer got nothing to respond to.
        using (var noReason = await admin.SendRawAsync(HttpMethod.Post, url, """{"kind":"NegativeFeedback"}"""))
            Assert.Contains("reason", (await noReason.ExpectValidationProblemAsync()).Keys);
        using (var notSent = await admin.SendRawAsync(HttpMethod.Post, $"/api/v1/campaign-messages/{suppressed.Id}/responses", """{"kind":"Reply"}"""))
            Assert.Contains("messageId", (await notSent.ExpectValidationProblemAsync()).Keys);
        using (var future = await admin.SendRawAsync(HttpMethod.Post, url, JsonSerializer.Serialize(new { kind = "Reply", occurredAt = DateTime.UtcNow.AddDays(1) })))
            Assert.Contains("occurredAt", (await future.ExpectValidationProblemAsync()).Keys);
        using (var callOnEmail = await admin.SendRawAsync(HttpMethod.Post, url, """{"kind":"CallOutcome","outcome":"reached"}"""))
            Assert.Contains("kind", (await callOnEmail.ExpectValidationProblemAsync()).Keys);
        await admin.PostJsonAsync($"/api/v1/campaign-messages/{Guid.NewGuid()}/responses", new { kind = "Reply" }, HttpStatusCode.NotFound);

        var result = await admin.PostJsonAsync(url, new { kind = "NegativeFeedback", reason = "Too many e-mails", text = "Stop <b>writing</b>" }, HttpStatusCode.Created);
        Assert.True(result.GetProperty("consentWithdrawn").GetBoolean());
        var message = result.GetProperty("message");
        Assert.Equal("Unsubscribed", message.Str("status"));
        Assert.NotEqual(JsonValueKind.Null, message.GetProperty("respondedAt").ValueKind);
        Assert.NotEqual(JsonValueKind.Null, message.GetProperty("unsubscribedAt").ValueKind);

        // E-mail consent is withdrawn; SMS consent stays.
        var customer = await admin.GetJsonAsync($"/api/v1/customers/{ids[0]}");
        var consents = customer.GetProperty("consents").EnumerateArray().ToDictionary(c => c.Str("channel"), c => c.GetProperty("granted").GetBoolean());
        Assert.False(consents["Email"]);
        Assert.True(consents["Sms"]);

        // The opt-out stops the e-mail still waiting in the other campaign; the SMS still goes.
        await using (var check = await Db.CreateDbContextAsync())
        {
            var waiting = await check.CampaignMessages.AsNoTracking().Where(m => m.CampaignId == later.Id || m.CampaignId == sms.Id).ToDictionaryAsync(m => m.Channel!.Value);
            Assert.Equal((MessageStatus.Suppressed, SuppressionReason.Unsubscribed), (waiting[CampaignChannel.Email].Status, waiting[CampaignChannel.Email].Reason));
            Assert.Equal(MessageStatus.Queued, waiting[CampaignChannel.Sms].Status);
        }

        // The feedback is on the timeline, negative, linked to the campaign; so is the opt-out.
        await using var db = await Db.CreateDbContextAsync();
        var interactions = await db.Interactions.AsNoTracking().Where(i => i.CustomerId == ids[0] && i.RelatedType == "campaign" && i.RelatedId == campaign.Id).ToListAsync();
        Assert.Equal(2, interactions.Count);
        Assert.All(interactions, i => Assert.Equal(Kolo.Core.Timeline.Sentiment.Negative, i.Sentiment));
        var feedback = Assert.Single(interactions, i => i.Id == result.GetProperty("interactionId").GetGuid());
        Assert.Equal("Too many e-mails", feedback.Outcome);
        Assert.Equal("Stop &lt;b&gt;writing&lt;/b&gt;", feedback.Body);
        var timeline = await admin.GetJsonAsync($"/api/v1/customers/{ids[0]}/timeline?kind=interaction");
        Assert.Contains(timeline.Items(), e => e.Id() == feedback.Id && e.Str("sentiment") == "Negative");
    }

    [Fact]
    public async Task An_opt_out_covers_every_record_with_the_same_address()
    {
        // Two records of one person (a lead and a customer, say) share an e-mail address, written differently.
        var local = "same." + Unique.Word(8);
        var consents = new object[] { new { channel = "Email", granted = true }, new { channel = "Sms", granted = true } };
        var first = Person(); first["emails"] = new[] { new { address = local + "@Example.com" } }; first["consents"] = consents;
        var second = Person(); second["emails"] = new[] { new { address = "other." + Unique.Word(6) + "@example.com" }, new { address = " " + local.ToUpperInvariant() + "@example.com" } }; second["consents"] = consents;
        var prefix = Person(); prefix["emails"] = new[] { new { address = local + "x@example.com" } }; prefix["consents"] = consents;
        var ids = new List<Guid>();
        foreach (var body in new[] { first, second, prefix }) ids.Add((await CreateAsync(body, allowDuplicate: true)).Id());

        var (campaign, v) = OneVariantCampaign("Same address " + Unique.Word(6));
        var sent = Sent(campaign, v, ids[0], CampaignChannel.Email, T0);
        sent.Address = local + "@Example.com";
        await SaveAsync(campaign, [sent]);
        var (later, lv) = OneVariantCampaign("Later " + Unique.Word(6));
        var waiting = new CampaignMessage
        {
            CampaignId = later.Id, VariantId = lv.Id, CustomerId = ids[1], Channel = CampaignChannel.Email, Status = MessageStatus.Queued,
            PlannedAt = DateTime.UtcNow.AddDays(7), CreatedAt = T0, Address = local.ToUpperInvariant() + "@example.com",
        };
        await SaveAsync(later, [waiting]);

        using var admin = Fx.Admin();
        await admin.PostJsonAsync($"/api/v1/campaign-messages/{sent.Id}/responses", new { kind = "NegativeFeedback", reason = "Stop" }, HttpStatusCode.Created);

        async Task<Dictionary<string, bool>> ConsentsOf(Guid id) =>
            (await admin.GetJsonAsync($"/api/v1/customers/{id}")).GetProperty("consents").EnumerateArray().ToDictionary(c => c.Str("channel"), c => c.GetProperty("granted").GetBoolean());
        // The other record with the address is opted out of e-mail too (not of SMS); a longer address that merely starts
        // the same way is not.
        Assert.False((await ConsentsOf(ids[1]))["Email"]);
        Assert.True((await ConsentsOf(ids[1]))["Sms"]);
        Assert.True((await ConsentsOf(ids[2]))["Email"]);
        await using var db = await Db.CreateDbContextAsync();
        var stopped = await db.CampaignMessages.AsNoTracking().SingleAsync(m => m.Id == waiting.Id);
        Assert.Equal((MessageStatus.Suppressed, SuppressionReason.Unsubscribed), (stopped.Status, stopped.Reason));
        var audit = await db.AuditEntries.AsNoTracking().Where(a => a.EntityId == ids[1] && a.Action == "consent-withdrawn").ToListAsync();
        Assert.Single(audit);
        var note = await db.Interactions.AsNoTracking().SingleAsync(i => i.CustomerId == ids[1] && i.RelatedId == campaign.Id);
        Assert.Contains("same address", note.Outcome);
    }

    [Fact]
    public async Task Call_outcomes_by_the_agent_update_the_call_list_and_complete_the_task()
    {
        var agent = await Fx.CreateUserAsync("Support");
        var other = await Fx.CreateUserAsync("Sales");
        var ids = await CustomersAsync(3, new { channel = "Phone", granted = true });
        var campaign = NewCampaign("Calls " + Unique.Word(6));
        campaign.Channels = [CampaignChannel.Call];
        var v = new CampaignVariant { CampaignId = campaign.Id, Name = "All", SortOrder = 0, CallScript = "Hello {{ customer.first_name }}, about {{ campaign.name }}" };
        campaign.Variants = [v];
        var messages = new List<CampaignMessage>();
        var tasks = new List<TaskItem>();
        foreach (var id in ids)
        {
            var task = new TaskItem { Title = "Call", AssigneeId = agent.Id, CustomerId = id, RelatedType = "campaign", RelatedId = campaign.Id, CreatedAt = T0, UpdatedAt = T0 };
            tasks.Add(task.WithSortKey());
            var m = Sent(campaign, v, id, CampaignChannel.Call, T0);
            m.TaskId = task.Id;
            messages.Add(m);
        }
        await using (var db = await Db.CreateDbContextAsync())
        {
            db.Tasks.AddRange(tasks);
            await db.SaveChangesAsync();
        }
        await SaveAsync(campaign, messages);

        using var client = agent.Client();
        var list = (await client.GetJsonAsync("/api/v1/call-list")).EnumerateArray().ToList();
        Assert.Equal(3, list.Count);
        var first = list.Single(x => x.GetProperty("messageId").GetGuid() == messages[0].Id);
        var name = (await client.GetJsonAsync($"/api/v1/customers/{ids[0]}", HttpStatusCode.OK)).Str("firstName");
        Assert.Equal($"Hello {name}, about {campaign.Name}", first.Str("script"));
        Assert.StartsWith("+380", first.Str("phone"));

        // Someone else's call: refused. The agent's own: allowed, though Support cannot see campaigns.
        using (var otherClient = other.Client())
            await otherClient.PostJsonAsync($"/api/v1/campaign-messages/{messages[0].Id}/responses", new { kind = "CallOutcome", outcome = "reached" }, HttpStatusCode.Forbidden);
        await client.GetJsonAsync($"/api/v1/campaigns/{campaign.Id}/results", HttpStatusCode.Forbidden);

        // No answer: not a response, the task stays open with the outcome noted.
        var noAnswer = await client.PostJsonAsync($"/api/v1/campaign-messages/{messages[0].Id}/responses", new { kind = "CallOutcome", outcome = "no_answer" }, HttpStatusCode.Created);
        Assert.False(noAnswer.GetProperty("taskCompleted").GetBoolean());
        Assert.Equal("Sent", noAnswer.GetProperty("message").Str("status"));
        list = (await client.GetJsonAsync("/api/v1/call-list")).EnumerateArray().ToList();
        Assert.Equal("no answer", list.Single(x => x.GetProperty("messageId").GetGuid() == messages[0].Id).Str("lastOutcome"));

        // Reached: responded, the task done, off the list.
        var reached = await client.PostJsonAsync($"/api/v1/campaign-messages/{messages[0].Id}/responses",
            new { kind = "CallOutcome", outcome = "reached", text = "Will visit the shop" }, HttpStatusCode.Created);
        Assert.True(reached.GetProperty("taskCompleted").GetBoolean());
        Assert.Equal("Responded", reached.GetProperty("message").Str("status"));
        // Not interested is negative feedback: a reason, and phone consent withdrawn.
        using (var noReason = await client.SendRawAsync(HttpMethod.Post, $"/api/v1/campaign-messages/{messages[1].Id}/responses", """{"kind":"CallOutcome","outcome":"not_interested"}"""))
            Assert.Contains("reason", (await noReason.ExpectValidationProblemAsync()).Keys);
        var refused = await client.PostJsonAsync($"/api/v1/campaign-messages/{messages[1].Id}/responses",
            new { kind = "CallOutcome", outcome = "not_interested", reason = "Has a supplier" }, HttpStatusCode.Created);
        Assert.True(refused.GetProperty("consentWithdrawn").GetBoolean());
        Assert.True(refused.GetProperty("taskCompleted").GetBoolean());
        list = (await client.GetJsonAsync("/api/v1/call-list")).EnumerateArray().ToList();
        Assert.Equal(messages[2].Id, Assert.Single(list).GetProperty("messageId").GetGuid());

        await using var check = await Db.CreateDbContextAsync();
        var done = await check.Tasks.AsNoTracking().SingleAsync(t => t.Id == tasks[1].Id);
        Assert.Equal(TaskItemStatus.Done, done.Status);
        Assert.Equal("not interested: Has a supplier", done.Outcome);
        var customer = await check.Customers.AsNoTracking().SingleAsync(c => c.Id == ids[1]);
        Assert.Contains(customer.Consents, c => c.Channel == ContactChannel.Phone && !c.Granted);
        var call = await check.Interactions.AsNoTracking().SingleAsync(i => i.Id == reached.GetProperty("interactionId").GetGuid());
        Assert.Equal(Kolo.Core.Timeline.InteractionType.Call, call.Type);
        Assert.Equal(agent.Id, call.UserId);
        Assert.Equal("reached", call.Outcome);

        // A completed campaign's calls are still to be made; a cancelled campaign's leave the list.
        await check.Campaigns.Where(c => c.Id == campaign.Id).ExecuteUpdateAsync(s => s.SetProperty(c => c.Status, CampaignStatus.Completed));
        Assert.Single((await client.GetJsonAsync("/api/v1/call-list")).EnumerateArray());
        await check.Campaigns.Where(c => c.Id == campaign.Id).ExecuteUpdateAsync(s => s.SetProperty(c => c.Status, CampaignStatus.Cancelled));
        Assert.Empty((await client.GetJsonAsync("/api/v1/call-list")).EnumerateArray());
    }

    [Fact]
    public async Task Message_list_filters_searches_and_pages()
    {
        var ids = await CustomersAsync(5);
        var campaign = NewCampaign("List " + Unique.Word(6));
        var va = new CampaignVariant { CampaignId = campaign.Id, Name = "A", SortOrder = 0, EmailBody = "x" };
        var vb = new CampaignVariant { CampaignId = campaign.Id, Name = "B", SortOrder = 1, SmsText = "x" };
        campaign.Variants = [va, vb];
        await SaveAsync(campaign,
        [
            Sent(campaign, va, ids[0], CampaignChannel.Email, T0), Sent(campaign, va, ids[1], CampaignChannel.Email, T0),
            Sent(campaign, vb, ids[2], CampaignChannel.Sms, T0), Suppressed(campaign, vb, ids[3], SuppressionReason.ControlGroup, T0),
            Suppressed(campaign, va, ids[4], SuppressionReason.PressureCap, T0),
        ]);
        using var admin = Fx.Admin();
        var url = $"/api/v1/campaigns/{campaign.Id}/messages";
        var seen = new List<Guid>();
        string? cursor = null;
        do
        {
            var page = await admin.GetJsonAsync(url + "?limit=2" + (cursor is null ? "" : "&cursor=" + cursor));
            seen.AddRange(page.Items().Select(i => i.GetProperty("customerId").GetGuid()));
            cursor = page.GetProperty("nextCursor").GetString();
        } while (cursor is not null);
        Assert.Equal(ids.Order().ToList(), seen.Order().ToList());
        Assert.Equal(5, seen.Distinct().Count());

        Assert.Equal(2, (await admin.GetJsonAsync(url + "?status=Suppressed")).Items().Count());
        var control = Assert.Single((await admin.GetJsonAsync(url + "?reason=control_group")).Items());
        Assert.Equal("control_group", control.Str("reason"));
        Assert.Equal(ids[3], control.GetProperty("customerId").GetGuid());
        Assert.Equal(2, (await admin.GetJsonAsync(url + $"?variantId={vb.Id}")).Items().Count());
        Assert.Equal("B", (await admin.GetJsonAsync(url + "?channel=Sms")).Items().Single().Str("variantName"));
        var name = (await admin.GetJsonAsync($"/api/v1/customers/{ids[1]}")).Str("lastName");
        Assert.Equal(ids[1], Assert.Single((await admin.GetJsonAsync(url + "?q=" + name.ToLowerInvariant())).Items()).GetProperty("customerId").GetGuid());
        using (var bad = await admin.GetAsync(url + "?reason=bored"))
            Assert.Contains("reason", (await bad.ExpectValidationProblemAsync()).Keys);
        await admin.GetJsonAsync($"/api/v1/campaigns/{Guid.NewGuid()}/messages", HttpStatusCode.NotFound);
        await admin.GetJsonAsync($"/api/v1/campaigns/{Guid.NewGuid()}/results", HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("Sales", HttpStatusCode.Forbidden)]
    [InlineData("Support", HttpStatusCode.Forbidden)]
    [InlineData("Marketing", HttpStatusCode.OK)]
    [InlineData("Manager", HttpStatusCode.OK)]
    public async Task Results_and_messages_are_for_marketing_roles(string role, HttpStatusCode expected)
    {
        var ids = await CustomersAsync(1);
        var (campaign, v) = OneVariantCampaign("Roles " + Unique.Word(6));
        var sent = Sent(campaign, v, ids[0], CampaignChannel.Email, T0);
        await SaveAsync(campaign, [sent]);
        var user = await Fx.CreateUserAsync(role, "All");
        using var client = user.Client();
        await client.GetJsonAsync($"/api/v1/campaigns/{campaign.Id}/results", expected);
        await client.GetJsonAsync($"/api/v1/campaigns/{campaign.Id}/messages", expected);
        await client.PostJsonAsync($"/api/v1/campaign-messages/{sent.Id}/responses", new { kind = "Reply" },
            expected == HttpStatusCode.OK ? HttpStatusCode.Created : HttpStatusCode.Forbidden);
        using var anonymous = Fx.Anonymous();
        using var response = await anonymous.GetAsync($"/api/v1/campaigns/{campaign.Id}/results");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}

[Collection("marketing-sqlite")]
public sealed class SqliteResultsApiTests(SqliteFixture fx) : ResultsApiTests(fx);

[Collection("marketing-postgres")]
public sealed class PostgresResultsApiTests(PostgresFixture fx) : ResultsApiTests(fx);
