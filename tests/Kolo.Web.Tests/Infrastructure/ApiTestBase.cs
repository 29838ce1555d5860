using System.Net;
using System.Text.Json;

namespace Kolo.Web.Tests.Infrastructure;

/// <summary>What every API test class needs: the fixture's clients and a way to create customers.</summary>
public abstract class ApiTestBase(KoloAppFixture fixture)
{
    protected KoloAppFixture Fx { get; } = fixture;

    /// <summary>A person with unique names, e-mail and phone, so no other test's customer looks like a duplicate.</summary>
    protected static Dictionary<string, object?> Person(string? firstName = null, string? lastName = null) => new()
    {
        ["kind"] = "Person",
        ["firstName"] = firstName ?? Unique.Name(),
        ["lastName"] = lastName ?? Unique.Name(),
        ["emails"] = new[] { new { address = Unique.Email(), label = "work" } },
        ["phones"] = new[] { new { number = Unique.Phone(), label = "mobile" } },
    };

    protected async Task<JsonElement> CreateAsync(Dictionary<string, object?> body, HttpClient? client = null, bool allowDuplicate = false)
    {
        using var admin = client is null ? Fx.Admin() : null;
        var url = allowDuplicate ? "/api/v1/customers?allowDuplicate=true" : "/api/v1/customers";
        return await (client ?? admin!).PostJsonAsync(url, body, HttpStatusCode.Created);
    }

    protected async Task<(JsonElement Customer, string ETag)> GetWithETagAsync(HttpClient client, Guid id)
    {
        using var response = await client.GetAsync($"/api/v1/customers/{id}");
        var body = await response.ExpectAsync(HttpStatusCode.OK);
        return (body, response.ETag());
    }

    protected static List<Guid> Ids(JsonElement page) => page.Items().Select(i => i.Id()).ToList();
}
