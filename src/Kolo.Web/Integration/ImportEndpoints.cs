using System.Globalization;
using System.Text;
using System.Text.Json;
using Kolo.Core.Catalog;
using Kolo.Core.Integration;
using Kolo.Core.Platform;
using Kolo.Web.Customers;
using Kolo.Web.Orders;
using Kolo.Web.Platform;
using Kolo.Web.Resources;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Kolo.Web.Integration;

public static class ImportEndpoints
{
    public static void MapImportEndpoints(this IEndpointRouteBuilder app)
    {
        // Imports write many records at once: Admin and Manager only (ImportService checks the same).
        var imports = app.MapGroup("/api/v1").WithTags("Import and export").RequireAuthorization(Policies.AdminOrManager);

        imports.MapPost("/imports", async (HttpContext http, ImportService service, ImportSignal signal, IOptions<KoloOptions> kolo) =>
            {
                var actor = http.User.ToActor();
                ImportService.EnsureCanImport(actor);
                var job = new ImportJob();
                var path = ImportRunner.FileOf(kolo.Value, job.Id);
                var upload = await ReceiveAsync(http, path);
                try
                {
                    var errors = new ValidationErrors();
                    var kind = ParseKind(upload.Field("kind"), errors);
                    var mapping = ParseMapping(upload.Field("mapping"), upload.Field("options"), errors);
                    var dryRun = upload.Field("dryRun") is { } d && !bool.TryParse(d, out var dry) ? Error(errors, "dryRun", "Use true or false.") : upload.Field("dryRun") is { } d2 && bool.Parse(d2);
                    errors.ThrowIfAny();
                    job.Kind = kind!.Value;
                    job.DryRun = dryRun;
                    job.FileName = upload.FileName!;
                    job.FileSize = new FileInfo(path).Length;
                    job.Mapping = mapping;
                    IReadOnlyList<string> header;
                    try { using var source = ImportSource.Open(path, upload.FileName!); header = source.Header; }
                    catch (Exception e) when (e is InvalidDataException or IOException or CsvHelper.CsvHelperException)
                    { throw ValidationFailedException.For("file", "The file cannot be read as " + Path.GetExtension(upload.FileName) + "."); }
                    var view = await service.QueueAsync(actor, job, header, upload.Field("mappingName"), http.RequestAborted);
                    signal.Notify();
                    return Results.Accepted($"/api/v1/imports/{view.Id}", view);
                }
                catch
                {
                    File.Delete(path);
                    throw;
                }
            })
            .DisableAntiforgery()
            .WithMetadata(new Microsoft.AspNetCore.Mvc.DisableRequestSizeLimitAttribute())
            .WithSummary("Upload a .csv, .csv.gz or .xlsx (multipart: file, kind = customers|products|orders, mapping = JSON target→column, " +
                         "options = JSON name→value, dryRun, mappingName to remember the mapping). 202 with the job to poll.");

        imports.MapPost("/imports/preview", async (HttpContext http, ImportService service, IOptions<KoloOptions> kolo) =>
            {
                var actor = http.User.ToActor();
                ImportService.EnsureCanImport(actor);
                var path = Path.Combine(Path.GetFullPath(kolo.Value.DataDir), "imports", "preview-" + Guid.NewGuid().ToString("N"));
                try
                {
                    var upload = await ReceiveAsync(http, path);
                    var errors = new ValidationErrors();
                    var kind = ParseKind(upload.Field("kind"), errors);
                    var mapping = ParseMapping(upload.Field("mapping"), upload.Field("options"), errors);
                    errors.ThrowIfAny();
                    try { return Results.Ok(await service.PreviewAsync(actor, kind!.Value, path, upload.FileName!, mapping.Count > 0 ? mapping : null, http.RequestAborted)); }
                    catch (Exception e) when (e is InvalidDataException or IOException or CsvHelper.CsvHelperException)
                    { throw ValidationFailedException.For("file", "The file cannot be read as " + Path.GetExtension(upload.FileName) + "."); }
                }
                finally { File.Delete(path); }
            })
            .DisableAntiforgery()
            .WithMetadata(new Microsoft.AspNetCore.Mvc.DisableRequestSizeLimitAttribute())
            .WithSummary("The wizard's preview: header, a suggested mapping (saved for this header, else by column names), the first 20 rows with their errors.");

        imports.MapGet("/imports", async (int? limit, HttpContext http, ImportService service) =>
                Results.Ok(await service.RecentAsync(http.User.ToActor(), limit ?? 50, http.RequestAborted)))
            .WithSummary("Recent import jobs, newest first.");

        imports.MapGet("/imports/{id:guid}", async (Guid id, HttpContext http, ImportService service) =>
                Results.Ok(await service.GetAsync(http.User.ToActor(), id, http.RequestAborted)))
            .WithSummary("A job: status, progress (% of the file read), rows, accepted, rejected, created, updated, unchanged, error.");

        imports.MapGet("/imports/{id:guid}/rejects.csv", async (Guid id, HttpContext http, ImportService service, IStringLocalizer<SharedResource> l) =>
            {
                var actor = http.User.ToActor();
                await service.GetAsync(actor, id, http.RequestAborted);
                var rows = service.RejectsAsync(actor, id, http.RequestAborted);
                // The file is read by the person who ran the import: reasons in the request's language (the UI's
                // language cookie, else Accept-Language); English when neither asks for another.
                var translate = CultureInfo.CurrentUICulture.TwoLetterISOLanguageName != "en";
                return new CsvDownload($"import-{id:N}-rejects.csv", ["line", "reason", "raw"], Rows());

                async IAsyncEnumerable<object?[]> Rows()
                {
                    await foreach (var r in rows) yield return [r.Line, translate ? UiErrors.Translate(l, r.Reason) : r.Reason, r.Raw];
                }
            })
            .WithSummary("The rejected rows: line number (the header is line 1), reason (in the request's language), and the row as it was in the file.");

        imports.MapGet("/import-mappings", async (string? kind, HttpContext http, ImportService service) =>
            {
                var errors = new ValidationErrors();
                var parsed = kind is null ? null : ParseKind(kind, errors);
                errors.ThrowIfAny();
                return Results.Ok(await service.MappingsAsync(http.User.ToActor(), parsed, http.RequestAborted));
            })
            .WithSummary("Saved column mappings, optionally of one kind.");

        // Exports: everyone signed in, each seeing exactly the rows their list shows them.
        var exports = app.MapGroup("/api/v1/exports").WithTags("Import and export").RequireAuthorization();

        exports.MapGet("/customers", ([AsParameters] CustomerListRequest request, string? format, HttpContext http, ExportService export) =>
                Download(format, "customers", export.Customers(http.User.ToActor(), request.ToQuery())))
            .WithSummary("All customers the list shows for the same filters (q, status, tag, owner, city, createdFrom/To, archived), as csv or xlsx.");

        exports.MapGet("/orders", ([AsParameters] OrderListRequest request, string? format, HttpContext http, ExportService export) =>
                Download(format, "orders", export.Orders(http.User.ToActor(), request.ToQuery())))
            .WithSummary("Orders (one row per line) with the list's filters (customer, status, owner, from, to, q), as csv or xlsx.");

        exports.MapGet("/products", (string? q, string? category, bool? includeInactive, string? format, ExportService export) =>
                Download(format, "products", export.Products(new ProductQuery { Q = q, Category = category, IncludeInactive = includeInactive })))
            .WithSummary("Products with the list's filters (q, category, includeInactive), as csv or xlsx.");
    }

