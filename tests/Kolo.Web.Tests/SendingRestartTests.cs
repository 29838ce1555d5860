using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Kolo.Core.Data;
using Kolo.Core.Marketing;
using Kolo.Web.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Kolo.Web.Tests;

/// <summary>Sending with hosts of their own: stopped mid-send and started again, and other drivers and limits.</summary>
public abstract class SendingRestartTests(DatabaseProvider provider)
{
    [Fact]
    public async Task Every_message_is_sent_exactly_once_across_a_restart_and_one_held_by_a_dead_node_is_not_resent()
    {
        await using var host = await SendingHost.StartAsync(provider, new Dictionary<string, string>
        {
            // The first node's worker is off: the test runs its sender and stops it mid-send.
            ["Kolo:Campaigns:SendingEnabled"] = "false",
            ["Kolo:Campaigns:BatchSize"] = "10",
        });
        var customers = await SendingSeed.CustomersAsync(host, 40);
        var (campaign, messages) = await SendingSeed.CampaignAsync(host, CampaignChannel.Email, customers.Select(c => (c.Id, c.Email)));
        var emails = customers.Select(c => c.Email).ToList();

        // A node died while holding this message: it may or may not have reached the server, so it must not go again.
        var held = messages[^1];
        await using (var db = await host.Db.CreateDbContextAsync())
            await db.CampaignMessages.Where(m => m.Id == held.Id).ExecuteUpdateAsync(s => s.SetProperty(m => m.Status, MessageStatus.Sending)
                .SetProperty(m => m.ClaimedBy, "dead-node/1").SetProperty(m => m.ClaimedAt, DateTime.UtcNow.AddHours(-1)).SetProperty(m => m.Attempts, 1));

        var sender = host.Services.GetRequiredService<CampaignSender>();
        using (var stop = new CancellationTokenSource())
        {
            var run = sender.SendDueAsync(stop.Token);
            while (SmtpSink.MessagesTo(emails).Count < 3 && !run.IsCompleted) await Task.Delay(2);
            await stop.CancelAsync();
            await run;
        }
        var received = SmtpSink.MessagesTo(emails);
        var afterStop = await SendingSeed.MessagesAsync(host, campaign.Id);
        Assert.DoesNotContain(afterStop, m => m.Status == MessageStatus.Sending); // the unsent part of the batch was handed back
        Assert.Equal(afterStop.Count(m => m.Status == MessageStatus.Sent), received.Count);
        Assert.True(afterStop.Any(m => m.Status == MessageStatus.Queued), "The sender should have stopped before the end.");
        var interrupted = afterStop.Single(m => m.Id == held.Id);
        Assert.Equal(MessageStatus.Failed, interrupted.Status);
        Assert.Equal(CampaignSender.InterruptedError, interrupted.Error);

        // A restart (a new host on the same database, worker on) sends the rest.
        await host.StopAsync();
        await host.StartAgainAsync(new Dictionary<string, string> { ["Kolo:Campaigns:SendingEnabled"] = "true" });
        host.WakeSender();
        await SendingSeed.WaitUntilNoneQueuedAsync(host, campaign.Id);
        var final = await SendingSeed.MessagesAsync(host, campaign.Id);
        Assert.Equal(39, final.Count(m => m.Status == MessageStatus.Sent));
        Assert.Equal(MessageStatus.Failed, final.Single(m => m.Id == held.Id).Status);
        var all = await SmtpSink.WaitForAsync(emails, 39);
        await Task.Delay(500); // a duplicate would arrive now
        all = SmtpSink.MessagesTo(emails);
        Assert.Equal(39, all.Count);
        Assert.Equal(39, all.Select(r => r.To.ToLowerInvariant()).Distinct().Count());
        Assert.DoesNotContain(all, r => r.To.Equals(customers[^1].Email, StringComparison.OrdinalIgnoreCase));
        Assert.Equal(final.Where(m => m.Status == MessageStatus.Sent).Select(m => m.ProviderId).Order(), all.Select(r => r.Message.MessageId).Order());
    }

