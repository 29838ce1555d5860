using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Kolo.Core.Analytics;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Marketing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Kolo.Web.Tests.Infrastructure;

/// <summary>
/// Campaign test helpers: customers, static segments and other campaigns' messages written straight into the database
/// (hundreds of customers in one step), campaigns through the API, and launches run by the job runner itself so a test
/// decides when they happen.
/// </summary>
public abstract class CampaignTestBase(KoloAppFixture fx) : ApiTestBase(fx)
{
    protected KoloDb Db() => Fx.Factory.Services.GetRequiredService<IDbContextFactory<KoloDb>>().CreateDbContext();

    /// <summary>A day well in the future at a whole hour (UTC), so planned messages are not due while a test runs.</summary>
    protected static DateTime FutureDay(int days, int hour = 12) => DateTime.UtcNow.Date.AddDays(days).AddHours(hour);

    /// <summary>Customers with an e-mail, a phone and e-mail/SMS/phone consent, each changed by <paramref name="shape"/>.</summary>
    protected async Task<List<Guid>> SeedCustomersAsync(int count, Action<int, Customer>? shape = null)
    {
        await using var db = Db();
        var now = DateTime.UtcNow;
        var customers = new List<Customer>();
        for (var i = 0; i < count; i++)
        {
            var c = new Customer
            {
                Kind = CustomerKind.Person, FirstName = "Olena" + i, LastName = Unique.Name(), Status = LifecycleStatus.Customer,
                Emails = [new EmailAddress { Address = Unique.Email() }],
                Phones = [new PhoneNumber { Number = "+38067" + Unique.SubscriberDigits() }],
                Consents =
                [
                    new ChannelConsent { Channel = ContactChannel.Email, Granted = true, At = now, Source = "test" },
                    new ChannelConsent { Channel = ContactChannel.Sms, Granted = true, At = now, Source = "test" },
                    new ChannelConsent { Channel = ContactChannel.Phone, Granted = true, At = now, Source = "test" },
                ],
                CreatedAt = now, UpdatedAt = now,
            };
            shape?.Invoke(i, c);
            c.RefreshDerivedFields();
            customers.Add(c);
        }
        db.Customers.AddRange(customers);
        // Their search terms, as the customer API writes them: the audience finds addresses shared by records through them.
        var terms = new CustomerService(null!, TimeProvider.System, new PhoneNormalizer(), []);
        foreach (var c in customers) db.CustomerSearchTerms.AddRange(terms.BuildSearchTerms(c));
        await db.SaveChangesAsync();
        return customers.Select(c => c.Id).ToList();
    }

    protected async Task SetClvAsync(Guid customerId, long clvMinor)
    {
        await using var db = Db();
        db.CustomerScores.Add(new CustomerScore { CustomerId = customerId, AsOf = DateTime.UtcNow, ClvMinor = clvMinor });
        await db.SaveChangesAsync();
    }

    /// <summary>A static segment of exactly these customers (segment rules are another area's; a list keeps counts exact).</summary>
    protected async Task<Guid> StaticSegmentAsync(IEnumerable<Guid> customerIds)
    {
        await using var db = Db();
        var now = DateTime.UtcNow;
        var segment = new Segment { Name = "List " + Unique.Word(8), Kind = SegmentKind.Static, CreatedAt = now, UpdatedAt = now };
        db.Segments.Add(segment);
        foreach (var id in customerIds.Distinct()) db.SegmentMembers.Add(new SegmentMember { SegmentId = segment.Id, CustomerId = id, AddedAt = now });
        await db.SaveChangesAsync();
        return segment.Id;
    }

    protected static Dictionary<string, object?> Variant(string name, string audience = "All", Guid? segmentId = null) => new()
    {
        ["name"] = name, ["audience"] = audience, ["segmentId"] = segmentId,
        ["emailSubject"] = "Hello {{ customer.first_name }}", ["emailBody"] = "<p>Dear {{ customer.name }}, " + name + ".</p>",
        ["smsText"] = "Hi {{ customer.first_name }}: " + name, ["callScript"] = "Call {{ customer.name }} about " + name,
        ["webMessage"] = "Welcome back, {{ customer.first_name }}",
    };

