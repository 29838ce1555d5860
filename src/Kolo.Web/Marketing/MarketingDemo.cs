using Kolo.Core.Catalog;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Marketing;
using Kolo.Core.Orders;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Web.Marketing;

/// <summary>
/// Demo marketing: segments to start from, a finished campaign whose results page has figures (sent six weeks ago, with
/// a control group and orders after it) and a draft campaign that uses the next-best offers in its e-mail.
/// </summary>
internal static class MarketingDemo
{
    private const string CustomerEmail = """
        <p>Dear {{ customer.first_name }},</p>
        <p>Thank you for shopping with us. This week only, our sofas are 15% off.</p>
        {% if offers.size > 0 %}<p>Picked for you: <strong>{{ offers[0].name }}</strong> — {{ offers[0].reason }}.</p>{% endif %}
        <p><a href="https://shop.example.com/sofas">See the sofas</a></p>
        <p><small><a href="{{ unsubscribe_url }}">Unsubscribe</a></small></p>
        """;

    private const string ProspectEmail = """
        <p>Hello {{ customer.first_name }},</p>
        <p>Visit our showroom during sofa week and take 10% off your first order.</p>
        <p><a href="https://shop.example.com/showroom">Book a visit</a></p>
        <p><small><a href="{{ unsubscribe_url }}">Unsubscribe</a></small></p>
        """;