    private static IResult Download(string? format, string name, ExportTable table) => (format ?? "csv").ToLowerInvariant() switch
    {
        "csv" => new CsvDownload($"{name}.csv", table.Columns, table.Rows),
        "xlsx" => new XlsxDownload($"{name}.xlsx", table),
        _ => throw ValidationFailedException.For("format", "Use csv or xlsx."),
    };

    private sealed class CsvDownload(string fileName, IReadOnlyList<string> columns, IAsyncEnumerable<object?[]> rows) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            http.Response.ContentType = "text/csv; charset=utf-8";
            http.Response.Headers.ContentDisposition = $"attachment; filename=\"{fileName}\"";
            await ExportService.WriteCsvAsync(new ExportTable(columns, rows), http.Response.Body, http.RequestAborted);
        }
    }

    private sealed class XlsxDownload(string fileName, ExportTable table) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            // The workbook is a zip whose writer needs synchronous writes: it goes to a temporary file first.
            await using var temp = new FileStream(Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
            await ExportService.WriteXlsxAsync(table, temp, http.RequestAborted);
            temp.Position = 0;
            http.Response.ContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
            http.Response.Headers.ContentDisposition = $"attachment; filename=\"{fileName}\"";
            http.Response.ContentLength = temp.Length;
            await temp.CopyToAsync(http.Response.Body, http.RequestAborted);
        }
    }

    private static bool Error(ValidationErrors errors, string field, string message)
    {
        errors.Add(field, message);
        return false;
    }

    private static ImportKind? ParseKind(string? kind, ValidationErrors errors)
    {
        if (Enum.TryParse<ImportKind>(kind, ignoreCase: true, out var k) && !int.TryParse(kind, out _)) return k;
        errors.Add("kind", "Kind is one of: customers, products, orders.");
        return null;
    }

    /// <summary>The mapping (target → column) with the options folded in under their '$' prefix.</summary>
    private static Dictionary<string, string> ParseMapping(string? mapping, string? options, ValidationErrors errors)
    {
        var result = new Dictionary<string, string>();
        foreach (var (field, json, prefix) in new[] { ("mapping", mapping, ""), ("options", options, ImportFields.OptionPrefix) })
        {
            if (string.IsNullOrWhiteSpace(json)) continue;
            try
            {
                using var doc = JsonDocument.Parse(json);
                if (doc.RootElement.ValueKind != JsonValueKind.Object) { errors.Add(field, "Give a JSON object."); continue; }
                foreach (var p in doc.RootElement.EnumerateObject())
                {
                    var value = p.Value.ValueKind switch
                    {
                        JsonValueKind.String => p.Value.GetString()!,
                        JsonValueKind.True => "true",
                        JsonValueKind.False => "false",
                        JsonValueKind.Null => null,
                        _ => p.Value.GetRawText(),
                    };
                    if (value is null) continue;
                    var key = p.Name.StartsWith(ImportFields.OptionPrefix, StringComparison.Ordinal) ? p.Name : prefix + p.Name;
                    if (key.StartsWith(ImportFields.OptionPrefix, StringComparison.Ordinal) && !ImportFields.Options.ContainsKey(key[1..]))
                        errors.Add(field, $"Unknown option '{key[1..]}'. Options: {string.Join(", ", ImportFields.Options.Keys)}.");
                    else result[key] = value;
                }
            }
            catch (JsonException) { errors.Add(field, "Not valid JSON."); }
        }
        return result;
    }

    private sealed record Upload(string? FileName, Dictionary<string, string> Fields)
    {
        public string? Field(string name) => Fields.TryGetValue(name, out var v) && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;
    }

    /// <summary>Reads a multipart upload, streaming the file part straight to <paramref name="path"/>.</summary>
    private static async Task<Upload> ReceiveAsync(HttpContext http, string path)
    {
        var boundary = http.Request.ContentType is { } ct && MediaTypeHeaderValue.TryParse(ct, out var media) && media.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            ? HeaderUtilities.RemoveQuotes(media.Boundary).Value : null;
        if (string.IsNullOrEmpty(boundary)) throw ValidationFailedException.For("file", "Send the file as multipart/form-data.");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var reader = new MultipartReader(boundary, http.Request.Body);
        var fields = new Dictionary<string, string>();
        string? fileName = null;
        while (await reader.ReadNextSectionAsync(http.RequestAborted) is { } section)
        {
            if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)) continue;
            var name = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? "";
            if (disposition.IsFileDisposition())
            {
                if (name != "file" || fileName is not null) continue;
                fileName = Path.GetFileName(HeaderUtilities.RemoveQuotes(disposition.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).Value ?? "");
                if (!ImportSource.IsSupported(fileName)) throw ValidationFailedException.For("file", "Upload a .csv, .csv.gz or .xlsx file.");
                if (fileName.Length > 255) fileName = fileName[^255..];
                await using var target = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
                await section.Body.CopyToAsync(target, http.RequestAborted);
            }
            else if (fields.Count < 20)
            {
                using var text = new StreamReader(section.Body, Encoding.UTF8);
                var value = await text.ReadToEndAsync(http.RequestAborted);
                if (value.Length > 100_000) throw ValidationFailedException.For(name, "Too long.");
                fields[name] = value;
            }
        }
        if (fileName is null) throw ValidationFailedException.For("file", "Attach the file to import.");
        return new Upload(fileName, fields);
    }
}
