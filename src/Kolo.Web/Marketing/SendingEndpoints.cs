using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Threading.RateLimiting;
using Kolo.Core.Marketing;
using Kolo.Core.Platform;
using Kolo.Core.Tasks;
using Kolo.Core.Timeline;
using Kolo.Web.Platform;
using Kolo.Web.Resources;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Options;

namespace Kolo.Web.Marketing;

/// <summary>Campaign delivery (the sender worker, SMS drivers), unsubscribe links, open/click tracking and the website snippet.</summary>
public static class SendingEndpoints
{
    public const string CollectPolicy = "collect";

    public static void AddCampaignSending(this WebApplicationBuilder builder, KoloOptions kolo)
    {
        var services = builder.Services;
        var options = builder.Configuration.GetSection(CampaignSendingOptions.Section).Get<CampaignSendingOptions>() ?? new CampaignSendingOptions();
        services.AddSingleton(options);
        services.AddSingleton(kolo.Smtp);
        var publicUrl = new PublicUrl();
        var configured = builder.Configuration["Kolo:PublicUrl"];
        if (!string.IsNullOrWhiteSpace(configured)) publicUrl.Value = configured;
        services.AddSingleton(publicUrl);
        services.AddSingleton<MessageTokens>();
        if (string.Equals(options.Sms.Driver, "Http", StringComparison.OrdinalIgnoreCase))
        {
            if (string.IsNullOrWhiteSpace(options.Sms.Url)) throw new InvalidOperationException("Kolo:Campaigns:Sms:Url must be set for the Http SMS driver.");
            services.AddSingleton<ISmsGateway>(_ => new HttpSmsGateway(new HttpClient { Timeout = TimeSpan.FromSeconds(30) }, options.Sms));
        }
        else
        {
            var dir = string.IsNullOrWhiteSpace(options.Sms.OutboxDir) ? Path.Combine(Path.GetFullPath(kolo.DataDir), "sms-outbox") : options.Sms.OutboxDir;
            services.AddSingleton<ISmsGateway>(sp => new FileSmsGateway(dir, sp.GetRequiredService<TimeProvider>()));
        }
        services.AddSingleton<CampaignSender>();
        services.AddSingleton<CampaignSendSignal>();
        services.AddSingleton<CampaignTracking>();
        services.AddSingleton<ITimelineSource, CampaignMessageTimelineSource>();
        services.AddSingleton<ITimelineSource, WebVisitTimelineSource>();
        services.AddHostedService<CampaignSendWorker>();
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.AddPolicy(CollectPolicy, http => RateLimitPartition.GetFixedWindowLimiter(
                http.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = Math.Max(1, options.CollectPerMinute), Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
        });
    }