    public static async Task SeedAsync(IDbContextFactory<KoloDb> factory, Guid marketingUserId, Guid managerId, DateTime now)
    {
        await using var db = await factory.CreateDbContextAsync();
        var random = new Random(909);
        var customers = await db.Customers.AsNoTracking().Where(c => c.ArchivedAt == null).OrderBy(c => c.SortName).ThenBy(c => c.Id).ToListAsync();

        Segment Rule(string name, string description, params SegmentCondition[] conditions) => new()
        {
            Name = name, Description = description, Kind = SegmentKind.Rules, CreatedById = marketingUserId, CreatedAt = now, UpdatedAt = now,
            Definition = new SegmentDefinition { Conditions = [.. conditions] },
        };
        var buyers = Rule("Customers", "Everyone who has bought from us (lifecycle Customer).",
            new SegmentCondition { Field = "status", Operator = "in", Values = ["Customer"] });
        var prospects = Rule("Prospects and leads", "People who have not bought yet.",
            new SegmentCondition { Field = "status", Operator = "in", Values = ["Prospect", "Lead"] });
        var champions = Rule("Champions and loyal", "The best customers by RFM.",
            new SegmentCondition { Field = "rfmSegment", Operator = "in", Values = ["Champions", "Loyal"] });
        var showroom = new Segment
        {
            Name = "Showroom visitors", Description = "A static list: visitors of the spring open day.", Kind = SegmentKind.Static,
            CreatedById = marketingUserId, CreatedAt = now, UpdatedAt = now,
        };
        db.Segments.AddRange(buyers, prospects, champions, showroom);
        db.SegmentMembers.AddRange(customers.Where((_, i) => i % 9 == 0).Select(c => new SegmentMember { SegmentId = showroom.Id, CustomerId = c.Id, AddedAt = now }));

        var sentAt = now.Date.AddDays(-42).AddHours(10);
        var sofaWeek = new Campaign
        {
            Name = "Sofa week", Goal = "Sell sofas to existing customers, bring prospects to the showroom", Status = CampaignStatus.Completed,
            Priority = 70, StartsAt = sentAt, EndsAt = sentAt.AddDays(7), Currency = "UAH", BudgetMinor = 10_000_000, FixedCostMinor = 6_000_000,
            EmailCostMinor = 50, SmsCostMinor = 120, SegmentIds = [buyers.Id, prospects.Id], Channels = [CampaignChannel.Email, CampaignChannel.Sms],
            ControlGroupPercent = 10, AttributionDays = 14, AudienceSeed = 909, CreatedById = marketingUserId, CreatedAt = sentAt.AddDays(-5),
            UpdatedAt = sentAt, SubmittedById = marketingUserId, SubmittedAt = sentAt.AddDays(-3), ApprovedById = managerId,
            ApprovedAt = sentAt.AddDays(-2), LaunchedAt = sentAt, CompletedAt = sentAt.AddHours(1),
        };
        var toCustomers = new CampaignVariant
        {
            CampaignId = sofaWeek.Id, Name = "Customers: 15% off sofas", Audience = VariantAudience.Customers, SortOrder = 0,
            EmailSubject = "{{ customer.first_name }}, sofa week: 15% off", EmailBody = CustomerEmail,
            SmsText = "{{ customer.first_name }}, sofa week: 15% off all sofas until Sunday. Stop: {{ unsubscribe_url }}",
        };
        var toProspects = new CampaignVariant
        {
            CampaignId = sofaWeek.Id, Name = "Prospects: showroom visit", Audience = VariantAudience.Prospects, SortOrder = 1,
            EmailSubject = "Sofa week at our showroom", EmailBody = ProspectEmail,
            SmsText = "Sofa week at our showroom: 10% off your first order. Stop: {{ unsubscribe_url }}",
        };
        sofaWeek.Variants.AddRange([toCustomers, toProspects]);
        db.Campaigns.Add(sofaWeek);

        var products = await db.Products.AsNoTracking().ToDictionaryAsync(p => p.Sku);
        var records = new List<object>();
        var orderNo = 0;
        foreach (var c in customers)
        {
            var variant = c.Status is LifecycleStatus.Customer or LifecycleStatus.Lapsed ? toCustomers : toProspects;
            var message = new CampaignMessage
            {
                CampaignId = sofaWeek.Id, VariantId = variant.Id, CustomerId = c.Id, PlannedAt = sentAt, CreatedAt = sentAt,
            };
            var email = c.Emails.FirstOrDefault()?.Address;
            var emailConsent = c.Consents.FirstOrDefault(x => x.Channel == ContactChannel.Email);
            var smsConsent = c.Consents.FirstOrDefault(x => x.Channel == ContactChannel.Sms);
            var phone = c.Phones.FirstOrDefault()?.Number;
            (message.Channel, message.Address) = email is not null && emailConsent is { Granted: true } ? (CampaignChannel.Email, email)
                : phone is not null && smsConsent is { Granted: true } ? (CampaignChannel.Sms, phone) : ((CampaignChannel?)null, (string?)null);
            var treated = false;
            if (email is null && phone is null) (message.Status, message.Reason) = (MessageStatus.Suppressed, SuppressionReason.NoAddress);
            else if (message.Channel is null)
                (message.Status, message.Reason) = (MessageStatus.Suppressed, emailConsent is { Granted: false } ? SuppressionReason.Unsubscribed : SuppressionReason.NoConsent);
            else if (AudienceBuilder.Draw(909, c.Id) < 1000) (message.Status, message.Reason) = (MessageStatus.Suppressed, SuppressionReason.ControlGroup);
            else
            {
                treated = true;
                message.Status = MessageStatus.Delivered;
                message.SentAt = sentAt.AddMinutes(random.Next(30));
                message.DeliveredAt = message.SentAt.Value.AddMinutes(1);
                message.ProviderId = $"<{message.Id:N}@kolo.demo>";
                if (message.Channel == CampaignChannel.Email && random.NextDouble() < 0.45)
                {
                    message.Status = MessageStatus.Opened;
                    message.OpenedAt = message.SentAt.Value.AddHours(2 + random.Next(40));
                    if (random.NextDouble() < 0.35) (message.Status, message.ClickedAt) = (MessageStatus.Clicked, message.OpenedAt.Value.AddMinutes(3));
                }
            }
            records.Add(message);
            // Orders in the attribution window: more often after the message than in the control group.
            var contactable = message.Reason is null or SuppressionReason.ControlGroup;
            if (!contactable || random.NextDouble() >= (treated ? 0.22 : 0.08)) continue;
            var sku = random.Next(2) == 0 ? "SOF-210" : "RUG-330";
            var product = products[sku];
            var order = new Order
            {
                Number = $"SW-{++orderNo:D4}", CustomerId = c.Id, Status = OrderStatus.Delivered, Currency = "UAH", Channel = "web",
                PaymentMethod = "card", OrderedAt = sentAt.AddDays(1 + random.Next(12)).AddHours(random.Next(8)), CreatedAt = now, UpdatedAt = now,
            };
            order.ConfirmedAt = order.OrderedAt;
            order.DeliveredAt = order.OrderedAt.AddDays(3);
            order.PromisedDeliveryDate = DateOnly.FromDateTime(order.OrderedAt.AddDays(4));
            order.Lines.Add(new OrderLine
            {
                OrderId = order.Id, LineNo = 1, ProductId = product.Id, Sku = sku, Description = product.Name, Quantity = 1, UnitPriceMinor = product.ListPriceMinor,
            });
            OrderTotals.Apply(order);
            records.Add(order);
            records.AddRange(order.Lines);
        }

        var winBack = new Campaign
        {
            Name = "We miss you", Goal = "Bring back customers who have not bought for a while", Status = CampaignStatus.Draft, Priority = 40,
            StartsAt = now.Date.AddDays(7).AddHours(10), EndsAt = now.Date.AddDays(21), Currency = "UAH", BudgetMinor = 500_000,
            EmailCostMinor = 50, CallCostMinor = 2_500, SegmentIds = [buyers.Id], ExcludeSegmentIds = [champions.Id],
            Channels = [CampaignChannel.Email, CampaignChannel.Call], ControlGroupPercent = 10, AttributionDays = 21,
            CreatedById = marketingUserId, CreatedAt = now, UpdatedAt = now,
        };
        winBack.Variants.Add(new CampaignVariant
        {
            CampaignId = winBack.Id, Name = "Everyone", Audience = VariantAudience.All,
            EmailSubject = "{{ customer.first_name }}, something new for you", EmailBody = CustomerEmail,
            CallScript = "Greet {{ customer.name }}. Ask how the last purchase works for them. Offer {{ offers[0].name }} ({{ offers[0].reason }}).",
        });
        db.Campaigns.Add(winBack);
        await db.SaveChangesAsync();
        await using var tx = await db.Database.BeginTransactionAsync();
        await BulkInsert.WriteAsync(db, records);
        await tx.CommitAsync();
    }
}
