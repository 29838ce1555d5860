using System.Net;
using System.Text.Json;
using Kolo.Web.Tests.Infrastructure;

namespace Kolo.Web.Tests;

/// <summary>Search, filters, sorting and keyset paging of GET /api/v1/customers.</summary>
public abstract class CustomerListApiTests(KoloAppFixture fx) : ApiTestBase(fx)
{
    [Fact]
    public async Task Q_matches_name_words_by_prefix_in_any_order_and_ignores_case_and_accents()
    {
        using var admin = Fx.Admin();
        var last = Unique.Name(12);
        var first = "Zoë" + Unique.Word(6);
        var match = await CreateAsync(Person(first, last));
        var other = await CreateAsync(Person(null, Unique.Name(12)));

        foreach (var q in new[] { last[..6], last.ToUpperInvariant(), $"{last[..5]} {first[..4]}", $"{first[..3].Replace('ë', 'e')} {last}", "zoe" + first[3..] })
        {
            var ids = Ids(await admin.GetJsonAsync($"/api/v1/customers?q={Uri.EscapeDataString(q)}"));
            Assert.Contains(match.Id(), ids);
            Assert.DoesNotContain(other.Id(), ids);
        }
        // Every word must match: a second word that fits nobody finds nothing.
        Assert.Empty(Ids(await admin.GetJsonAsync($"/api/v1/customers?q={last[..6]}%20{Unique.Word(9)}")));
        // A word in the middle of a name is not a prefix.
        Assert.DoesNotContain(match.Id(), Ids(await admin.GetJsonAsync($"/api/v1/customers?q={last[2..]}")));
    }

    [Fact]
    public async Task Q_matches_email_by_prefix()
    {
        using var admin = Fx.Admin();
        var local = $"{Unique.Word(6)}.{Unique.Word(6)}";
        var body = Person();
        body["emails"] = new[] { new { address = $"{local}@Example.COM" } };
        var match = await CreateAsync(body);
        var other = await CreateAsync(Person());

        foreach (var q in new[] { local[..9], local, $"{local}@exa", $"{local.ToUpperInvariant()}@EXAMPLE.com" })
        {
            var ids = Ids(await admin.GetJsonAsync($"/api/v1/customers?q={Uri.EscapeDataString(q)}"));
            Assert.Equal([match.Id()], ids);
        }
        Assert.DoesNotContain(other.Id(), Ids(await admin.GetJsonAsync($"/api/v1/customers?q={Uri.EscapeDataString(local + "@other")}")));
    }

    [Fact]
    public async Task Q_of_only_punctuation_is_no_search_rather_than_an_error()
    {
        using var admin = Fx.Admin();
        await CreateAsync(Person());
        // What the search box holds after typing the first character of "+380…" or "-".
        foreach (var q in new[] { "+", "-", " ( ) " })
            Assert.NotEmpty(Ids(await admin.GetJsonAsync($"/api/v1/customers?q={Uri.EscapeDataString(q)}")));
    }

    [Fact]
    public async Task Q_matches_phones_by_digits_in_international_and_national_forms()
    {
        using var admin = Fx.Admin();
        var digits = Unique.SubscriberDigits();
        var body = Person();
        body["phones"] = new[] { new { number = $"+38050{digits}" } };
        var match = await CreateAsync(body);
        var other = await CreateAsync(Person());

        var queries = new[]
        {
            $"050 {digits[..3]}", $"+38050{digits[..3]}", $"050{digits}", $"(050) {digits[..3]}-{digits[3..5]}-{digits[5..]}",
            $"+380 50 {digits}", $"38050{digits[..4]}",
        };
        foreach (var q in queries)
        {
            var ids = Ids(await admin.GetJsonAsync($"/api/v1/customers?q={Uri.EscapeDataString(q)}&limit=500"));
            Assert.True(ids.Contains(match.Id()), $"'{q}' did not find +38050{digits}");
            Assert.DoesNotContain(other.Id(), ids);
        }
        Assert.DoesNotContain(match.Id(), Ids(await admin.GetJsonAsync($"/api/v1/customers?q={Uri.EscapeDataString("067 " + digits)}&limit=500")));
    }

