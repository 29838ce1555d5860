using Kolo.Core.Catalog;
using Kolo.Core.Data;
using Kolo.Core.Marketing;
using Kolo.Core.Orders;
using Kolo.Core.Tasks;
using Microsoft.EntityFrameworkCore;
using Xunit.Abstractions;

namespace Kolo.E2E;

/// <summary>
/// Campaign results and responses in the browser: the results page shows the funnel and ROI of a campaign whose messages
/// and orders the test wrote, an agent records a call outcome on the call list, and marketing records a reply from the
/// messages tab. The campaign is seeded in the server's database: these scenarios are about reading results, not sending.
/// </summary>
public sealed class ResultsTests(KoloFixture kolo, ITestOutputHelper output) : UiTest(kolo, output)
{
    private sealed record Seeded(Guid CampaignId, Guid CallMessageId, string CallCustomer, Guid ReplyMessageId, string ReplyCustomer);

    private KoloDb Db() => new(new DbContextOptionsBuilder<KoloDb>()
        .UseSqlite($"Data Source={Path.Combine(Kolo.Server.DataDir, "kolo.db")};Default Timeout=30").Options);

    /// <summary>
    /// Variant "E-mail" sent to two customers (one buys one unit at 1,000.00 costing 600.00: margin 400.00) with one held out;
    /// variant "Call" called one customer (the admin's call task) with one held out. Fixed cost 10.00, e-mail 1.00, call 5.00:
    /// cost 10 + 2 × 1 + 5 = 17.00; the control group bought nothing, so incremental margin is 400.00 and
    /// ROI = (400 − 17) / 17 = 22.529 → "2252.9 %". Funnel: 5 targeted, 2 held out, 3 sent, 1 converted.
    /// </summary>
    private async Task<Seeded> SeedAsync()
    {
        var suffix = UniqueSuffix();
        var names = new[] { "Emma", "Ella", "Erik", "Carl", "Cora" }.Select(n => $"{n} Res{suffix}").ToArray();
        var ids = new List<Guid>();
        foreach (var (n, i) in names.Select((n, i) => (n, i)))
            ids.Add(await Kolo.CreatePersonAsync(n.Split(' ')[0], n.Split(' ')[1], $"res-{suffix}-{i}@example.com", UniquePhone()));
        var me = await Kolo.GetAsync("/api/v1/me");
        var adminId = me.GetProperty("userId").GetGuid();
        var t0 = DateTime.UtcNow.AddDays(-3);

        await using var db = Db();
        var product = new Product { Sku = "RES-" + suffix.ToUpperInvariant(), Name = "Results product " + suffix, ListPriceMinor = 100_000, UnitCostMinor = 60_000, CreatedAt = t0, UpdatedAt = t0 };
        db.Products.Add(product);
        var campaign = new Campaign
        {
            Name = "Spring results " + suffix, Status = CampaignStatus.Running, StartsAt = t0, Currency = "UAH", FixedCostMinor = 1_000, EmailCostMinor = 100,
            CallCostMinor = 500, Channels = [CampaignChannel.Email, CampaignChannel.Call], ControlGroupPercent = 40, AttributionDays = 14, CreatedAt = t0, UpdatedAt = t0,
            LaunchedAt = t0, EndsAt = DateTime.UtcNow.AddDays(30),
        };
        var email = new CampaignVariant { CampaignId = campaign.Id, Name = "E-mail", SortOrder = 0, EmailSubject = "Spring", EmailBody = "<p>Spring</p>" };
        var call = new CampaignVariant { CampaignId = campaign.Id, Name = "Call", SortOrder = 1, CallScript = "Good day {{ customer.first_name }}! Our spring offer is here." };
        campaign.Variants = [email, call];
        db.Campaigns.Add(campaign);
        CampaignMessage Sent(CampaignVariant v, Guid customer, CampaignChannel channel) => new()
        {
            CampaignId = campaign.Id, VariantId = v.Id, CustomerId = customer, Channel = channel, Status = MessageStatus.Delivered, PlannedAt = t0, SentAt = t0,
            DeliveredAt = t0, CreatedAt = t0, Attempts = 1,
        };
        CampaignMessage Held(CampaignVariant v, Guid customer) => new()
        {
            CampaignId = campaign.Id, VariantId = v.Id, CustomerId = customer, Status = MessageStatus.Suppressed, Reason = SuppressionReason.ControlGroup, PlannedAt = t0, CreatedAt = t0,
        };
        var bought = Sent(email, ids[0], CampaignChannel.Email);
        var reply = Sent(email, ids[1], CampaignChannel.Email);
        var called = Sent(call, ids[3], CampaignChannel.Call);
        var task = new TaskItem { Title = "Call: " + campaign.Name, AssigneeId = adminId, CustomerId = ids[3], RelatedType = "campaign", RelatedId = campaign.Id, CreatedAt = t0, UpdatedAt = t0 };
        db.Tasks.Add(task.WithSortKey());
        called.TaskId = task.Id;
        db.CampaignMessages.AddRange(bought, reply, Held(email, ids[2]), called, Held(call, ids[4]));
        var order = new Order
        {
            Number = "RES-" + suffix.ToUpperInvariant(), CustomerId = ids[0], Status = OrderStatus.Delivered, Currency = "UAH", OrderedAt = t0.AddDays(1),
            SubtotalMinor = 100_000, TotalMinor = 100_000, CreatedAt = t0, UpdatedAt = t0,
        };
        order.Lines.Add(new OrderLine { OrderId = order.Id, LineNo = 1, ProductId = product.Id, Sku = product.Sku, Description = product.Name, Quantity = 1, UnitPriceMinor = 100_000, LineTotalMinor = 100_000 });
        db.Orders.Add(order);
        await db.SaveChangesAsync();
        return new Seeded(campaign.Id, called.Id, names[3], reply.Id, names[1]);
    }

