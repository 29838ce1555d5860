using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Kolo.Web.Tests.Infrastructure;

/// <summary>Uploading files to the import API and waiting for the job to finish.</summary>
public static class ImportApi
{
    public static async Task<HttpResponseMessage> UploadAsync(this HttpClient client, string url, byte[] file, string fileName, string kind,
        object? mapping = null, object? options = null, bool dryRun = false, string? mappingName = null)
    {
        using var form = new MultipartFormDataContent();
        form.Add(new StringContent(kind), "kind");
        if (mapping is not null) form.Add(new StringContent(JsonSerializer.Serialize(mapping)), "mapping");
        if (options is not null) form.Add(new StringContent(JsonSerializer.Serialize(options)), "options");
        if (dryRun) form.Add(new StringContent("true"), "dryRun");
        if (mappingName is not null) form.Add(new StringContent(mappingName), "mappingName");
        var content = new ByteArrayContent(file);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(content, "file", fileName);
        return await client.PostAsync(url, form);
    }

    /// <summary>Queues an import and waits until it has finished; returns the finished job.</summary>
    public static async Task<JsonElement> ImportAsync(this HttpClient client, byte[] file, string fileName, string kind,
        object? mapping = null, object? options = null, bool dryRun = false, string? mappingName = null, int timeoutSeconds = 120)
    {
        using var response = await client.UploadAsync("/api/v1/imports", file, fileName, kind, mapping, options, dryRun, mappingName);
        var job = await response.ExpectAsync(HttpStatusCode.Accepted);
        Assert.Equal($"/api/v1/imports/{job.Id()}", response.Headers.Location?.ToString());
        return await client.WaitForJobAsync(job.Id(), timeoutSeconds);
    }

    public static async Task<JsonElement> WaitForJobAsync(this HttpClient client, Guid id, int timeoutSeconds = 120)
    {
        var until = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (true)
        {
            var job = await client.GetJsonAsync($"/api/v1/imports/{id}");
            var status = job.Str("status");
            if (status is "Succeeded" or "Failed") return job;
            Assert.True(DateTime.UtcNow < until, $"The import did not finish in {timeoutSeconds} s: {job}");
            await Task.Delay(200);
        }
    }

    public static int Int(this JsonElement e, string property) => e.GetProperty(property).GetInt32();

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>The repository's ../shared/datasets folder: found by walking up to Kolo.slnx.</summary>
    public static string Dataset(string relative)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Kolo.slnx"))) dir = dir.Parent;
        if (dir is null) throw new InvalidOperationException("Kolo.slnx not found above " + AppContext.BaseDirectory + ": cannot locate ../shared/datasets.");
        var path = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "datasets", relative));
        if (!File.Exists(path))
            throw new InvalidOperationException($"The public dataset {relative} is missing: expected it at {path} (../shared/datasets next to the repository).");
        return path;
    }
}