    [Fact]
    public async Task Filters_by_status_tag_owner_city_and_created_dates()
    {
        using var admin = Fx.Admin();
        var tag = "t-" + Unique.Word(8);
        var city = Unique.Name(9) + "ville";
        var owner = await Fx.CreateUserAsync("Sales");

        var a = Person();
        a["tags"] = new[] { tag };
        a["status"] = "Lead";
        a["ownerId"] = owner.Id;
        a["addresses"] = new[] { new { city } };
        var first = await CreateAsync(a);
        await Task.Delay(50);
        var b = Person();
        b["tags"] = new[] { tag.ToUpperInvariant() };
        b["status"] = "Customer";
        var second = await CreateAsync(b);

        string Url(string filters) => $"/api/v1/customers?tag={tag}&{filters}";
        Assert.Equal([first.Id(), second.Id()], (await admin.GetJsonAsync($"/api/v1/customers?tag={tag.ToUpperInvariant()}&sort=createdAt")).Items().Select(i => i.Id()));
        Assert.Equal([first.Id()], Ids(await admin.GetJsonAsync(Url("status=Lead"))));
        Assert.Equal([second.Id()], Ids(await admin.GetJsonAsync(Url("status=customer"))));
        Assert.Empty(Ids(await admin.GetJsonAsync(Url("status=Lapsed"))));
        Assert.Equal([first.Id()], Ids(await admin.GetJsonAsync($"/api/v1/customers?owner={owner.Id}")));
        Assert.Equal([first.Id()], Ids(await admin.GetJsonAsync($"/api/v1/customers?city={Uri.EscapeDataString(" " + city.ToUpperInvariant())}")));

        var secondCreated = second.GetProperty("createdAt").GetDateTime().ToUniversalTime();
        var cut = Uri.EscapeDataString(secondCreated.AddMilliseconds(-20).ToString("O"));
        Assert.Equal([second.Id()], Ids(await admin.GetJsonAsync(Url($"createdFrom={cut}"))));
        Assert.Equal([first.Id()], Ids(await admin.GetJsonAsync(Url($"createdTo={cut}"))));
        var day = secondCreated.ToString("yyyy-MM-dd");
        Assert.Equal(2, Ids(await admin.GetJsonAsync(Url($"createdFrom={day}"))).Count);

        var item = (await admin.GetJsonAsync(Url("status=Lead"))).Items().Single();
        Assert.Equal(owner.DisplayName, item.Str("ownerName"));
        Assert.Equal(city, item.Str("city"));
        Assert.Equal([tag], item.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));

