using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Kolo.Core.Tasks;
using Kolo.Core.Timeline;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace Kolo.Bench;

/// <summary>
/// Loads a timeline onto the customers `generate` made (PostgreSQL only): interactions spread unevenly over the
/// customers plus one heavy customer, the tasks they lead to (every agreement gets one, as in the app), a few
/// attachments, and the customers' record changes in the audit log, so the timeline merges three sources.
/// </summary>
public static partial class Generator
{
    private static readonly string[] TimelineTables = ["interactions", "tasks", "attachments", "audit_entries"];

    /// <summary>The employees who have the contacts and own the tasks, besides the admin the runner signs in as.</summary>
    private const int Employees = 40;

    /// <summary>The heavy customer: the one with the smallest id, so the runner finds it with one index lookup.</summary>
    public const string HeavyCustomerSql = """SELECT "Id" FROM customers WHERE "ArchivedAt" IS NULL ORDER BY "Id" LIMIT 1""";

    public static async Task RunTimelineAsync(Options options)
    {
        if (options.Provider != DatabaseProvider.Postgres) throw new BenchException("generate-timeline runs on PostgreSQL only.");
        var total = options.Int("interactions", 10_000_000);
        var heavyCount = options.Int("heavy", 10_000);
        var seed = options.Int("seed", 2026);
        var years = options.Int("years", 5);
        // The timeline ends now (not at a fixed date like the customers): every reminder already due is marked
        // sent, so the app's reminder job has nothing to do while the benchmark runs.
        var now = DateTime.UtcNow;
        var start = now.AddYears(-years);
        var random = new Random(seed + 10);

        var dbOptions = new DbContextOptionsBuilder<KoloDb>();
        DatabaseSetup.Configure(dbOptions, DatabaseProvider.Postgres, options.Connection);
        List<(Guid Id, DateTime CreatedAt)> customers;
        List<(Guid Id, string Name)> users;
        await using (var db = new KoloDb(dbOptions.Options))
        {
            await DatabaseSetup.MigrateAsync(db);
            if (await db.Interactions.AnyAsync())
                throw new BenchException("The database already holds interactions; generate-timeline runs once, after generate.");
            customers = await db.Customers.AsNoTracking().Where(c => c.ArchivedAt == null).OrderBy(c => c.Id)
                .Select(c => new ValueTuple<Guid, DateTime>(c.Id, c.CreatedAt)).ToListAsync();
            if (customers.Count < 2) throw new BenchException("Run generate first: generate-timeline spreads interactions over existing customers.");
            users = await CreateUsersAsync(db, now);
        }
        var heavy = customers[0];
        var ordinary = customers.Count - 1;
        heavyCount = Math.Min(heavyCount, total);
        Console.WriteLine($"{customers.Count:N0} customers, {users.Count} employees; heavy customer {heavy.Id} gets {heavyCount:N0} of {total:N0} interactions.");

        // Slot k of the load is the k-th interaction in time, so the table is in roughly the order an app that had
        // run for years would have written it, and each customer's rows are scattered over it. Ordinary
        // customers' counts are log-normal: most have a few dozen, some hundreds, a few none.
        var sw = Stopwatch.StartNew();
        var weights = new double[ordinary];
        double sum = 0;
        for (var i = 0; i < ordinary; i++) sum += weights[i] = Math.Exp(1.0 * Gaussian(random));
        var slots = new int[total];
        var n = 0;
        for (var i = 0; i < heavyCount; i++) slots[n++] = 0;
        var rest = total - heavyCount;
        for (var i = 0; i < ordinary && n < total; i++)
        {
            var count = (int)(weights[i] / sum * rest);
            for (var j = 0; j < count && n < total; j++) slots[n++] = i + 1;
        }
        while (n < total) slots[n++] = 1 + random.Next(ordinary);
        for (var i = total - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (slots[i], slots[j]) = (slots[j], slots[i]);
        }
        Console.WriteLine($"Spread the interactions over the customers in {sw.Elapsed.TotalSeconds:N1} s.");

        await using var connection = new NpgsqlConnection(options.Connection);
        await connection.OpenAsync();
        var loadTotal = Stopwatch.StartNew();
        List<(string Name, string Sql)> indexes;
        List<(string Table, string Name, string Sql)> foreignKeys;
        var tasks = new List<TaskItem>();
        var attachments = new List<Attachment>();
        await using (var tx = await connection.BeginTransactionAsync())
        {
            indexes = await DropPostgresSecondaryIndexesAsync(connection, tx, TimelineTables);
            // Foreign keys too: checking 10 million rows one by one costs more than one validating join afterwards.
            foreignKeys = await DropForeignKeysAsync(connection, tx, TimelineTables);
            Console.WriteLine($"Dropped {indexes.Count} secondary indexes and {foreignKeys.Count} foreign keys for the load; they come back afterwards.");

            var load = Stopwatch.StartNew();
            var span = (now - start).Ticks;
            var text = new TimelineText(random);
            await using (var w = await connection.BeginBinaryImportAsync($"COPY interactions ({Quoted(InteractionColumns)}) FROM STDIN (FORMAT BINARY)"))
            {
                for (var k = 0; k < total; k++)
                {
                    var customerId = customers[slots[k]].Id;
                    var occurredAt = new DateTime(start.Ticks + (long)((k + random.NextDouble()) / total * span), DateTimeKind.Utc);
                    var i = text.Interaction(customerId, occurredAt, users);
                    WriteInteraction(w, i);
                    // Every agreement gets a task to keep it (as the app does); a few other contacts get a follow-up.
                    if (i.Type == InteractionType.Agreement || random.NextDouble() < 0.02)
                        tasks.Add(text.Task(i, now, users));
                    if (random.NextDouble() < 0.002) attachments.Add(text.Attachment(i));
                    if ((k + 1) % 1_000_000 == 0 || k + 1 == total)
                        Console.WriteLine($"  {k + 1,11:N0} interactions  {(k + 1) / load.Elapsed.TotalSeconds,9:N0} rows/s");
                }
                await w.CompleteAsync();
            }
            var interactionSeconds = load.Elapsed.TotalSeconds;

            await using (var w = await connection.BeginBinaryImportAsync($"COPY tasks ({Quoted(TaskColumns)}) FROM STDIN (FORMAT BINARY)"))
            {
                foreach (var t in tasks) WriteTask(w, t);
                await w.CompleteAsync();
            }
            await using (var w = await connection.BeginBinaryImportAsync("""COPY attachments ("Id", "InteractionId", "CustomerId", "FileName", "ContentType", "Size", "Content", "CreatedAt", "CreatedById") FROM STDIN (FORMAT BINARY)"""))
            {
                foreach (var a in attachments)
                {
                    w.StartRow();
                    w.Write(a.Id, NpgsqlDbType.Uuid);
                    w.Write(a.InteractionId, NpgsqlDbType.Uuid);
                    w.Write(a.CustomerId, NpgsqlDbType.Uuid);
                    w.Write(a.FileName, NpgsqlDbType.Varchar);
                    w.Write(a.ContentType, NpgsqlDbType.Varchar);
                    w.Write(a.Size, NpgsqlDbType.Bigint);
                    w.Write(a.Content, NpgsqlDbType.Bytea);
                    w.Write(a.CreatedAt, NpgsqlDbType.TimestampTz);
                    WriteUuid(w, a.CreatedById);
                }
                await w.CompleteAsync();
            }

            // The customers' record changes: created, then a few updates each (the heavy customer a few hundred).
            long audits = 0;
            await using (var w = await connection.BeginBinaryImportAsync("""COPY audit_entries ("Id", "At", "UserId", "UserName", "EntityType", "EntityId", "Action", "Changes") FROM STDIN (FORMAT BINARY)"""))
            {
                for (var c = 0; c < customers.Count; c++)
                {
                    var (id, createdAt) = customers[c];
                    var updates = c == 0 ? Math.Max(1, heavyCount / 30) : Poisson(random, 2);
                    audits += 1 + updates;
                    WriteAudit(w, createdAt, users[random.Next(users.Count)], id, AuditActions.Created, text.CreatedChanges());
                    for (var u = 0; u < updates; u++)
                    {
                        var at = new DateTime(createdAt.Ticks + (long)(random.NextDouble() * (now - createdAt).Ticks), DateTimeKind.Utc);
                        WriteAudit(w, at, users[random.Next(users.Count)], id, AuditActions.Updated, text.UpdateChanges());
                    }
                }
                await w.CompleteAsync();
            }
            var loadSeconds = load.Elapsed.TotalSeconds;
            Console.WriteLine($"Loaded {total:N0} interactions in {interactionSeconds:N1} s ({total / interactionSeconds:N0} rows/s), then {tasks.Count:N0} tasks, " +
                              $"{attachments.Count:N0} attachments and {audits:N0} audit entries; {loadSeconds:N1} s in all.");
            sw.Restart();
            await tx.CommitAsync();
        }

        await ExecAsync(connection, "SET maintenance_work_mem = '512MB'");
        foreach (var (_, sql) in indexes) await ExecAsync(connection, sql);
        Console.WriteLine($"Committed and re-created the indexes in {sw.Elapsed.TotalSeconds:N1} s.");
        sw.Restart();
        foreach (var (table, name, sql) in foreignKeys) await ExecAsync(connection, $"ALTER TABLE \"{table}\" ADD CONSTRAINT \"{name}\" {sql}");
        Console.WriteLine($"Re-added and validated the foreign keys in {sw.Elapsed.TotalSeconds:N1} s.");
        sw.Restart();
        foreach (var table in TimelineTables.Append("AspNetUsers")) await ExecAsync(connection, $"VACUUM (ANALYZE) \"{table}\"");
        Console.WriteLine($"VACUUM (ANALYZE) in {sw.Elapsed.TotalSeconds:N1} s.");

        await using (var db = new KoloDb(dbOptions.Options))
        {
            // EF must read what COPY wrote: an audit entry's JSON changes and an interaction with its enums.
            var entry = await db.AuditEntries.AsNoTracking().Where(a => a.EntityType == CustomerService.EntityType && a.EntityId == heavy.Id).OrderByDescending(a => a.At).FirstAsync();
            var interaction = await db.Interactions.AsNoTracking().Where(i => i.CustomerId == heavy.Id).OrderByDescending(i => i.OccurredAt).FirstAsync();
            if (entry.Changes.Count == 0 || entry.Changes[0].Field.Length == 0) throw new BenchException("EF reads the generated audit changes as empty.");
            Console.WriteLine($"Read back through EF: {entry.Action} {string.Join(", ", entry.Changes.Select(c => $"{c.Field} {c.Old} -> {c.New}"))}; " +
                              $"{interaction.Type} {interaction.Channel} {interaction.Direction} '{interaction.Subject}' {interaction.Sentiment}");
        }
        Console.WriteLine($"Done in {loadTotal.Elapsed.TotalSeconds:N1} s. Heavy customer: {heavy.Id}");
    }

