using Kolo.Core.Catalog;
using Kolo.Web.Platform;

namespace Kolo.Web.Catalog;

public static class ProductEndpoints
{
    public static void MapProductEndpoints(this IEndpointRouteBuilder app)
    {
        // Everyone signed in reads the catalogue; ProductService lets only managers and admins change it.
        var group = app.MapGroup("/api/v1/products").WithTags("Products").RequireAuthorization();

        group.MapGet("", async (string? q, string? category, bool? includeInactive, string? sort, int? limit, string? cursor, ProductService products, HttpContext http) =>
                Results.Ok(await products.ListAsync(new ProductQuery { Q = q, Category = category, IncludeInactive = includeInactive, Sort = sort, Limit = limit ?? 50, Cursor = cursor }, http.RequestAborted)))
            .WithSummary("Products by SKU: q (SKU or name prefix), category, includeInactive, cursor paging.");

        group.MapGet("/categories", async (ProductService products, HttpContext http) => Results.Ok(await products.CategoriesAsync(http.RequestAborted)))
            .WithSummary("The categories in use.");

        group.MapGet("/{id:guid}", async (Guid id, ProductService products, HttpContext http) =>
            {
                var product = await products.GetAsync(id, http.RequestAborted);
                ETags.Set(http.Response, product.Version);
                return Results.Ok(product);
            });

        group.MapPost("", async (ProductInput input, ProductService products, HttpContext http) =>
            {
                RequestValidation.Validate(input);
                var product = await products.CreateAsync(http.User.ToActor(), input, http.RequestAborted);
                ETags.Set(http.Response, product.Version);
                return Results.Created($"/api/v1/products/{product.Id}", product);
            })
            .WithSummary("Add a product (managers, admins).");

        group.MapPut("/{id:guid}", async (Guid id, ProductInput input, ProductService products, HttpContext http) =>
            {
                var version = ETags.RequiredIfMatch(http.Request, out var refusal);
                if (refusal is not null) return refusal;
                RequestValidation.Validate(input);
                var product = await products.UpdateAsync(http.User.ToActor(), id, version!.Value, input, http.RequestAborted);
                ETags.Set(http.Response, product.Version);
                return Results.Ok(product);
            })
            .WithSummary("Change a product (managers, admins; If-Match). Set active=false to retire it; products are never deleted.");
    }
}