        using var badStatus = await admin.GetAsync("/api/v1/customers?status=Rich");
        Assert.Contains("status", (await badStatus.ExpectValidationProblemAsync()).Keys);
        using var badDate = await admin.GetAsync("/api/v1/customers?createdFrom=yesterday");
        Assert.Contains("createdFrom", (await badDate.ExpectValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task Sorts_by_name_and_creation_time_both_ways()
    {
        using var admin = Fx.Admin();
        var tag = "s-" + Unique.Word(8);
        var last = Unique.Name();
        var created = new List<(string First, Guid Id)>();
        foreach (var first in new[] { "Cyril", "Anna", "Dmytro", "Borys" })
        {
            var body = Person(first, last);
            body["tags"] = new[] { tag };
            created.Add((first, (await CreateAsync(body)).Id()));
            await Task.Delay(5);
        }
        var byName = created.OrderBy(c => c.First, StringComparer.Ordinal).Select(c => c.Id).ToList();
        var byCreation = created.Select(c => c.Id).ToList();

        Assert.Equal(byName, Ids(await admin.GetJsonAsync($"/api/v1/customers?tag={tag}")));
        Assert.Equal(byName, Ids(await admin.GetJsonAsync($"/api/v1/customers?tag={tag}&sort=name")));
        Assert.Equal(byName.AsEnumerable().Reverse(), Ids(await admin.GetJsonAsync($"/api/v1/customers?tag={tag}&sort=-name")));
        Assert.Equal(byCreation, Ids(await admin.GetJsonAsync($"/api/v1/customers?tag={tag}&sort=createdAt")));
        Assert.Equal(byCreation.AsEnumerable().Reverse(), Ids(await admin.GetJsonAsync($"/api/v1/customers?tag={tag}&sort=-createdAt")));

        using var bad = await admin.GetAsync($"/api/v1/customers?sort=shoeSize");
        Assert.Contains("sort", (await bad.ExpectValidationProblemAsync()).Keys);
    }

    [Theory]
    [InlineData("name")]
    [InlineData("-name")]
    [InlineData("createdAt")]
    [InlineData("-createdAt")]
    [InlineData("updatedAt")]
    public async Task Keyset_paging_walks_every_customer_once(string sort)
    {
        using var admin = Fx.Admin();
        var tag = "p-" + Unique.Word(8);
        var expected = new List<Guid>();
        // Equal names make the id the tie-breaker, which is where keyset paging goes wrong.
        var sameLast = Unique.Name();
        for (var i = 0; i < 7; i++)
        {
            var body = Person(i < 4 ? "Same" : Unique.Name(), sameLast);
            body["tags"] = new[] { tag };
            expected.Add((await CreateAsync(body, allowDuplicate: true)).Id());
        }
        var all = Ids(await admin.GetJsonAsync($"/api/v1/customers?tag={tag}&sort={sort}&limit=500"));
        Assert.Equal(expected.Order(), all.Order());

        var walked = await WalkAsync(admin, $"/api/v1/customers?tag={tag}&sort={sort}", limit: 2);
        Assert.Equal(all, walked);
    }

    [Theory]
    [InlineData("")]
    [InlineData("&sort=name")]
    [InlineData("&sort=-createdAt")]
    public async Task Keyset_paging_with_q_returns_each_match_once(string sort)
    {
        using var admin = Fx.Admin();
        var word = Unique.Word(9);
        var expected = new List<Guid>();
        for (var i = 0; i < 7; i++)
        {
            // Several terms of one customer start with the searched word (name and e-mail): still one row.
            var body = Person(i % 2 == 0 ? word + Unique.Word(3) : Unique.Name(), word + Unique.Word(2));
            if (i % 3 == 0) body["emails"] = new[] { new { address = $"{word}{i}@example.com" } };
            expected.Add((await CreateAsync(body, allowDuplicate: true)).Id());
        }
        await CreateAsync(Person());

        var walked = await WalkAsync(admin, $"/api/v1/customers?q={word[..7]}{sort}", limit: 2);
        Assert.Equal(expected.Order(), walked.Order());
        Assert.Equal(walked.Count, walked.Distinct().Count());
        var onePage = Ids(await admin.GetJsonAsync($"/api/v1/customers?q={word[..7]}{sort}&limit=500"));
        Assert.Equal(onePage, walked);
    }

    [Theory]
    [InlineData("limit=501")]
    [InlineData("limit=0")]
    [InlineData("cursor=not-a-cursor")]
    public async Task Bad_paging_parameters_are_400(string query)
    {
        using var admin = Fx.Admin();
        using var response = await admin.GetAsync($"/api/v1/customers?{query}");
        var errors = await response.ExpectValidationProblemAsync();
        Assert.Contains(query.Split('=')[0], errors.Keys);
    }

    [Fact]
    public async Task Limit_500_is_allowed()
    {
        using var admin = Fx.Admin();
        var page = await admin.GetJsonAsync("/api/v1/customers?limit=500");
        Assert.Equal(JsonValueKind.Array, page.GetProperty("items").ValueKind);
    }

    private static async Task<List<Guid>> WalkAsync(HttpClient client, string url, int limit)
    {
        var ids = new List<Guid>();
        string? cursor = null;
        for (var pages = 0; pages < 50; pages++)
        {
            var page = await client.GetJsonAsync($"{url}&limit={limit}" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}"));
            var items = Ids(page);
            Assert.True(items.Count <= limit);
            ids.AddRange(items);
            var next = page.GetProperty("nextCursor");
            if (next.ValueKind == JsonValueKind.Null) return ids;
            Assert.Equal(limit, items.Count);
            cursor = next.GetString();
        }
        throw new Xunit.Sdk.XunitException("Paging did not end.");
    }
}

[Collection("sqlite")]
public sealed class SqliteCustomerListApiTests(SqliteFixture fx) : CustomerListApiTests(fx);

[Collection("postgres")]
public sealed class PostgresCustomerListApiTests(PostgresFixture fx) : CustomerListApiTests(fx);