    /// <summary>The admin the runner signs in as (unless the app already made one) and the employees.</summary>
    private static async Task<List<(Guid Id, string Name)>> CreateUsersAsync(KoloDb db, DateTime now)
    {
        var users = new List<User>();
        if (!await db.Users.AnyAsync(u => u.NormalizedEmail == "ADMIN@KOLO.LOCAL"))
        {
            // With any user in the database the app no longer creates its first admin, so the generator does.
            var admin = NewUser("admin@kolo.local", "Administrator", UserRole.Admin, now);
            admin.PasswordHash = new PasswordHasher<User>().HashPassword(admin, Runner.AdminPassword);
            admin.CustomerAccess = CustomerAccess.All;
            users.Add(admin);
        }
        var sample = new SampleCustomers(99);
        for (var i = 0; i < Employees; i++)
        {
            var person = sample.Next(now);
            var role = i < 4 ? UserRole.Manager : i < 30 ? UserRole.Sales : UserRole.Support;
            users.Add(NewUser($"employee{i + 1}@kolo.local", $"{person.FirstName} {person.LastName}", role, now));
        }
        db.Users.AddRange(users);
        await db.SaveChangesAsync();
        return users.Where(u => u.Role != UserRole.Admin).Select(u => (u.Id, u.DisplayName)).ToList();
    }