    protected static Dictionary<string, object?> CampaignBody(Guid segmentId, string[]? channels = null, int priority = 50, DateTime? startsAt = null,
        int controlGroupPercent = 0, params Dictionary<string, object?>[] variants) => new()
    {
        ["name"] = "Campaign " + Unique.Word(8),
        ["goal"] = "Test",
        ["priority"] = priority,
        ["startsAt"] = startsAt ?? FutureDay(3),
        ["currency"] = "UAH",
        ["segmentIds"] = new[] { segmentId },
        ["channels"] = channels ?? ["Email"],
        ["controlGroupPercent"] = controlGroupPercent,
        ["attributionDays"] = 14,
        ["variants"] = variants.Length > 0 ? variants : [Variant("Everyone")],
    };

    protected async Task<JsonElement> CreateApprovedAsync(Dictionary<string, object?> body)
    {
        using var admin = Fx.Admin();
        var created = await admin.PostJsonAsync("/api/v1/campaigns", body, HttpStatusCode.Created);
        await admin.PostJsonAsync($"/api/v1/campaigns/{created.Id()}/submit", new { }, HttpStatusCode.OK);
        return await admin.PostJsonAsync($"/api/v1/campaigns/{created.Id()}/approve", new { note = "ok" }, HttpStatusCode.OK);
    }

    /// <summary>Queues the launch through the API and runs it with the job runner here (the start is in the future, so the worker leaves it).</summary>
    protected async Task<JsonElement> LaunchHereAsync(Guid campaignId)
    {
        using var admin = Fx.Admin();
        var job = await admin.PostJsonAsync($"/api/v1/campaigns/{campaignId}/launch", new { }, HttpStatusCode.Accepted);
        await RunJobHereAsync(job.Id());
        var done = await admin.GetJsonAsync($"/api/v1/campaigns/{campaignId}/jobs/{job.Id()}");
        Assert.True(done.Str("status") == "Succeeded", done.ToString());
        return done.GetProperty("result");
    }

    protected async Task RunJobHereAsync(Guid jobId)
    {
        CampaignJob job;
        await using (var db = Db()) job = await db.CampaignJobs.AsNoTracking().FirstAsync(j => j.Id == jobId);
        await Fx.Factory.Services.GetRequiredService<CampaignJobRunner>().RunAsync(job);
    }

    /// <summary>An audience preview through the API, run by the worker; waits for its result.</summary>
    protected async Task<JsonElement> PreviewAudienceAsync(Guid campaignId, HttpClient? client = null)
    {
        using var admin = client is null ? Fx.Admin() : null;
        var http = client ?? admin!;
        var job = await http.PostJsonAsync($"/api/v1/campaigns/{campaignId}/preview-audience", new { }, HttpStatusCode.Accepted);
        return await WaitForJobAsync(http, campaignId, job.Id());
    }

    protected static async Task<JsonElement> WaitForJobAsync(HttpClient http, Guid campaignId, Guid jobId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var job = await http.GetJsonAsync($"/api/v1/campaigns/{campaignId}/jobs/{jobId}");
            var status = job.Str("status");
            if (status == "Succeeded") return job.GetProperty("result");
            Assert.True(status != "Failed", job.ToString());
            Assert.True(DateTime.UtcNow < deadline, "The job did not finish: " + job);
            await Task.Delay(100);
        }
    }

    protected async Task SetPolicyAsync(int periodDays = 7, int maxTotal = 3, int? maxEmail = 2, int? maxSms = 1, int? maxCall = 1, int? maxWeb = null,
        string? quietStart = null, string? quietEnd = null, string timeZone = "Europe/Kyiv")
    {
        using var admin = Fx.Admin();
        using var get = await admin.GetAsync("/api/v1/contact-policy");
        await get.ExpectAsync(HttpStatusCode.OK);
        using var put = await admin.SendRawAsync(HttpMethod.Put, "/api/v1/contact-policy", JsonSerializer.Serialize(new
        {
            periodDays, maxTotal, maxEmail, maxSms, maxCall, maxWeb, quietHoursStart = quietStart, quietHoursEnd = quietEnd, timeZone,
        }, Api.Json), get.ETag());
        await put.ExpectAsync(HttpStatusCode.OK);
    }

    protected async Task<List<CampaignMessage>> MessagesAsync(Guid campaignId)
    {
        await using var db = Db();
        return await db.CampaignMessages.AsNoTracking().Where(m => m.CampaignId == campaignId).ToListAsync();
    }

    protected static int Count(JsonElement summary, string reason) =>
        summary.GetProperty("suppressedByReason").TryGetProperty(reason, out var n) ? n.GetInt32() : 0;

    protected static async Task<HttpResponseMessage> PostAsync(HttpClient client, string url, object body) => await client.PostAsJsonAsync(url, body, Api.Json);
}
