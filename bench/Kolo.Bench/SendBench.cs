using System.Diagnostics;
using System.Text.Json;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Marketing;
using Kolo.Core.Tasks;
using MailKit.Net.Smtp;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Kolo.Bench;

/// <summary>
/// The campaign sending benchmark: a PostgreSQL database with --customers customers, a running campaign with --messages
/// queued e-mails and another with --sms queued SMS. The real sender (claim in batches, render, tracked links, one SMTP
/// connection per batch, one UPDATE per message) delivers the e-mails to a local SMTP server; beside it, in the same run,
/// a raw MailKit loop sends the same rendered messages on one connection with no database at all — the ratio is what the
/// bookkeeping costs. Then the SMS campaign through the file outbox, beside a raw append of the same lines.
/// Start a discarding SMTP server first, e.g. <c>python3 -m aiosmtpd -n -l 127.0.0.1:2525 -c aiosmtpd.handlers.Sink</c>.
/// </summary>
public static class SendBench
{
    public static async Task RunAsync(Options options)
    {
        var server = options.Connection;
        var customerCount = options.Int("customers", 1_000_000);
        var emailCount = options.Int("messages", 20_000);
        var smsCount = options.Int("sms", 20_000);
        var batch = options.Int("batch", 200);
        var database = options.Optional("database") ?? "kolo_bench_send";
        var smtp = new SmtpOptions { Host = options.Optional("smtp-host") ?? "127.0.0.1", Port = options.Int("smtp-port", 2525), Security = "None", From = "news@bench.kolo" };
        if (Math.Max(emailCount, smsCount) > customerCount) throw new BenchException("--messages and --sms must not exceed --customers (one message per customer and campaign).");
        var now = DateTime.UtcNow;
        var reuse = options.Flag("reuse");

        var cs = new NpgsqlConnectionStringBuilder(server) { Database = database, CommandTimeout = 0 }.ConnectionString;
        var dbOptions = new DbContextOptionsBuilder<KoloDb>();
        DatabaseSetup.Configure(dbOptions, DatabaseProvider.Postgres, cs);
        var factory = new BenchDb.Factory(dbOptions.Options);
        var exists = false;
        await using (var c = new NpgsqlConnection(server))
        {
            await c.OpenAsync();
            await using (var q = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @d", c) { Parameters = { new("d", database) } })
                exists = await q.ExecuteScalarAsync() is not null;
            if (!reuse || !exists)
            {
                await using (var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", c)) await drop.ExecuteNonQueryAsync();
                await using (var create = new NpgsqlCommand($"CREATE DATABASE \"{database}\"", c)) await create.ExecuteNonQueryAsync();
                exists = false;
            }
        }
        var outbox = Path.Combine(Path.GetTempPath(), "kolo-bench-sms-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            List<Guid> customers;
            var sw = Stopwatch.StartNew();
            if (!exists)
            {
                await using (var db = factory.CreateDbContext()) await DatabaseSetup.MigrateAsync(db);
                var sample = new SampleCustomers(11);
                foreach (var chunk in Enumerable.Range(0, customerCount).Chunk(50_000))
                    await BenchDb.WriteAsync(factory, chunk.Select(_ => (object)sample.Next(now)).ToList());
                Console.WriteLine($"{customerCount:N0} customers written in {sw.Elapsed.TotalSeconds:F1} s");
            }
            await using (var db = factory.CreateDbContext())
            {
                await db.CampaignMessages.ExecuteDeleteAsync();
                await db.Campaigns.ExecuteDeleteAsync();
                customers = await db.Customers.AsNoTracking().OrderBy(c => c.Id).Select(c => c.Id).Take(Math.Max(emailCount, smsCount)).ToListAsync();
            }

            // The sender checks consent and the quiet hours when a message goes out: the recipients have consented on both
            // channels, and the policy has no quiet hours, so the run measures sending at any hour of the day.
            await using (var db = factory.CreateDbContext())
            {
                foreach (var chunk in customers.Chunk(2_000))
                {
                    foreach (var c in await db.Customers.Where(c => chunk.Contains(c.Id)).ToListAsync())
                        c.Consents =
                        [
                            new ChannelConsent { Channel = ContactChannel.Email, Granted = true, At = now, Source = "bench" },
                            new ChannelConsent { Channel = ContactChannel.Sms, Granted = true, At = now, Source = "bench" },
                        ];
                    await db.SaveChangesAsync();
                    db.ChangeTracker.Clear();
                }
                var policy = await ContactPolicyService.LoadAsync(db, default);
                (policy.QuietHoursStart, policy.QuietHoursEnd) = (null, null);
                await db.SaveChangesAsync();
            }

            var email = Campaign("Bench e-mail", CampaignChannel.Email, CampaignStatus.Running, now);
            var sms = Campaign("Bench SMS", CampaignChannel.Sms, CampaignStatus.Draft, now);
            await BenchDb.WriteAsync(factory, [email, sms, .. email.Variants, .. sms.Variants]);
            sw.Restart();
            foreach (var chunk in customers.Take(emailCount).Select((id, i) => (id, i)).Chunk(50_000))
                await BenchDb.WriteAsync(factory, chunk.Select(x => (object)Message(email, x.id, CampaignChannel.Email, $"c{x.i}@bench.kolo", now)).ToList());
            foreach (var chunk in customers.Take(smsCount).Select((id, i) => (id, i)).Chunk(50_000))
                await BenchDb.WriteAsync(factory, chunk.Select(x => (object)Message(sms, x.id, CampaignChannel.Sms, $"+38067{x.i:D7}", now)).ToList());
            Console.WriteLine($"{emailCount:N0} e-mails and {smsCount:N0} SMS queued in {sw.Elapsed.TotalSeconds:F1} s");

            var clock = TimeProvider.System;
            var tokens = new MessageTokens(factory, clock);
            var sendOptions = new CampaignSendingOptions { BatchSize = batch };
            var gateway = new FileSmsGateway(outbox, clock);
            var sender = new CampaignSender(factory, clock, tokens, new PublicUrl { Value = "https://kolo.bench" }, smtp, sendOptions, gateway, NullLogger<CampaignSender>.Instance);

            // Kolo: claim, render, track, send, record.
            sw.Restart();
            var totals = await sender.SendDueAsync();
            var koloSeconds = sw.Elapsed.TotalSeconds;
            if (totals.Sent != emailCount) throw new BenchException($"The sender sent {totals.Sent} of {emailCount} e-mails ({totals.Failed} failed, {totals.Retried} to retry): is the SMTP server at {smtp.Host}:{smtp.Port} running?");

            // Raw: the same rendered messages on one connection, no database.
            var key = await tokens.KeyAsync();
            var variant = email.Variants[0];
            var sample2 = new SampleCustomers(11);
            var raw = new List<MimeKit.MimeMessage>(emailCount);
            for (var i = 0; i < emailCount; i++)
            {
                var c = sample2.Next(now);
                var id = Guid.CreateVersion7();
                var unsubscribe = MessageTokens.Sign(key, id, TokenPurpose.Unsubscribe);
                var rendered = MessageTemplates.Render(variant, CampaignChannel.Email, MessageTemplates.DataFor(c, null, email.Name, $"https://kolo.bench/u/{unsubscribe}"))!;
                raw.Add(sender.BuildEmail(key, id, $"c{i}@bench.kolo", rendered, unsubscribe));
            }
            sw.Restart();
            using (var client = await sender.ConnectAsync())
            {
                foreach (var m in raw) await client.SendAsync(m);
                await client.DisconnectAsync(true);
            }
            var rawSeconds = sw.Elapsed.TotalSeconds;
            Console.WriteLine();
            Console.WriteLine($"| e-mail to local SMTP ({emailCount:N0}) | Kolo sender | raw MailKit loop | ratio |");
            Console.WriteLine("|---|---:|---:|---:|");
            Console.WriteLine($"| messages/s | {emailCount / koloSeconds:N0} | {emailCount / rawSeconds:N0} | {koloSeconds / rawSeconds:F2}× |");
            Console.WriteLine($"| total s | {koloSeconds:F1} | {rawSeconds:F1} | |");

            // SMS through the file outbox, beside appending the same lines raw.
            await using (var db = factory.CreateDbContext())
            {
                await db.Campaigns.Where(c => c.Id == email.Id).ExecuteUpdateAsync(s => s.SetProperty(c => c.Status, CampaignStatus.Completed));
                await db.Campaigns.Where(c => c.Id == sms.Id).ExecuteUpdateAsync(s => s.SetProperty(c => c.Status, CampaignStatus.Running));
            }
            sw.Restart();
            var smsTotals = await sender.SendDueAsync();
            var smsSeconds = sw.Elapsed.TotalSeconds;
            if (smsTotals.Sent != smsCount) throw new BenchException($"The sender sent {smsTotals.Sent} of {smsCount} SMS.");
            var rawFile = Path.Combine(outbox, "raw.jsonl");
            sw.Restart();
            await using (var writer = new StreamWriter(rawFile))
                for (var i = 0; i < smsCount; i++)
                    await writer.WriteLineAsync(JsonSerializer.Serialize(new { id = "raw-" + i, messageId = Guid.CreateVersion7(), to = $"+38067{i:D7}", text = "Hi! Spring deal.", at = now }));
            var rawSmsSeconds = sw.Elapsed.TotalSeconds;
            Console.WriteLine();
            Console.WriteLine($"| SMS file outbox ({smsCount:N0}) | Kolo sender | raw append | ratio |");
            Console.WriteLine("|---|---:|---:|---:|");
            Console.WriteLine($"| messages/s | {smsCount / smsSeconds:N0} | {smsCount / rawSmsSeconds:N0} | {smsSeconds / rawSmsSeconds:F1}× |");
        }
        finally
        {
            try { Directory.Delete(outbox, true); } catch (IOException) { /* a temp folder, or never created */ }
            NpgsqlConnection.ClearAllPools();
            if (!options.Flag("keep") && !reuse)
            {
                await using var c = new NpgsqlConnection(server);
                await c.OpenAsync();
                await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", c);
                await drop.ExecuteNonQueryAsync();
            }
        }
    }

    private static Campaign Campaign(string name, CampaignChannel channel, CampaignStatus status, DateTime now)
    {
        var c = new Campaign
        {
            Name = name, Status = status, StartsAt = now.AddMinutes(-5), LaunchedAt = now.AddMinutes(-5), Channels = [channel], CreatedAt = now, UpdatedAt = now,
            ControlGroupPercent = 0,
        };
        c.Variants.Add(new CampaignVariant
        {
            CampaignId = c.Id, Name = "All", Audience = VariantAudience.All,
            EmailSubject = "{{ customer.first_name }}, a spring deal for you",
            EmailBody = """
                <html><body><p>Hello {{ customer.first_name }},</p><p>Our spring collection is here.</p>
                <p><a href="https://shop.example.com/spring?src=mail">See it</a> or <a href="https://shop.example.com/">visit the shop</a>.</p>
                <p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>
                """,
            SmsText = "Hi {{ customer.first_name }}! Spring deal at shop.example.com. Stop: {{ unsubscribe_url }}",
        });
        return c;
    }

    private static CampaignMessage Message(Campaign c, Guid customerId, CampaignChannel channel, string address, DateTime now) => new()
    {
        CampaignId = c.Id, VariantId = c.Variants[0].Id, CustomerId = customerId, Channel = channel, Status = MessageStatus.Queued, Address = address,
        PlannedAt = now.AddMinutes(-1), CreatedAt = now,
    };
}
