using System.Diagnostics;
using Kolo.Core.Analytics;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Marketing;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Kolo.Bench;

/// <summary>
/// The campaign audience benchmark (issue 9): a fresh PostgreSQL database with --customers customers (consents and
/// addresses mixed: e-mail consent granted, withdrawn or never given, SMS and phone consent for some, no address for a few,
/// CLV for half), and the messages of two other campaigns around the planned time (a lower-priority one still queued for
/// 40 %, a higher-priority one sent by SMS to 20 %). Then the audience preview (counts only) and the launch (every message
/// written, lower-priority queued messages displaced) of a campaign over all of them under the contact policy, beside the
/// same candidate read written by hand in SQL and a raw binary COPY of the very message rows the launch wrote.
/// </summary>
public static class AudienceBench
{
    private const string Database = "kolo_bench_audience";

    public static async Task RunAsync(Options options)
    {
        var server = options.Connection;
        var customerCount = options.Int("customers", 1_000_000);
        var previewRuns = Math.Max(1, options.Int("preview-runs", 2));
        var random = new Random(options.Int("seed", 2026));
        var now = DateTime.UtcNow;
        var start = now.Date.AddDays(3).AddHours(10);

        await using (var c = new NpgsqlConnection(server))
        {
            await c.OpenAsync();
            await using (var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Database} WITH (FORCE)", c)) await drop.ExecuteNonQueryAsync();
            await using (var create = new NpgsqlCommand($"CREATE DATABASE {Database}", c)) await create.ExecuteNonQueryAsync();
        }
        var cs = new NpgsqlConnectionStringBuilder(server) { Database = Database, CommandTimeout = 0 }.ConnectionString;
        var dbOptions = new DbContextOptionsBuilder<KoloDb>();
        DatabaseSetup.Configure(dbOptions, DatabaseProvider.Postgres, cs);
        var factory = new BenchDb.Factory(dbOptions.Options);
        try
        {
            var sw = Stopwatch.StartNew();
            await using (var db = factory.CreateDbContext()) await DatabaseSetup.MigrateAsync(db);

            // Two other campaigns whose messages compete for the same customers.
            var lower = new Campaign { Name = "Lower priority", Status = CampaignStatus.Running, Priority = 30, StartsAt = start.AddDays(-2), CreatedAt = now, UpdatedAt = now, Channels = [CampaignChannel.Email] };
            var higher = new Campaign { Name = "Higher priority", Status = CampaignStatus.Running, Priority = 70, StartsAt = start.AddDays(-1), CreatedAt = now, UpdatedAt = now, Channels = [CampaignChannel.Sms] };
            var segment = new Segment
            {
                Name = "Everyone", Kind = SegmentKind.Rules, CreatedAt = now, UpdatedAt = now,
                Definition = new SegmentDefinition { Conditions = [new SegmentCondition { Field = SegmentFields.Status, Operator = "in", Values = ["Prospect", "Lead", "Customer", "Lapsed"] }] },
            };
            var target = new Campaign
            {
                Name = "Bench campaign", Status = CampaignStatus.Approved, Priority = 50, StartsAt = start, CreatedAt = now, UpdatedAt = now,
                Channels = [CampaignChannel.Email, CampaignChannel.Sms], SegmentIds = [segment.Id], ControlGroupPercent = 10,
                EmailCostMinor = 50, SmsCostMinor = 150, FixedCostMinor = 1_000_000, BudgetMinor = 1_000_000 + customerCount * 40L,
            };
            target.Variants =
            [
                new CampaignVariant { CampaignId = target.Id, Name = "Prospects", Audience = VariantAudience.Prospects, SortOrder = 0, EmailSubject = "Hi", EmailBody = "<p>Hi</p>", SmsText = "Hi" },
                new CampaignVariant { CampaignId = target.Id, Name = "Customers", Audience = VariantAudience.All, SortOrder = 1, EmailSubject = "Hello", EmailBody = "<p>Hello</p>", SmsText = "Hello" },
            ];
            await using (var db = factory.CreateDbContext())
            {
                db.Campaigns.AddRange(lower, higher, target);
                db.Segments.Add(segment);
                // Per channel at most one e-mail and one SMS a week, three contacts in total; no quiet hours at 10:00 UTC.
                db.ContactPolicies.Add(new ContactPolicy { MaxEmail = 1, MaxSms = 1, MaxTotal = 3 });
                await db.SaveChangesAsync();
            }

            var sample = new SampleCustomers(11);
            // Search terms as the customer API writes them: the build reads the addresses records share through them.
            var terms = new CustomerService(null!, TimeProvider.System, new PhoneNormalizer(), []);
            var queuedOthers = 0;
            var sentOthers = 0;
            foreach (var chunk in Enumerable.Range(0, customerCount).Chunk(50_000))
            {
                var records = new List<object>(chunk.Length * 3);
                foreach (var _ in chunk)
                {
                    var c = sample.Next(now);
                    var roll = random.NextDouble();
                    // 70 % granted / 30 % withdrawn e-mail consent from the sample; a tenth of those never said anything.
                    if (roll < 0.1) c.Consents = [];
                    if (random.NextDouble() < 0.4) c.Consents.Add(new ChannelConsent { Channel = ContactChannel.Sms, Granted = true, At = now, Source = "bench" });
                    if (random.NextDouble() < 0.03) { c.Emails = []; c.Phones = []; }
                    records.Add(c);
                    records.AddRange(terms.BuildSearchTerms(c));
                    if (random.NextDouble() < 0.5) records.Add(new CustomerScore { CustomerId = c.Id, AsOf = now, ClvMinor = random.Next(0, 2_000_000) });
                    if (random.NextDouble() < 0.4)
                    {
                        records.Add(new CampaignMessage { CampaignId = lower.Id, CustomerId = c.Id, Channel = CampaignChannel.Email, Status = MessageStatus.Queued, PlannedAt = lower.StartsAt, CreatedAt = now, Address = "x@example.com" });
                        queuedOthers++;
                    }
                    if (random.NextDouble() < 0.2)
                    {
                        records.Add(new CampaignMessage { CampaignId = higher.Id, CustomerId = c.Id, Channel = CampaignChannel.Sms, Status = MessageStatus.Sent, PlannedAt = higher.StartsAt, SentAt = higher.StartsAt, CreatedAt = now, Address = "+380000000000" });
                        sentOthers++;
                    }
                }
                await BenchDb.WriteAsync(factory, records);
            }
            await using (var db = factory.CreateDbContext()) await db.Database.ExecuteSqlRawAsync("ANALYZE");
            Console.WriteLine($"Loaded {customerCount:N0} customers, {queuedOthers:N0} queued e-mails of a lower-priority campaign, {sentOthers:N0} sent SMS of a higher one in {sw.Elapsed.TotalSeconds:F1} s.");

            var clock = TimeProvider.System;
            AudienceSummary? preview = null;
            var previewTimes = new List<double>();
            for (var i = 0; i < previewRuns; i++)
            {
                await using var db = factory.CreateDbContext();
                var campaign = await db.Campaigns.AsNoTracking().Include(c => c.Variants).FirstAsync(c => c.Id == target.Id);
                var policy = await ContactPolicyService.LoadAsync(db, default);
                var t = Stopwatch.StartNew();
                preview = await AudienceBuilder.BuildAsync(db, campaign, policy, now, write: false, null, default);
                previewTimes.Add(t.Elapsed.TotalSeconds);
            }

            var rawRead = await RawCandidateReadAsync(cs, start, previewRuns);

            var runner = new CampaignJobRunner(factory, clock);
            var job = new CampaignJob { CampaignId = target.Id, Kind = CampaignJobKind.Launch, Status = CampaignJobStatus.Running, CreatedAt = now };
            await using (var db = factory.CreateDbContext())
            {
                db.CampaignJobs.Add(job);
                await db.SaveChangesAsync();
            }
            var launchWatch = Stopwatch.StartNew();
            await runner.RunAsync(job);
            var launchSeconds = launchWatch.Elapsed.TotalSeconds;
            CampaignJob done;
            await using (var db = factory.CreateDbContext()) done = await db.CampaignJobs.AsNoTracking().FirstAsync(j => j.Id == job.Id);
            if (done.Status != CampaignJobStatus.Succeeded) throw new BenchException($"The launch failed: {done.Error}");
            var launched = System.Text.Json.JsonSerializer.Deserialize<AudienceSummary>(done.Result!, AudienceSummary.Json)!;

            var (rows, copySeconds) = await RawCopyAsync(cs, target.Id);

            Console.WriteLine($"\nPostgreSQL, {customerCount:N0} customers in the target segment; policy 1 e-mail + 1 SMS + 3 total per 7 days (s):");
            Console.WriteLine($"{"step",-44} {"seconds",8}");
            Console.WriteLine($"{"audience preview (best of " + previewRuns + ")",-44} {previewTimes.Min(),8:F2}");
            Console.WriteLine($"{"  raw SQL: the same candidate read",-44} {rawRead,8:F2}");
            Console.WriteLine($"{"launch (preview's work + writing every row)",-44} {launchSeconds,8:F2}");
            Console.WriteLine($"{"  raw COPY of the same " + rows.ToString("N0") + " rows",-44} {copySeconds,8:F2}");
            Console.WriteLine($"preview/raw read {previewTimes.Min() / rawRead:F1}x; launch/(raw read + raw copy) {launchSeconds / (rawRead + copySeconds):F1}x");
            Console.WriteLine($"\nTargeted {launched.Targeted:N0}: reached {launched.Reached:N0} ({string.Join(", ", launched.ReachedByChannel.Select(kv => $"{kv.Key} {kv.Value:N0}"))}), " +
                              $"suppressed {launched.Suppressed:N0} ({string.Join(", ", launched.SuppressedByReason.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} {kv.Value:N0}"))}), " +
                              $"displaced {launched.Displaced:N0}; estimated cost {launched.EstimatedCostMinor / 100m:N2} UAH.");
            if (preview is not null) Console.WriteLine("preview by stage (ms): " + string.Join(", ", preview.StageMs.Select(kv => $"{kv.Key} {kv.Value:N0}")));
            Console.WriteLine("launch by stage (ms): " + string.Join(", ", launched.StageMs.Select(kv => $"{kv.Key} {kv.Value:N0}")));
            if (preview is not null && (preview.Reached != launched.Reached || preview.Suppressed != launched.Suppressed))
                Console.WriteLine($"NOTE: the preview counted {preview.Reached:N0} reached / {preview.Suppressed:N0} suppressed, the launch differs.");
        }
        finally
        {
            if (!options.Flag("keep"))
            {
                NpgsqlConnection.ClearAllPools();
                await using var c = new NpgsqlConnection(server);
                await c.OpenAsync();
                await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Database} WITH (FORCE)", c);
                await drop.ExecuteNonQueryAsync();
            }
        }
    }

    /// <summary>
    /// What the audience build reads, as plain SQL: the target's ids with CLV, their addresses and consents, and the other
    /// campaigns' contacts around the planned time — one pass each, no batching. Best of <paramref name="runs"/>.
    /// </summary>
    private static async Task<double> RawCandidateReadAsync(string cs, DateTime plannedAt, int runs)
    {
        var best = double.MaxValue;
        for (var i = 0; i < runs; i++)
        {
            await using var c = new NpgsqlConnection(cs);
            await c.OpenAsync();
            var sw = Stopwatch.StartNew();
            await using (var candidates = new NpgsqlCommand("""
                SELECT c."Id", COALESCE(s."ClvMinor", 0), c."Status", c."PreferredChannel", c."Emails", c."Phones", c."Consents"
                FROM customers c LEFT JOIN customer_scores s ON s."CustomerId" = c."Id"
                WHERE c."ArchivedAt" IS NULL AND c."MergedIntoId" IS NULL AND c."Status" IN ('Prospect', 'Lead', 'Customer', 'Lapsed')
                ORDER BY 2 DESC, 1
                """, c))
            await using (var r = await candidates.ExecuteReaderAsync())
                while (await r.ReadAsync()) { _ = r.GetGuid(0); _ = r.GetString(4); _ = r.GetString(5); _ = r.GetString(6); }
            await using (var contacts = new NpgsqlCommand("""
                SELECT m."Id", m."CustomerId", m."Channel", m."Status", m."PlannedAt", k."Priority"
                FROM campaign_messages m JOIN campaigns k ON k."Id" = m."CampaignId"
                WHERE m."PlannedAt" > @from AND m."PlannedAt" < @to AND m."Status" <> 'Suppressed'
                """, c))
            {
                contacts.Parameters.AddWithValue("from", plannedAt.AddDays(-7));
                contacts.Parameters.AddWithValue("to", plannedAt.AddDays(7));
                await using var r = await contacts.ExecuteReaderAsync();
                while (await r.ReadAsync()) { _ = r.GetGuid(1); }
            }
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return best;
    }

    /// <summary>The launch's rows exported in binary and copied into an empty table with the same columns and indexes.</summary>
    private static async Task<(long Rows, double Seconds)> RawCopyAsync(string cs, Guid campaignId)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        using var buffer = new MemoryStream();
        await using (var export = await c.BeginRawBinaryCopyAsync($"COPY (SELECT * FROM campaign_messages WHERE \"CampaignId\" = '{campaignId}') TO STDOUT (FORMAT BINARY)"))
            await export.CopyToAsync(buffer);
        await using (var create = new NpgsqlCommand("CREATE TABLE bench_messages (LIKE campaign_messages INCLUDING DEFAULTS INCLUDING INDEXES)", c)) await create.ExecuteNonQueryAsync();
        buffer.Position = 0;
        var sw = Stopwatch.StartNew();
        await using (var import = await c.BeginRawBinaryCopyAsync("COPY bench_messages FROM STDIN (FORMAT BINARY)"))
            await buffer.CopyToAsync(import);
        var seconds = sw.Elapsed.TotalSeconds;
        await using var count = new NpgsqlCommand("SELECT count(*) FROM bench_messages", c);
        return ((long)(await count.ExecuteScalarAsync())!, seconds);
    }
}