    [Fact]
    public Task The_results_page_shows_the_funnel_and_roi_and_responses_are_recorded() => InBrowserAsync(async page =>
    {
        var s = await SeedAsync();
        await SignInAsync(page);
        await GoToAsync(page, $"/campaigns/{s.CampaignId}/results");

        await Expect(page.Locator("#res-sent")).ToHaveTextAsync("3");
        await Expect(page.Locator("#res-converted")).ToHaveTextAsync("1");
        await Expect(page.Locator("#res-cost")).ToContainTextAsync("17.00");
        await Expect(page.Locator("#res-incremental-margin")).ToContainTextAsync("400.00");
        await Expect(page.Locator("#res-roi")).ToHaveTextAsync("2252.9 %");
        var funnel = page.Locator("#res-funnel");
        await Expect(funnel.Locator("[data-stage=targeted] .res-count")).ToHaveTextAsync("5");
        await Expect(funnel.Locator("[data-stage=suppressed] .res-count")).ToHaveTextAsync("2");
        await Expect(funnel.Locator("[data-stage=converted] .res-count")).ToHaveTextAsync("1");
        await Expect(page.Locator("#res-suppressed")).ToContainTextAsync("Control group: 2");
        // The e-mail variant carries 10.00 × 2/3 = 6.67 of the fixed cost plus 2 × 1.00: 8.67, and all of the margin.
        var emailRow = page.Locator("#res-variants tr").Filter(new() { HasText = "E-mail" });
        await Expect(emailRow).ToContainTextAsync("8.67");
        await Expect(emailRow.Locator(".res-roi")).ToHaveTextAsync("4513.6 %");
        await Expect(page.Locator("svg").First).ToBeVisibleAsync();

        // Marketing records a reply from the messages tab.
        await page.GetByRole(AriaRole.Tab, new() { Name = "Messages" }).ClickAsync();
        var row = page.Locator("#res-messages tr").Filter(new() { HasText = s.ReplyCustomer });
        await row.GetByRole(AriaRole.Button, new() { Name = "Record response" }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog);
        await dialog.GetByLabel("Notes").FillAsync("Asked for the price list");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Expect(dialog).ToBeHiddenAsync();
        await Expect(row).ToContainTextAsync("Responded");
        var replied = await Kolo.GetAsync($"/api/v1/campaign-messages/{s.ReplyMessageId}");
        Assert.Equal("Responded", replied.GetProperty("status").GetString());

        // The agent (here the admin) sees the call with its personalised script and records the outcome.
        await GoToAsync(page, "/calls");
        var card = page.Locator($".call-card[data-message='{s.CallMessageId}']");
        await Expect(card).ToContainTextAsync(s.CallCustomer);
        await Expect(card.Locator(".call-script")).ToHaveTextAsync("Good day Carl! Our spring offer is here.");
        await card.GetByText("Reached", new() { Exact = true }).ClickAsync();
        await card.GetByLabel("Notes").FillAsync("Will come to the shop on Friday");
        await card.GetByRole(AriaRole.Button, new() { Name = "Save outcome" }).ClickAsync();
        await Expect(card).ToHaveCountAsync(0);
        var message = await Kolo.GetAsync($"/api/v1/campaign-messages/{s.CallMessageId}");
        Assert.Equal("Responded", message.GetProperty("status").GetString());

        // Back on the results, the responses are in the funnel.
        await GoToAsync(page, $"/campaigns/{s.CampaignId}/results");
        await Expect(page.Locator("#res-funnel [data-stage=responded] .res-count")).ToHaveTextAsync("2");
    });
}
