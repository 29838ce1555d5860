using System.Net;
using System.Text.Json;
using Kolo.Web.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Kolo.Web.Tests;

/// <summary>/api/v1/leads: prospects, and qualification that makes the customer (when needed) and the deal in one step.</summary>
public abstract class LeadApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    private static Task<HttpResponseMessage> QualifyAsync(HttpClient client, Guid leadId, object body) =>
        client.SendRawAsync(HttpMethod.Post, $"/api/v1/leads/{leadId}/qualify", JsonSerializer.Serialize(body, Api.Json));

    private static object DealPart(TestPipeline p, decimal? amount, string? name = null) =>
        new { name = name ?? "Lead deal " + Unique.Word(5), currency = "UAH", amount, pipelineId = p.Id, expectedCloseDate = "2027-03-31" };

    private static async Task<List<Guid>> CustomersWithAsync(HttpClient admin, string email) =>
        Ids(await admin.GetJsonAsync($"/api/v1/customers?q={Uri.EscapeDataString(email)}"));

    [Fact]
    public async Task Qualifying_a_lead_creates_its_customer_and_deal_in_one_step()
    {
        using var admin = Fx.Admin();
        var p = await admin.CreatePipelineAsync();
        var rep = await Fx.CreateUserAsync("Sales");
        using var client = rep.Client();
        var (first, last, email, phone) = (Unique.Name(), Unique.Name(), Unique.Email(), Unique.Phone());
        var lead = await client.PostJsonAsync("/api/v1/leads",
            new { firstName = first, lastName = last, email = email.ToUpperInvariant(), phone, source = "Expo 2026", notes = "Met at the stand" }, HttpStatusCode.Created);
        Assert.Equal(("New", rep.Id, email), (lead.Str("status"), lead.GetProperty("ownerId").GetGuid(), lead.Str("email")));
        Assert.Empty(await CustomersWithAsync(admin, email));

        using var response = await QualifyAsync(client, lead.Id(), new { deal = DealPart(p, 12_000, "Fleet tracking") });
        var result = await response.ExpectAsync(HttpStatusCode.OK);
        var customerId = result.GetProperty("customerId").GetGuid();
        var deal = result.GetProperty("deal");

        Assert.Equal([customerId], await CustomersWithAsync(admin, email));
        var customer = await client.GetJsonAsync($"/api/v1/customers/{customerId}");
        Assert.Equal((first, last, rep.Id), (customer.Str("firstName"), customer.Str("lastName"), customer.GetProperty("ownerId").GetGuid()));
        Assert.Equal(("Expo 2026", "Lead"), (customer.Str("source"), customer.Str("status")));
        Assert.Equal([email], customer.GetProperty("emails").EnumerateArray().Select(e => e.Str("address")));
        Assert.Single(customer.GetProperty("phones").EnumerateArray());

        var stored = (await client.GetDealAsync(deal.Id())).Deal;
        Assert.Equal(("Fleet tracking", customerId, lead.Id()), (stored.Str("name"), stored.GetProperty("customerId").GetGuid(), stored.GetProperty("leadId").GetGuid()));
        Assert.Equal((12_000m, "A", rep.Id), (stored.Dec("amount"), stored.Str("stageName"), stored.GetProperty("ownerId").GetGuid()));
        Assert.Equal("Expo 2026", stored.Str("sourceCampaign"));              // the lead's source, as the deal's campaign

        var qualified = await client.GetJsonAsync($"/api/v1/leads/{lead.Id()}");
        Assert.Equal(("Qualified", customerId, deal.Id()), (qualified.Str("status"), qualified.GetProperty("customerId").GetGuid(), qualified.GetProperty("dealId").GetGuid()));
        Assert.Equal([deal.Id()], Ids(await client.GetJsonAsync($"/api/v1/deals?customerId={customerId}")));

        using var again = await QualifyAsync(client, lead.Id(), new { deal = DealPart(p, 1) });
        Assert.Contains("status", (await again.ExpectValidationProblemAsync()).Keys);
        Assert.Single(Ids(await client.GetJsonAsync($"/api/v1/deals?customerId={customerId}")));
    }

    [Fact]
    public async Task Qualifying_onto_an_existing_customer_creates_no_customer()
    {
        using var admin = Fx.Admin();
        var p = await admin.CreatePipelineAsync();
        var existing = (await CreateAsync(Person())).Id();
        var email = Unique.Email();
        var lead = await admin.PostJsonAsync("/api/v1/leads", new { companyName = "Acme " + Unique.Word(6), email, source = "Web form" }, HttpStatusCode.Created);

        using var response = await QualifyAsync(admin, lead.Id(), new { customerId = existing, deal = DealPart(p, 3_000) });
        var result = await response.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(existing, result.GetProperty("customerId").GetGuid());
        Assert.Equal(existing, result.GetProperty("deal").GetProperty("customerId").GetGuid());
        Assert.Equal(existing, (await admin.GetJsonAsync($"/api/v1/leads/{lead.Id()}")).GetProperty("customerId").GetGuid());
        Assert.Empty(await CustomersWithAsync(admin, email));
    }

    [Fact]
    public async Task A_company_lead_becomes_a_company_and_a_failed_qualification_leaves_nothing_behind()
    {
        using var admin = Fx.Admin();
        var p = await admin.CreatePipelineAsync();
        var company = "Globex " + Unique.Word(6);
        var email = Unique.Email();
        var lead = await admin.PostJsonAsync("/api/v1/leads", new { companyName = company, email }, HttpStatusCode.Created);

        // The deal is invalid (no amount, no lines): the customer made a moment before must not stay.
        using (var failed = await QualifyAsync(admin, lead.Id(), new { deal = DealPart(p, null) }))
        {
            var errors = await failed.ExpectValidationProblemAsync();
            Assert.True(errors.ContainsKey("amount") || errors.ContainsKey("deal.amount"), string.Join(", ", errors.Keys));
        }
        Assert.Empty(await CustomersWithAsync(admin, email));
        var still = await admin.GetJsonAsync($"/api/v1/leads/{lead.Id()}");
        Assert.Equal(("New", JsonValueKind.Null), (still.Str("status"), still.GetProperty("customerId").ValueKind));

        using var response = await QualifyAsync(admin, lead.Id(), new { deal = DealPart(p, 700) });
        var customer = await admin.GetJsonAsync($"/api/v1/customers/{(await response.ExpectAsync(HttpStatusCode.OK)).GetProperty("customerId").GetGuid()}");
        Assert.Equal(("Company", company), (customer.Str("kind"), customer.Str("companyName")));
    }

    [Fact]
    public async Task Leads_are_validated_and_only_qualification_qualifies()
    {
        using var admin = Fx.Admin();
        async Task ExpectAsync(HttpMethod method, string url, object body, string field, string? ifMatch = null)
        {
            using var response = await admin.SendRawAsync(method, url, JsonSerializer.Serialize(body, Api.Json), ifMatch);
            Assert.Contains(field, (await response.ExpectValidationProblemAsync()).Keys);
        }
        await ExpectAsync(HttpMethod.Post, "/api/v1/leads", new { source = "Web" }, "lastName");
        await ExpectAsync(HttpMethod.Post, "/api/v1/leads", new { lastName = "Doe", email = "not-an-email" }, "email");
        await ExpectAsync(HttpMethod.Post, "/api/v1/leads", new { lastName = "Doe", status = "Disqualified" }, "disqualifyReason");
        await ExpectAsync(HttpMethod.Post, "/api/v1/leads", new { lastName = "Doe", status = "Qualified" }, "status");
        // The owner must be an active user: an unknown id or a deactivated user is refused.
        await ExpectAsync(HttpMethod.Post, "/api/v1/leads", new { lastName = "Doe", ownerId = Guid.NewGuid() }, "ownerId");
        var gone = await Fx.CreateUserAsync("Sales");
        await using (var db = await Fx.Factory.Services.GetRequiredService<IDbContextFactory<Kolo.Core.Data.KoloDb>>().CreateDbContextAsync())
        {
            var user = await db.Users.FindAsync(gone.Id);
            user!.DeactivatedAt = DateTime.UtcNow;
            await db.SaveChangesAsync();
        }
        await ExpectAsync(HttpMethod.Post, "/api/v1/leads", new { lastName = "Doe", ownerId = gone.Id }, "ownerId");

        var lead = await admin.PostJsonAsync("/api/v1/leads", new { lastName = Unique.Name() }, HttpStatusCode.Created);
        string etag;
        using (var get = await admin.GetAsync($"/api/v1/leads/{lead.Id()}")) etag = get.ETag();
        await ExpectAsync(HttpMethod.Put, $"/api/v1/leads/{lead.Id()}", new { lastName = lead.Str("lastName"), status = "Qualified" }, "status", etag);
        await ExpectAsync(HttpMethod.Put, $"/api/v1/leads/{lead.Id()}", new { lastName = lead.Str("lastName"), ownerId = gone.Id }, "ownerId", etag);
        using var disqualify = await admin.SendRawAsync(HttpMethod.Put, $"/api/v1/leads/{lead.Id()}",
            JsonSerializer.Serialize(new { lastName = lead.Str("lastName"), status = "Disqualified", disqualifyReason = "Student project" }, Api.Json), etag);
        var done = await disqualify.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(("Disqualified", "Student project"), (done.Str("status"), done.Str("disqualifyReason")));
    }
}

[Collection("sqlite")]
public sealed class SqliteLeadApiTests(SqliteFixture fx) : LeadApiTests(fx);

[Collection("postgres")]
public sealed class PostgresLeadApiTests(PostgresFixture fx) : LeadApiTests(fx);
