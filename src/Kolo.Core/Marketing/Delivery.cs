using System.Net.Http.Json;
using System.Text.Json;

namespace Kolo.Core.Marketing;

/// <summary>The <c>Kolo:Campaigns</c> settings of campaign delivery and tracking.</summary>
public sealed class CampaignSendingOptions
{
    public const string Section = "Kolo:Campaigns";

    /// <summary>Off: this node sends nothing (another node does).</summary>
    public bool SendingEnabled { get; set; } = true;
    /// <summary>The From address of campaign e-mails; the SMTP From when empty.</summary>
    public string? From { get; set; }
    /// <summary>Messages claimed at once; an e-mail batch shares one SMTP connection.</summary>
    public int BatchSize { get; set; } = 200;
    /// <summary>Tries before a message that keeps hitting temporary errors (4xx, connection) is Failed.</summary>
    public int MaxAttempts { get; set; } = 5;
    /// <summary>First wait before a retry; doubled on each further try.</summary>
    public int RetrySeconds { get; set; } = 60;
    /// <summary>A message still Sending this long after its claim belonged to a node that died: it becomes Failed, never resent.</summary>
    public int InterruptedAfterMinutes { get; set; } = 10;
    public int PollSeconds { get; set; } = 5;
    /// <summary>Page views one IP address may report per minute to the collect endpoint.</summary>
    public int CollectPerMinute { get; set; } = 120;
    /// <summary>
    /// Off (default): web messages are shown only in a browser that came through a signed link of the customer; a visitor
    /// identified only by an e-mail typed into a form is linked to the customer but gets no personal message.
    /// </summary>
    public bool WebMessagesAfterFormIdentify { get; set; }
    public SmsOptions Sms { get; set; } = new();
}

public sealed class SmsOptions
{
    /// <summary>File (default: one JSON line per message in DataDir/sms-outbox) or Http (a JSON POST to <see cref="Url"/>).</summary>
    public string Driver { get; set; } = "File";
    public string? Url { get; set; }
    /// <summary>Sent as <c>Authorization: Bearer</c> to the HTTP gateway when set.</summary>
    public string? ApiKey { get; set; }
    /// <summary>The outbox folder of the file driver; DataDir/sms-outbox when empty.</summary>
    public string? OutboxDir { get; set; }
}

/// <summary>Where links in messages point: <c>Kolo:PublicUrl</c>, else the first URL the server listens on.</summary>
public sealed class PublicUrl
{
    private string _value = "http://localhost";

    public string Value
    {
        get => _value;
        set => _value = value.TrimEnd('/');
    }
}

/// <summary>An SMS gateway: sends one text and returns the gateway's id of it.</summary>
public interface ISmsGateway
{
    Task<string> SendAsync(Guid messageId, string to, string text, CancellationToken ct);
}

/// <summary>The default SMS "gateway": appends one JSON line per message to a daily file, for a real gateway to pick up.</summary>
public sealed class FileSmsGateway(string directory, TimeProvider clock) : ISmsGateway
{
    private readonly SemaphoreSlim _lock = new(1, 1);

    public string Directory => directory;

    public async Task<string> SendAsync(Guid messageId, string to, string text, CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var id = "file-" + messageId.ToString("N");
        var line = JsonSerializer.Serialize(new { id, messageId, to, text, at = now }) + "\n";
        await _lock.WaitAsync(ct);
        try
        {
            System.IO.Directory.CreateDirectory(directory);
            await File.AppendAllTextAsync(Path.Combine(directory, $"{now:yyyy-MM-dd}.jsonl"), line, ct);
        }
        finally { _lock.Release(); }
        return id;
    }
}

/// <summary>
/// An HTTP SMS gateway: POST {messageId, to, text} as JSON; a 2xx answer with an <c>id</c> (or <c>messageId</c>) gives
/// the provider id. A 4xx answer is a permanent refusal (<see cref="SmsRejectedException"/>), anything else is retried.
/// </summary>
public sealed class HttpSmsGateway(HttpClient http, SmsOptions options) : ISmsGateway
{
    public async Task<string> SendAsync(Guid messageId, string to, string text, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, options.Url) { Content = JsonContent.Create(new { messageId, to, text }) };
        if (!string.IsNullOrEmpty(options.ApiKey)) request.Headers.Authorization = new("Bearer", options.ApiKey);
        using var response = await http.SendAsync(request, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        if ((int)response.StatusCode is >= 400 and < 500)
            throw new SmsRejectedException($"The SMS gateway refused the message: {(int)response.StatusCode} {Trim(body)}");
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"The SMS gateway answered {(int)response.StatusCode} {Trim(body)}");
        try
        {
            using var json = JsonDocument.Parse(body);
            foreach (var name in (string[])["id", "messageId"])
                if (json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty(name, out var v))
                    return v.ToString();
        }
        catch (JsonException) { /* a gateway that answers plain text: keep our own id */ }
        return "http-" + messageId.ToString("N");
    }

    private static string Trim(string s) => s.Length > 200 ? s[..200] : s;
}

/// <summary>The gateway refused the message for good (invalid number, blocked): it is recorded as bounced, not retried.</summary>
public sealed class SmsRejectedException(string message) : Exception(message);