    private static User NewUser(string email, string name, UserRole role, DateTime now) => new()
    {
        UserName = email, NormalizedUserName = email.ToUpperInvariant(), Email = email, NormalizedEmail = email.ToUpperInvariant(),
        EmailConfirmed = true, DisplayName = name, Role = role, CreatedAt = now.AddYears(-6), LockoutEnabled = true,
        SecurityStamp = Guid.NewGuid().ToString("N").ToUpperInvariant(), ConcurrencyStamp = Guid.NewGuid().ToString(),
    };

    private static async Task<List<(string Table, string Name, string Sql)>> DropForeignKeysAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string[] tables)
    {
        var keys = new List<(string, string, string)>();
        await using (var cmd = new NpgsqlCommand("""
            SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
            WHERE c.contype = 'f' AND t.relname = ANY(@tables) AND t.relnamespace = current_schema()::regnamespace
            """, connection, tx))
        {
            cmd.Parameters.AddWithValue("tables", tables);
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync()) keys.Add((r.GetString(0), r.GetString(1), r.GetString(2)));
        }
        foreach (var (table, name, _) in keys)
        {
            await using var drop = new NpgsqlCommand($"ALTER TABLE \"{table}\" DROP CONSTRAINT \"{name}\"", connection, tx);
            await drop.ExecuteNonQueryAsync();
        }
        return keys;
    }

    private static async Task ExecAsync(NpgsqlConnection connection, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        await cmd.ExecuteNonQueryAsync();
    }

    private static readonly string[] InteractionColumns =
    [
        "Id", "CustomerId", "Type", "Channel", "Direction", "Subject", "Body", "OccurredAt", "UserId", "Outcome", "Sentiment",
        "RelatedType", "RelatedId", "ExternalSource", "ExternalId", "CreatedAt", "CreatedById", "ArchivedAt", "Version",
    ];

    private static void WriteInteraction(NpgsqlBinaryImporter w, Interaction i)
    {
        w.StartRow();
        w.Write(i.Id, NpgsqlDbType.Uuid);
        w.Write(i.CustomerId, NpgsqlDbType.Uuid);
        w.Write(i.Type.ToString(), NpgsqlDbType.Varchar);
        WriteText(w, i.Channel?.ToString());
        WriteText(w, i.Direction?.ToString());
        WriteText(w, i.Subject);
        if (i.Body is null) w.WriteNull(); else w.Write(i.Body, NpgsqlDbType.Text);
        w.Write(i.OccurredAt, NpgsqlDbType.TimestampTz);
        WriteUuid(w, i.UserId);
        WriteText(w, i.Outcome);
        WriteText(w, i.Sentiment?.ToString());
        WriteText(w, i.RelatedType);
        WriteUuid(w, i.RelatedId);
        WriteText(w, i.ExternalSource);
        WriteText(w, i.ExternalId);
        w.Write(i.CreatedAt, NpgsqlDbType.TimestampTz);
        WriteUuid(w, i.CreatedById);
        if (i.ArchivedAt is { } a) w.Write(a, NpgsqlDbType.TimestampTz); else w.WriteNull();
        w.Write(i.Version, NpgsqlDbType.Uuid);
    }

    private static readonly string[] TaskColumns =
    [
        "Id", "Title", "Notes", "DueAt", "SortDueAt", "RemindAt", "ReminderSentAt", "EmailReminder", "Priority", "Status", "AssigneeId",
        "CustomerId", "RelatedType", "RelatedId", "SourceInteractionId", "CreatedAt", "CreatedById", "UpdatedAt", "CompletedAt",
        "CompletedById", "Outcome", "Version",
    ];

    private static void WriteTask(NpgsqlBinaryImporter w, TaskItem t)
    {
        w.StartRow();
        w.Write(t.Id, NpgsqlDbType.Uuid);
        w.Write(t.Title, NpgsqlDbType.Varchar);
        WriteText(w, t.Notes);
        WriteTime(w, t.DueAt);
        w.Write(t.SortDueAt, NpgsqlDbType.TimestampTz);
        WriteTime(w, t.RemindAt);
        WriteTime(w, t.ReminderSentAt);
        w.Write(t.EmailReminder, NpgsqlDbType.Boolean);
        w.Write(t.Priority.ToString(), NpgsqlDbType.Varchar);
        w.Write(t.Status.ToString(), NpgsqlDbType.Varchar);
        w.Write(t.AssigneeId, NpgsqlDbType.Uuid);
        WriteUuid(w, t.CustomerId);
        WriteText(w, t.RelatedType);
        WriteUuid(w, t.RelatedId);
        WriteUuid(w, t.SourceInteractionId);
        w.Write(t.CreatedAt, NpgsqlDbType.TimestampTz);
        WriteUuid(w, t.CreatedById);
        w.Write(t.UpdatedAt, NpgsqlDbType.TimestampTz);
        WriteTime(w, t.CompletedAt);
        WriteUuid(w, t.CompletedById);
        WriteText(w, t.Outcome);
        w.Write(t.Version, NpgsqlDbType.Uuid);
    }

    private static void WriteAudit(NpgsqlBinaryImporter w, DateTime at, (Guid Id, string Name) user, Guid customerId, string action, string changes)
    {
        w.StartRow();
        w.Write(Guid.CreateVersion7(new DateTimeOffset(at)), NpgsqlDbType.Uuid);
        w.Write(at, NpgsqlDbType.TimestampTz);
        w.Write(user.Id, NpgsqlDbType.Uuid);
        w.Write(user.Name, NpgsqlDbType.Varchar);
        w.Write(CustomerService.EntityType, NpgsqlDbType.Varchar);
        w.Write(customerId, NpgsqlDbType.Uuid);
        w.Write(action, NpgsqlDbType.Varchar);
        w.Write(changes, NpgsqlDbType.Jsonb);
    }

    private static void WriteText(NpgsqlBinaryImporter w, string? value)
    {
        if (value is null) w.WriteNull(); else w.Write(value, NpgsqlDbType.Varchar);
    }

    private static void WriteUuid(NpgsqlBinaryImporter w, Guid? value)
    {
        if (value is { } v) w.Write(v, NpgsqlDbType.Uuid); else w.WriteNull();
    }

    private static void WriteTime(NpgsqlBinaryImporter w, DateTime? value)
    {
        if (value is { } v) w.Write(v, NpgsqlDbType.TimestampTz); else w.WriteNull();
    }

    private static double Gaussian(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());

    private static int Poisson(Random r, double mean)
    {
        var (l, k, p) = (Math.Exp(-mean), 0, 1.0);
        do { k++; p *= r.NextDouble(); } while (p > l);
        return k - 1;
    }

    /// <summary>Plausible contents: types and channels in CRM-like proportions, subjects, short sanitised bodies, outcomes.</summary>
    private sealed class TimelineText(Random r)
    {
        private static readonly (InteractionType Type, double Share)[] Types =
        [
            (InteractionType.Call, 0.30), (InteractionType.Email, 0.25), (InteractionType.Chat, 0.10), (InteractionType.Meeting, 0.08),
            (InteractionType.Sms, 0.08), (InteractionType.Note, 0.06), (InteractionType.Web, 0.05), (InteractionType.Visit, 0.04),
            (InteractionType.Agreement, 0.02), (InteractionType.Letter, 0.02),
        ];

        private static readonly string[] Topics =
        [
            "delivery dates", "the invoice", "a discount", "the new price list", "a return", "the contract renewal", "a complaint",
            "installation", "the warranty", "payment terms", "a product demo", "an upgrade", "the spring catalogue", "a quote",
            "доставка", "рахунок-фактура", "оплата частинами",
        ];

        private static readonly string[] Sentences =
        [
            "The customer asked about {0} and wants an answer by Friday.", "We went through {0} in detail.",
            "Promised to send the documents on {0} today.", "The customer is unhappy with {0} and expects a call back.",
            "Agreed to revisit {0} next month.", "Left a voicemail about {0}.", "Sent a summary of {0} with the attachments mentioned.",
            "Клієнт уточнив питання щодо: {0}.", "Discussed {0}; the decision is with their finance department.",
        ];

        private static readonly string[] Outcomes =
        [
            "Agreed on next steps", "No answer", "Left a voicemail", "Sent an offer", "Call back requested", "Resolved", "Escalated to a manager",
            "Order placed", "Not interested right now",
        ];

        private static readonly string[] Sources = ["call-center", "mail-gateway", "website"];
        private long _external;

        public Interaction Interaction(Guid customerId, DateTime occurredAt, List<(Guid Id, string Name)> users)
        {
            var type = PickType();
            var topic = Topics[r.Next(Topics.Length)];
            var user = r.NextDouble() < 0.9 ? users[r.Next(users.Count)].Id : (Guid?)null;
            var createdAt = occurredAt.AddSeconds(r.Next(5, 1800));
            string? source = null, externalId = null;
            if (type is InteractionType.Call or InteractionType.Email or InteractionType.Web or InteractionType.Chat && r.NextDouble() < 0.4)
            {
                source = Sources[r.Next(Sources.Length)];
                externalId = $"{source[..2]}-{++_external:D9}";
            }
            return new Interaction
            {
                Id = Guid.CreateVersion7(new DateTimeOffset(createdAt)),
                CustomerId = customerId,
                Type = type,
                Channel = InteractionService.DefaultChannel(type), // as the app records them
                Direction = type switch
                {
                    InteractionType.Note or InteractionType.Agreement => null,
                    InteractionType.Web => InteractionDirection.Inbound,
                    InteractionType.Meeting or InteractionType.Visit => r.NextDouble() < 0.7 ? InteractionDirection.Outbound : null,
                    _ => r.NextDouble() < 0.5 ? InteractionDirection.Inbound : InteractionDirection.Outbound,
                },
                Subject = type switch
                {
                    InteractionType.Call when r.NextDouble() < 0.3 => null,
                    InteractionType.Email => r.NextDouble() < 0.5 ? $"Re: {topic}" : $"Question about {topic}",
                    InteractionType.Agreement => $"Agreed: {topic} by {occurredAt.AddDays(14):d MMM}",
                    InteractionType.Web => $"Web form: {topic}",
                    _ => Capitalise(topic),
                },
                Body = r.NextDouble() < (type == InteractionType.Email ? 0.9 : 0.45) ? Body(topic) : null,
                OccurredAt = occurredAt,
                UserId = user,
                Outcome = type is InteractionType.Call or InteractionType.Meeting or InteractionType.Visit && r.NextDouble() < 0.6 ? Outcomes[r.Next(Outcomes.Length)] : null,
                Sentiment = r.NextDouble() switch { < 0.30 => Sentiment.Positive, < 0.75 => Sentiment.Neutral, < 0.85 => Sentiment.Negative, _ => null },
                RelatedType = r.NextDouble() < 0.05 ? "order" : null,
                ExternalSource = source,
                ExternalId = externalId,
                CreatedAt = createdAt,
                CreatedById = user,
                ArchivedAt = r.NextDouble() < 0.005 ? createdAt.AddDays(1) : null,
                Version = Guid.NewGuid(),
            }.WithRelatedId(r);
        }

        public TaskItem Task(Interaction i, DateTime now, List<(Guid Id, string Name)> users)
        {
            var agreement = i.Type == InteractionType.Agreement;
            var due = i.CreatedAt.AddDays(r.Next(1, 30));
            var status = due > now ? TaskItemStatus.Open : r.NextDouble() switch { < 0.85 => TaskItemStatus.Done, < 0.92 => TaskItemStatus.Cancelled, _ => TaskItemStatus.Open };
            var assignee = i.UserId ?? users[r.Next(users.Count)].Id;
            var completedAt = status == TaskItemStatus.Done ? due.AddDays(-r.Next(0, 3)) : (DateTime?)null;
            var remindAt = r.NextDouble() < 0.5 ? due.AddHours(-1) : (DateTime?)null;
            return new TaskItem
            {
                Id = Guid.CreateVersion7(new DateTimeOffset(i.CreatedAt)),
                Title = agreement ? $"Keep agreement: {i.Subject}" : $"Follow up: {i.Subject ?? "call"}",
                DueAt = due, RemindAt = remindAt, ReminderSentAt = remindAt < now ? remindAt : null,
                Priority = agreement ? TaskPriority.High : (TaskPriority)r.Next(0, 3), Status = status,
                AssigneeId = assignee, CustomerId = i.CustomerId, SourceInteractionId = agreement ? i.Id : null,
                CreatedAt = i.CreatedAt, CreatedById = i.CreatedById, UpdatedAt = completedAt ?? i.CreatedAt,
                CompletedAt = completedAt, CompletedById = completedAt is null ? null : assignee,
                Outcome = completedAt is null ? null : Outcomes[r.Next(Outcomes.Length)],
            }.WithSortKey();
        }

        public Attachment Attachment(Interaction i)
        {
            var content = new byte[r.Next(1_000, 8_000)];
            r.NextBytes(content);
            return new Attachment
            {
                InteractionId = i.Id, CustomerId = i.CustomerId, FileName = $"document-{r.Next(1000, 9999)}.pdf",
                ContentType = "application/pdf", Size = content.Length, Content = content, CreatedAt = i.CreatedAt, CreatedById = i.CreatedById,
            };
        }

        private static readonly string[] Fields = ["status", "phones", "emails", "addresses", "tags", "preferredChannel", "source", "ownerId"];
        private static readonly string[] Statuses = ["Lead", "Prospect", "Active", "Inactive"];

        public string CreatedChanges() =>
            Changes([("firstName", null, "…"), ("lastName", null, "…"), ("status", null, Statuses[r.Next(Statuses.Length)])]);

        public string UpdateChanges()
        {
            var count = r.Next(1, 3);
            var changes = new List<(string, string?, string?)>();
            for (var i = 0; i < count; i++)
            {
                var field = Fields[r.Next(Fields.Length)];
                changes.Add(field == "status"
                    ? (field, Statuses[r.Next(Statuses.Length)], Statuses[r.Next(Statuses.Length)])
                    : (field, $"old {field}", $"new {field}"));
            }
            return Changes(changes);
        }

        /// <summary>EF Core's owned-JSON form of List&lt;FieldChange&gt;; checked by reading an entry back through EF.</summary>
        private static string Changes(IEnumerable<(string Field, string? Old, string? New)> changes) =>
            JsonSerializer.Serialize(changes.Select(c => new Dictionary<string, string?> { ["Field"] = c.Field, ["New"] = c.New, ["Old"] = c.Old }));

        private InteractionType PickType()
        {
            var x = r.NextDouble();
            foreach (var (type, share) in Types)
            {
                if (x < share) return type;
                x -= share;
            }
            return InteractionType.Note;
        }

        private string Body(string topic)
        {
            var sb = new StringBuilder();
            var count = r.Next(1, 4);
            for (var i = 0; i < count; i++)
                sb.Append("<p>").Append(System.Net.WebUtility.HtmlEncode(string.Format(System.Globalization.CultureInfo.InvariantCulture, Sentences[r.Next(Sentences.Length)], topic))).Append("</p>");
            return sb.ToString();
        }

        private static string Capitalise(string s) => char.ToUpperInvariant(s[0]) + s[1..];
    }

    private static Interaction WithRelatedId(this Interaction i, Random r)
    {
        if (i.RelatedType is not null)
        {
            var bytes = new byte[16];
            r.NextBytes(bytes);
            i.RelatedId = new Guid(bytes);
        }
        return i;
    }
}