    public static void MapCampaignSendingEndpoints(this WebApplication app)
    {
        // Without Kolo:PublicUrl, links point at the first address the server listens on.
        if (string.IsNullOrWhiteSpace(app.Configuration["Kolo:PublicUrl"]))
            app.Lifetime.ApplicationStarted.Register(() =>
            {
                var first = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
                if (first is not null) app.Services.GetRequiredService<PublicUrl>().Value = first.Replace("://[::]", "://localhost", StringComparison.Ordinal).Replace("://0.0.0.0", "://localhost", StringComparison.Ordinal);
            });

        var api = app.MapGroup("/api/v1/campaigns").WithTags("Campaigns").RequireAuthorization();
        api.MapPost("/{id:guid}/test-send", async (Guid id, TestSendInput input, CampaignSender sender, HttpContext http) =>
                Results.Ok(await sender.TestSendAsync(http.User.ToActor(), id, input, http.RequestAborted)))
            .WithSummary("Renders a variant for a chosen customer and sends it to the given address or phone (not a campaign message).");
        api.MapPost("/bounces", async (BounceInput input, CampaignTracking tracking, HttpContext http) =>
            {
                var actor = http.User.ToActor();
                if (actor.Role is not (UserRole.Admin or UserRole.Manager or UserRole.Marketing))
                    throw new ForbiddenException("Only marketing, managers and admins report bounces.");
                return await tracking.BounceAsync(input, http.RequestAborted) ? Results.NoContent() : Results.NotFound();
            })
            .WithSummary("For bounce processors: marks the message with this Message-ID (or the last e-mail to this address) bounced.");

        var pub = app.MapGroup("").AllowAnonymous().ExcludeFromDescription();
        pub.MapGet("/u/{token}", async (string token, string? lang, CampaignTracking tracking, IStringLocalizer<SharedResource> l, HttpContext http) =>
        {
            UseLanguage(lang);
            var target = await tracking.FindUnsubscribeAsync(token, http.RequestAborted);
            if (target is null) return NotFoundPage(l);
            var title = WebUtility.HtmlEncode(l["Send_UnsubscribeTitle"]);
            var body = target.AlreadyUnsubscribed
                ? $"<p>{WebUtility.HtmlEncode(l["Send_UnsubscribeDone", target.CampaignName])}</p>"
                : $"""
                   <p>{WebUtility.HtmlEncode(l["Send_UnsubscribeQuestion", ChannelName(l, target.Channel), target.CampaignName])}</p>
                   <form method="post" action="/u/{WebUtility.HtmlEncode(token)}?lang={CultureInfo.CurrentUICulture.TwoLetterISOLanguageName}">
                     <button type="submit">{WebUtility.HtmlEncode(l["Send_UnsubscribeButton"])}</button>
                   </form>
                   """;
            return Page(title, body);
        });
        // The page's button and RFC 8058 one-click unsubscribe from mail clients (body "List-Unsubscribe=One-Click").
        pub.MapPost("/u/{token}", async (string token, string? lang, CampaignTracking tracking, IStringLocalizer<SharedResource> l, HttpContext http) =>
        {
            UseLanguage(lang);
            var oneClick = !http.Request.HasFormContentType || http.Request.ContentLength is > 0;
            if (!await tracking.UnsubscribeAsync(token, oneClick ? "unsubscribe-link" : "unsubscribe-page", http.RequestAborted)) return NotFoundPage(l);
            var target = await tracking.FindUnsubscribeAsync(token, http.RequestAborted);
            return Page(WebUtility.HtmlEncode(l["Send_UnsubscribeTitle"]), $"<p>{WebUtility.HtmlEncode(l["Send_UnsubscribeDone", target?.CampaignName ?? ""])}</p>");
        });
        pub.MapGet("/t/o/{token}", async (string token, CampaignTracking tracking, HttpContext http) =>
        {
            if (!await tracking.OpenAsync(token, http.RequestAborted)) return Results.NotFound();
            http.Response.Headers.CacheControl = "no-store";
            return Results.File(Pixel, "image/gif");
        });
        pub.MapGet("/t/c/{token}", async (string token, string? u, CampaignTracking tracking, HttpContext http) =>
        {
            if (await tracking.ClickAsync(token, u, http.RequestAborted) is not { } click) return Results.NotFound();
            var url = click.Url + (click.Url.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "kolo_t=" + click.VisitorToken;
            var hash = click.Url.IndexOf('#', StringComparison.Ordinal);
            if (hash >= 0) url = click.Url[..hash] + (click.Url[..hash].Contains('?', StringComparison.Ordinal) ? "&" : "?") + "kolo_t=" + click.VisitorToken + click.Url[hash..];
            http.Response.Headers.CacheControl = "no-store";
            return Results.Redirect(url);
        });
        pub.MapGet("/t/kolo.js", (HttpContext http) =>
        {
            http.Response.Headers.CacheControl = "public, max-age=3600";
            return Results.Text(Snippet, "application/javascript");
        });
        pub.MapMethods("/t/collect", ["OPTIONS"], (HttpContext http) =>
        {
            Cors(http);
            return Results.NoContent();
        });
        pub.MapPost("/t/collect", async (CampaignTracking tracking, HttpContext http) =>
            {
                Cors(http);
                CollectInput? input;
                // text/plain from the snippet (no CORS preflight); any JSON body is read the same way.
                try { input = await JsonSerializer.DeserializeAsync<CollectInput>(new LimitedStream(http.Request.Body, 16 * 1024), JsonOptions, http.RequestAborted); }
                catch (Exception e) when (e is JsonException or InvalidDataException) { return Results.BadRequest(); }
                if (input is null) return Results.BadRequest();
                var messages = await tracking.CollectAsync(input, http.RequestAborted);
                return messages is null ? Results.BadRequest() : Results.Ok(new { messages });
            })
            .RequireRateLimiting(CollectPolicy);
    }

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    private static void Cors(HttpContext http)
    {
        http.Response.Headers.AccessControlAllowOrigin = "*";
        http.Response.Headers.AccessControlAllowMethods = "POST, OPTIONS";
        http.Response.Headers.AccessControlAllowHeaders = "Content-Type";
        http.Response.Headers.AccessControlMaxAge = "86400";
    }

    private static void UseLanguage(string? lang)
    {
        if (lang is not null && PlatformEndpoints.Cultures.Contains(lang))
        {
            CultureInfo.CurrentUICulture = new CultureInfo(lang);
            CultureInfo.CurrentCulture = new CultureInfo(lang);
        }
    }

    private static string ChannelName(IStringLocalizer<SharedResource> l, CampaignChannel channel) => channel switch
    {
        CampaignChannel.Sms => l["Send_ChannelSms"],
        CampaignChannel.Call => l["Send_ChannelCall"],
        CampaignChannel.Web => l["Send_ChannelWeb"],
        _ => l["Send_ChannelEmail"],
    };

    private static IResult NotFoundPage(IStringLocalizer<SharedResource> l) =>
        Page(WebUtility.HtmlEncode(l["Send_LinkNotFound"]), $"<p>{WebUtility.HtmlEncode(l["Send_LinkNotFoundText"])}</p>", StatusCodes.Status404NotFound);

    private static IResult Page(string title, string body, int status = StatusCodes.Status200OK) => Results.Content($"""
        <!DOCTYPE html>
        <html lang="{CultureInfo.CurrentUICulture.TwoLetterISOLanguageName}"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>{title}</title>
        <style>body{"{"}font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222{"}"}button{"{"}font-size:1rem;padding:.6rem 1.2rem;cursor:pointer{"}"}</style>
        </head><body><h1>{title}</h1>{body}</body></html>
        """, "text/html; charset=utf-8", System.Text.Encoding.UTF8, status);

    /// <summary>A transparent 1×1 GIF.</summary>
    private static readonly byte[] Pixel = Convert.FromBase64String("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7");

    /// <summary>
    /// The website snippet: a random visitor id kept in localStorage, a page view posted on load (with the kolo_t of a
    /// tracked click, removed from the address bar afterwards), <c>kolo.identify(email)</c> for forms, and any web
    /// message for the identified customer shown in a dismissible box.
    /// </summary>
    private const string Snippet = """
        (function () {
          var script = document.currentScript, base = script ? new URL(script.src).origin : '';
          var id = null;
          try { id = localStorage.getItem('kolo_vid'); } catch (e) { }
          if (!id) {
            id = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : (Date.now().toString(36) + Math.random().toString(36).slice(2));
            try { localStorage.setItem('kolo_vid', id); } catch (e) { }
          }
          var params = new URLSearchParams(location.search), token = params.get('kolo_t');
          if (token && history.replaceState) {
            params.delete('kolo_t');
            var q = params.toString();
            history.replaceState(history.state, '', location.pathname + (q ? '?' + q : '') + location.hash);
          }
          function show(m) {
            var box = document.createElement('div');
            box.className = 'kolo-message';
            box.setAttribute('style', 'position:fixed;right:1rem;bottom:1rem;max-width:22rem;background:#fff;color:#222;border:1px solid #ccc;border-radius:8px;padding:1rem 2rem 1rem 1rem;box-shadow:0 4px 16px rgba(0,0,0,.15);z-index:2147483647');
            box.innerHTML = m.html;
            var close = document.createElement('button');
            close.textContent = '\u00d7';
            close.setAttribute('aria-label', 'Close');
            close.setAttribute('style', 'position:absolute;top:.25rem;right:.5rem;border:0;background:none;font-size:1.25rem;cursor:pointer');
            close.onclick = function () { box.remove(); };
            box.appendChild(close);
            document.body.appendChild(box);
          }
          function send(extra) {
            var body = { visitorId: id, url: location.href, title: document.title, referrer: document.referrer || null, token: token };
            token = null;
            for (var k in (extra || {})) body[k] = extra[k];
            return fetch(base + '/t/collect', { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'text/plain' }, keepalive: true, mode: 'cors' })
              .then(function (r) { return r.ok ? r.json() : { messages: [] }; })
              .then(function (d) { (d.messages || []).forEach(show); return d; })
              .catch(function () { return { messages: [] }; });
          }
          window.kolo = { identify: function (email) { return send({ email: email }); }, pageView: function () { return send(); } };
          send();
        })();
        """;
}

/// <summary>Reads at most a given number of bytes, so a huge body cannot tie up the collect endpoint.</summary>
internal sealed class LimitedStream(Stream inner, long limit) : Stream
{
    private long _read;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _read; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Read asynchronously.");
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        var n = await inner.ReadAsync(buffer, ct);
        _read += n;
        if (_read > limit) throw new InvalidDataException("The body is too large.");
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();
}

/// <summary>Sends due campaign messages: woken by <see cref="CampaignSendSignal"/> or every <c>Kolo:Campaigns:PollSeconds</c>.</summary>
public sealed class CampaignSendWorker(CampaignSender sender, CampaignSendSignal signal, CampaignSendingOptions options, ILogger<CampaignSendWorker> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.SendingEnabled) return;
        var poll = TimeSpan.FromSeconds(Math.Max(1, options.PollSeconds));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var totals = await sender.SendDueAsync(stoppingToken);
                if (totals.Sent + totals.Bounced + totals.Failed > 0)
                    log.LogInformation("Campaign messages: {Sent} sent, {Bounced} bounced, {Failed} failed, {Retried} to retry", totals.Sent, totals.Bounced, totals.Failed, totals.Retried);
                await signal.WaitAsync(poll, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { return; }
            catch (Exception e)
            {
                log.LogError(e, "Sending campaign messages failed");
                try { await Task.Delay(poll, stoppingToken); } catch (OperationCanceledException) { return; }
            }
        }
    }
}