    [Fact]
    public async Task Two_nodes_sending_the_same_campaign_send_each_message_once()
    {
        await using var host = await SendingHost.StartAsync(provider, new Dictionary<string, string> { ["Kolo:Campaigns:SendingEnabled"] = "false", ["Kolo:Campaigns:BatchSize"] = "7" });
        var customers = await SendingSeed.CustomersAsync(host, 30);
        var (campaign, _) = await SendingSeed.CampaignAsync(host, CampaignChannel.Email, customers.Select(c => (c.Id, c.Email)));
        // Two senders with their own node ids on one database, as two Kolo nodes would run them.
        var services = host.Services;
        var a = ActivatorUtilities.CreateInstance<CampaignSender>(services);
        var b = ActivatorUtilities.CreateInstance<CampaignSender>(services);
        Assert.NotEqual(a.NodeId, b.NodeId);
        var totals = await Task.WhenAll(Task.Run(() => a.SendDueAsync()), Task.Run(() => b.SendDueAsync()));
        Assert.Equal(30, totals.Sum(t => t.Sent));
        var received = await SmtpSink.WaitForAsync(customers.Select(c => c.Email).ToList(), 30);
        await Task.Delay(300);
        Assert.Equal(30, SmtpSink.MessagesTo(customers.Select(c => c.Email).ToList()).Count);
        Assert.All(await SendingSeed.MessagesAsync(host, campaign.Id), m => Assert.Equal(MessageStatus.Sent, m.Status));
        Assert.Equal(30, received.Select(r => r.To).Distinct(StringComparer.OrdinalIgnoreCase).Count());
    }

    [Fact]
    public async Task The_HTTP_SMS_driver_posts_to_the_gateway_and_collect_is_rate_limited()
    {
        var port = FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/sms/");
        listener.Start();
        var requests = new ConcurrentQueue<(JsonElement Body, string? Auth)>();
        string? refuse = null;
        var serving = Task.Run(async () =>
        {
            var n = 0;
            while (listener.IsListening)
            {
                HttpListenerContext ctx;
                try { ctx = await listener.GetContextAsync(); }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { return; }
                using var reader = new StreamReader(ctx.Request.InputStream);
                var body = JsonDocument.Parse(await reader.ReadToEndAsync()).RootElement.Clone();
                requests.Enqueue((body, ctx.Request.Headers["Authorization"]));
                var refused = body.GetProperty("to").GetString() == refuse;
                ctx.Response.StatusCode = refused ? 400 : 200;
                var answer = Encoding.UTF8.GetBytes(refused ? "{\"error\":\"invalid number\"}" : $"{{\"id\":\"gw-{Interlocked.Increment(ref n)}\"}}");
                await ctx.Response.OutputStream.WriteAsync(answer);
                ctx.Response.Close();
            }
        });

        await using var host = await SendingHost.StartAsync(provider, new Dictionary<string, string>
        {
            ["Kolo:Campaigns:Sms:Driver"] = "Http",
            ["Kolo:Campaigns:Sms:Url"] = $"http://127.0.0.1:{port}/sms/send",
            ["Kolo:Campaigns:Sms:ApiKey"] = "secret-key",
            ["Kolo:Campaigns:CollectPerMinute"] = "3",
        });
        var customers = await SendingSeed.CustomersAsync(host, 2);
        refuse = customers[1].Phone;
        var (campaign, _) = await SendingSeed.CampaignAsync(host, CampaignChannel.Sms, customers.Select(c => (c.Id, c.Phone)));
        await SendingSeed.WaitUntilNoneQueuedAsync(host, campaign.Id);
        var stored = await SendingSeed.MessagesAsync(host, campaign.Id);
        var ok = stored.Single(m => m.CustomerId == customers[0].Id);
        Assert.Equal(MessageStatus.Sent, ok.Status);
        Assert.StartsWith("gw-", ok.ProviderId, StringComparison.Ordinal);
        var refused = stored.Single(m => m.CustomerId == customers[1].Id);
        Assert.Equal(MessageStatus.Bounced, refused.Status);
        Assert.Contains("400", refused.Error, StringComparison.Ordinal);
        var request = requests.Single(r => r.Body.GetProperty("messageId").GetGuid() == ok.Id);
        Assert.Equal("Bearer secret-key", request.Auth);
        Assert.Equal(customers[0].Phone, request.Body.GetProperty("to").GetString());
        Assert.StartsWith($"Hi {customers[0].FirstName}!", request.Body.GetProperty("text").GetString(), StringComparison.Ordinal);
        listener.Stop();
        await serving;

        using var browser = host.Anonymous();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            using var r = await browser.PostAsync("/t/collect", new StringContent(JsonSerializer.Serialize(new { visitorId = "rate-" + i, url = "https://shop.example.com/" }), Encoding.UTF8, "text/plain"));
            statuses.Add(r.StatusCode);
        }
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
    }

    private static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}

[Collection("marketing-sqlite")]
public sealed class SqliteSendingRestartTests() : SendingRestartTests(DatabaseProvider.Sqlite);

[Collection("marketing-postgres")]
public sealed class PostgresSendingRestartTests() : SendingRestartTests(DatabaseProvider.Postgres);
