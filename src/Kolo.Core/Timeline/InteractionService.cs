using System.ComponentModel.DataAnnotations;
using Ganss.Xss;
using Kolo.Core.Customers;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Kolo.Core.Tasks;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Timeline;

public sealed class InteractionInput
{
    /// <summary>Who the contact was with. Without it, the customer is found by <see cref="Email"/> or <see cref="Phone"/>.</summary>
    public Guid? CustomerId { get; set; }
    [Required] public InteractionType? Type { get; set; }
    public ContactChannel? Channel { get; set; }
    public InteractionDirection? Direction { get; set; }
    [StringLength(300)] public string? Subject { get; set; }
    /// <summary>Text or HTML; scripts and other active content are removed before it is stored.</summary>
    [StringLength(100_000)] public string? Body { get; set; }
    public DateTime? OccurredAt { get; set; }
    /// <summary>The employee who had the contact; the caller when omitted.</summary>
    public Guid? UserId { get; set; }
    [StringLength(500)] public string? Outcome { get; set; }
    public Sentiment? Sentiment { get; set; }
    [RegularExpression("^(order|deal|ticket|campaign)$", ErrorMessage = "Use order, deal, ticket or campaign.")]
    public string? RelatedType { get; set; }
    public Guid? RelatedId { get; set; }
    /// <summary>The sending system (e.g. "call-center"); with <see cref="ExternalId"/> it makes the intake idempotent.</summary>
    [StringLength(60)] public string? ExternalSource { get; set; }
    [StringLength(200)] public string? ExternalId { get; set; }
    [EmailAddress, StringLength(254)] public string? Email { get; set; }
    [StringLength(40)] public string? Phone { get; set; }
    /// <summary>The person's name, used when no customer matches and a prospect is created.</summary>
    [StringLength(200)] public string? Name { get; set; }
    /// <summary>For agreements: when the promise is due. A task to keep it is created.</summary>
    public DateTime? DueAt { get; set; }
    /// <summary>Who must keep the agreement; the customer's owner, else the caller, when omitted.</summary>
    public Guid? AssigneeId { get; set; }
}

public sealed record AttachmentView(Guid Id, string FileName, string ContentType, long Size, DateTime CreatedAt);

public sealed record InteractionView
{
    public Guid Id { get; init; }
    public Guid CustomerId { get; init; }
    public string? CustomerName { get; init; }
    public InteractionType Type { get; init; }
    public ContactChannel? Channel { get; init; }
    public InteractionDirection? Direction { get; init; }
    public string? Subject { get; init; }
    public string? Body { get; init; }
    public DateTime OccurredAt { get; init; }
    public Guid? UserId { get; init; }
    public string? UserName { get; init; }
    public string? Outcome { get; init; }
    public Sentiment? Sentiment { get; init; }
    public string? RelatedType { get; init; }
    public Guid? RelatedId { get; init; }
    public string? ExternalSource { get; init; }
    public string? ExternalId { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime? ArchivedAt { get; init; }
    public IReadOnlyList<AttachmentView> Attachments { get; init; } = [];
    /// <summary>The task created to keep this agreement, if any.</summary>
    public Guid? TaskId { get; init; }
    public Guid Version { get; init; }
}

/// <summary>What the intake did: stored a new interaction or recognised a repeat, and whether it created a prospect.</summary>
public sealed record IntakeResult(InteractionView Interaction, bool Created, bool CustomerCreated);

/// <summary>Contacts with customers: recording, idempotent intake from other systems, attachments, feedback.</summary>
public sealed class InteractionService(
    IDbContextFactory<KoloDb> dbFactory, TimeProvider clock, PhoneNormalizer phones, CustomerService customers)
{
    public const string EntityType = "interaction";

    // The sanitiser's defaults keep formatting (b, i, p, lists, links, tables) and drop scripts, event handlers,
    // javascript: URLs and iframes. They keep forms, though: a stored form inside Kolo's pages could ask a colleague
    // for their password and post it elsewhere, so form controls go too. And they keep "position" and "z-index": a
    // body could lay a fixed box over the whole page (a fake sign-in notice), so those two go as well.
    private static readonly HtmlSanitizer Sanitizer = CreateSanitizer();

    private static HtmlSanitizer CreateSanitizer()
    {
        var sanitizer = new HtmlSanitizer();
        foreach (var tag in new[] { "form", "input", "button", "select", "option", "optgroup", "textarea", "fieldset", "legend", "label" })
            sanitizer.AllowedTags.Remove(tag);
        sanitizer.AllowedCssProperties.Remove("position");
        sanitizer.AllowedCssProperties.Remove("z-index");
        return sanitizer;
    }

    public static string? Sanitize(string? html) => string.IsNullOrWhiteSpace(html) ? null : Sanitizer.Sanitize(html).Trim();

    public async Task<IntakeResult> RecordAsync(Actor actor, InteractionInput input, CancellationToken ct = default)
    {
        var errors = new ValidationErrors();
        if (input.DueAt is not null && input.Type != InteractionType.Agreement)
            errors.Add("dueAt", "Only an agreement has a due date; create a task for other follow-ups.");
        else if (input.DueAt is { } due && (due.Year < 1900 || due.Year > 9000)) errors.Add("dueAt", "Give a due date between the years 1900 and 9000.");
        if (input.ExternalId is not null && string.IsNullOrWhiteSpace(input.ExternalId)) errors.Add("externalId", "The external id cannot be blank.");
        if (input.CustomerId is null && input.Email is null && input.Phone is null)
            errors.Add("customerId", "Give the customer's id, or an e-mail or phone to find (or create) the customer by.");
        string? e164 = null;
        if (input.Phone is not null && !phones.TryNormalize(input.Phone, out e164!))
            errors.Add("phone", $"'{input.Phone}' is not a valid phone number.");
        if ((input.RelatedType is null) != (input.RelatedId is null)) errors.Add("relatedId", "Give both relatedType and relatedId, or neither.");
        errors.ThrowIfAny();

        var source = input.ExternalId is null ? null : (string.IsNullOrWhiteSpace(input.ExternalSource) ? "api" : input.ExternalSource.Trim());
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (source is not null && await FindExternalAsync(db, source, input.ExternalId!, ct) is { } existing)
            return await RepeatAsync(db, actor, existing, ct);

        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var (customerId, ownerId, customerCreated) = await ResolveCustomerAsync(db, actor, input, e164, ct);
        // A contact about a deal marks the deal active: only a deal of this customer that the caller may see.
        if (input.RelatedType == Sales.DealService.RelatedType
            && !await Sales.DealService.Visible(db, actor).AnyAsync(d => d.Id == input.RelatedId && d.CustomerId == customerId, ct))
            throw ValidationFailedException.For("relatedId", "No deal of this customer has this id.");
        var now = Now();
        // Ids break ties on the timeline (same time): the agreement's task takes the smaller of two fresh ids, so the
        // agreement itself shows above the task it created. (Version 7 ids made in one millisecond are not ordered.)
        var (agreementTaskId, interactionId) = OrderedIds();
        var interaction = new Interaction
        {
            Id = interactionId,
            CustomerId = customerId, Type = input.Type!.Value, Channel = input.Channel ?? DefaultChannel(input.Type.Value),
            Direction = input.Direction, Subject = Clean(input.Subject), Body = Sanitize(input.Body),
            OccurredAt = input.OccurredAt?.ToUniversalTime() ?? now, UserId = input.UserId ?? NullIfSystem(actor),
            Outcome = Clean(input.Outcome), Sentiment = input.Sentiment, RelatedType = input.RelatedType, RelatedId = input.RelatedId,
            ExternalSource = source, ExternalId = input.ExternalId?.Trim(), CreatedAt = now, CreatedById = NullIfSystem(actor),
        };
        if (interaction.UserId is { } userId && userId != actor.UserId && !await db.Users.AnyAsync(u => u.Id == userId, ct))
            throw ValidationFailedException.For("userId", "No user has this id.");
        db.Interactions.Add(interaction);
        db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, interaction.Id, AuditActions.Created,
            [new FieldChange("type", null, interaction.Type.ToString()), new FieldChange("customerId", null, customerId.ToString())]));

        if (input.DueAt is { } dueAt)
        {
            var assignee = input.AssigneeId ?? ownerId ?? NullIfSystem(actor)
                ?? throw ValidationFailedException.For("assigneeId", "Say who keeps this agreement.");
            if (!await db.Users.AnyAsync(u => u.Id == assignee && u.DeactivatedAt == null, ct))
                throw ValidationFailedException.For("assigneeId", "No active user has this id.");
            db.Tasks.Add(new TaskItem
            {
                Id = agreementTaskId,
                Title = Limit($"Keep agreement: {interaction.Subject ?? "(no subject)"}", 300), DueAt = dueAt.ToUniversalTime(),
                RemindAt = ReminderFor(dueAt.ToUniversalTime(), now),
                AssigneeId = assignee, CustomerId = customerId, SourceInteractionId = interaction.Id, Priority = TaskPriority.High,
                CreatedAt = now, UpdatedAt = now, CreatedById = NullIfSystem(actor),
            }.WithSortKey());
        }

        try
        {
            await db.SaveChangesAsync(ct);
            // A contact about a deal is activity on it: the deal is no longer idle.
            if (interaction.RelatedType == Sales.DealService.RelatedType && interaction.RelatedId is { } dealId)
                await Sales.DealService.TouchAsync(db, dealId, interaction.OccurredAt < now ? interaction.OccurredAt : now, ct);
            await tx.CommitAsync(ct);
        }
        catch (DbUpdateException e) when (source is not null && e.IsUniqueViolation())
        {
            // The same event arrived twice at once: the other request stored it; answer with that one.
            await tx.RollbackAsync(ct);
            await using var fresh = await dbFactory.CreateDbContextAsync(ct);
            var stored = await FindExternalAsync(fresh, source, input.ExternalId!, ct) ?? throw new PreconditionFailedException();
            return await RepeatAsync(fresh, actor, stored, ct);
        }
        return new IntakeResult(await ViewAsync(db, actor, interaction, ct), Created: true, customerCreated);
    }

    /// <summary>The stored event for a repeat; not shown to a caller who may not see its customer.</summary>
    private async Task<IntakeResult> RepeatAsync(KoloDb db, Actor actor, Interaction existing, CancellationToken ct)
    {
        if (!await db.Customers.VisibleTo(db, actor).AnyAsync(c => c.Id == existing.CustomerId, ct))
            throw new ForbiddenException("This event was already recorded, on a customer you cannot see.");
        return new IntakeResult(await ViewAsync(db, actor, existing, ct), Created: false, CustomerCreated: false);
    }

    public async Task<InteractionView> GetAsync(Actor actor, Guid id, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var interaction = await db.Interactions.AsNoTracking().FirstOrDefaultAsync(i => i.Id == id, ct);
        if (interaction is null || !await db.Customers.VisibleTo(db, actor).AnyAsync(c => c.Id == interaction.CustomerId, ct))
            throw new NotFoundException("Interaction", id);
        return await ViewAsync(db, actor, interaction, ct);
    }

    /// <summary>Corrects an interaction (subject, body, outcome, sentiment, when). Requires the version the caller read.</summary>
    public async Task<InteractionView> UpdateAsync(Actor actor, Guid id, Guid expectedVersion, InteractionInput input, IReadOnlySet<string> fields, CancellationToken ct = default)
    {
        var editable = new HashSet<string> { "subject", "body", "outcome", "sentiment", "occurredAt", "channel", "direction" };
        var refused = fields.Where(f => !editable.Contains(f)).ToList();
        if (refused.Count > 0)
            throw new ValidationFailedException(refused.ToDictionary(f => f, _ => new[] { "This field cannot change after the interaction was recorded." }));
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var interaction = await LoadVisibleAsync(db, actor, id, ct);
        EnsureCanChange(actor, interaction);
        if (interaction.Version != expectedVersion) throw new PreconditionFailedException();
        var before = Snapshot(interaction);
        if (fields.Contains("subject")) interaction.Subject = Clean(input.Subject);
        if (fields.Contains("body")) interaction.Body = Sanitize(input.Body);
        if (fields.Contains("outcome")) interaction.Outcome = Clean(input.Outcome);
        if (fields.Contains("sentiment")) interaction.Sentiment = input.Sentiment;
        if (fields.Contains("occurredAt")) interaction.OccurredAt = input.OccurredAt?.ToUniversalTime() ?? interaction.OccurredAt;
        if (fields.Contains("channel")) interaction.Channel = input.Channel;
        if (fields.Contains("direction")) interaction.Direction = input.Direction;
        var changes = Audit.Diff(before, Snapshot(interaction));
        if (changes.Count > 0)
        {
            interaction.Version = Guid.NewGuid();
            db.AuditEntries.Add(Audit.Entry(actor, Now(), EntityType, id, AuditActions.Updated, changes));
            try { await db.SaveChangesAsync(ct); }
            catch (DbUpdateConcurrencyException) { throw new PreconditionFailedException(); }
        }
        return await ViewAsync(db, actor, interaction, ct);
    }

    /// <summary>Hides an interaction from the timeline; it stays stored and audited.</summary>
    public async Task ArchiveAsync(Actor actor, Guid id, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var interaction = await LoadVisibleAsync(db, actor, id, ct);
        if (interaction.ArchivedAt is not null) return;
        EnsureCanChange(actor, interaction);
        interaction.ArchivedAt = Now();
        interaction.Version = Guid.NewGuid();
        db.AuditEntries.Add(Audit.Entry(actor, interaction.ArchivedAt.Value, EntityType, id, AuditActions.Archived));
        await db.SaveChangesAsync(ct);
    }

    public async Task<AttachmentView> AddAttachmentAsync(Actor actor, Guid interactionId, string fileName, string? contentType, Stream content, CancellationToken ct = default)
    {
        var errors = new ValidationErrors();
        var name = Path.GetFileName(fileName ?? "").Trim();
        if (name.Length is 0 or > 255) errors.Add("file", "The file needs a name of at most 255 characters.");
        using var buffer = new MemoryStream();
        // Read one byte past the limit to know the file is too large without reading all of it.
        var read = await CopyAtMostAsync(content, buffer, Attachment.MaxSize + 1, ct);
        if (read > Attachment.MaxSize) errors.Add("file", $"The file is larger than {Attachment.MaxSize / (1024 * 1024)} MB.");
        if (read == 0) errors.Add("file", "The file is empty.");
        errors.ThrowIfAny();

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var interaction = await LoadVisibleAsync(db, actor, interactionId, ct);
        var now = Now();
        var attachment = new Attachment
        {
            InteractionId = interaction.Id, CustomerId = interaction.CustomerId, FileName = name,
            // Kept for the record only (downloads are always served as octet-stream); the column holds 120 characters.
            ContentType = string.IsNullOrWhiteSpace(contentType) || contentType.Trim().Length > 120 ? "application/octet-stream" : contentType.Trim(),
            Size = read, Content = buffer.ToArray(), CreatedAt = now, CreatedById = NullIfSystem(actor),
        };
        db.Attachments.Add(attachment);
        db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, interaction.Id, "attachment-added", [new FieldChange("attachments", null, name)]));
        await db.SaveChangesAsync(ct);
        return new AttachmentView(attachment.Id, attachment.FileName, attachment.ContentType, attachment.Size, attachment.CreatedAt);
    }

    /// <summary>The file, for users who may see its customer only.</summary>
    public async Task<(AttachmentView Info, byte[] Content)> GetAttachmentAsync(Actor actor, Guid attachmentId, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var attachment = await db.Attachments.AsNoTracking().FirstOrDefaultAsync(a => a.Id == attachmentId, ct);
        if (attachment is null || !await db.Customers.VisibleTo(db, actor).AnyAsync(c => c.Id == attachment.CustomerId, ct))
            throw new NotFoundException("Attachment", attachmentId);
        return (new AttachmentView(attachment.Id, attachment.FileName, attachment.ContentType, attachment.Size, attachment.CreatedAt), attachment.Content);
    }

    /// <summary>Recent negative feedback across all customers, newest first (managers and admins).</summary>
    public async Task<Page<InteractionView>> NegativeFeedbackAsync(Actor actor, int limit, string? cursor, CancellationToken ct = default)
    {
        if (!actor.IsAdminOrManager) throw new ForbiddenException("Only managers and admins see the feedback list.");
        var errors = new ValidationErrors();
        if (limit is < 1 or > 200) errors.Add("limit", "Limit must be between 1 and 200.");
        var after = KeysetCursor.Decode(cursor, errors);
        errors.ThrowIfAny();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var q = db.Interactions.AsNoTracking().Where(i => i.Sentiment == Sentiment.Negative && i.ArchivedAt == null);
        // The redundant "<=" lets the index scan start at the cursor; the OR alone is only a filter, so a deep page
        // would read every newer negative entry first.
        if (after is { } a) q = q.Where(i => i.OccurredAt <= a.At && (i.OccurredAt < a.At || (i.OccurredAt == a.At && i.Id.CompareTo(a.Id) < 0)));
        var rows = await q.OrderByDescending(i => i.OccurredAt).ThenByDescending(i => i.Id).Take(limit + 1).ToListAsync(ct);
        var next = rows.Count > limit ? KeysetCursor.Encode(rows[limit - 1].OccurredAt, rows[limit - 1].Id) : null;
        var views = await ViewsAsync(db, rows.Take(limit).ToList(), ct);
        return new Page<InteractionView>(views, next);
    }

    /// <summary>The interactions about one record (a deal, an order), newest first, on customers the caller may see.</summary>
    public async Task<IReadOnlyList<InteractionView>> ListRelatedAsync(Actor actor, string relatedType, Guid relatedId, int limit, CancellationToken ct = default)
    {
        if (limit is < 1 or > 200) throw ValidationFailedException.For("limit", "Limit must be between 1 and 200.");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var visible = db.Customers.VisibleTo(db, actor).Select(c => c.Id);
        var rows = await db.Interactions.AsNoTracking()
            .Where(i => i.RelatedType == relatedType && i.RelatedId == relatedId && i.ArchivedAt == null && visible.Contains(i.CustomerId))
            .OrderByDescending(i => i.OccurredAt).ThenByDescending(i => i.Id).Take(limit).ToListAsync(ct);
        return await ViewsAsync(db, rows, ct);
    }

    /// <summary>The record of a contact is evidence: only who recorded it, a manager or an admin may correct or archive it.</summary>
    private static void EnsureCanChange(Actor actor, Interaction interaction)
    {
        if (!actor.IsAdminOrManager && interaction.CreatedById != actor.UserId)
            throw new ForbiddenException("Only the person who recorded an interaction, a manager or an admin can change or archive it.");
    }

    private async Task<Interaction> LoadVisibleAsync(KoloDb db, Actor actor, Guid id, CancellationToken ct)
    {
        var interaction = await db.Interactions.FirstOrDefaultAsync(i => i.Id == id, ct);
        if (interaction is null || !await db.Customers.VisibleTo(db, actor).AnyAsync(c => c.Id == interaction.CustomerId, ct))
            throw new NotFoundException("Interaction", id);
        return interaction;
    }

    private static Task<Interaction?> FindExternalAsync(KoloDb db, string source, string externalId, CancellationToken ct) =>
        db.Interactions.AsNoTracking().FirstOrDefaultAsync(i => i.ExternalSource == source && i.ExternalId == externalId.Trim(), ct);

    /// <summary>The customer by id; else by e-mail, then phone (following merges); else a new prospect.</summary>
    private async Task<(Guid Id, Guid? OwnerId, bool Created)> ResolveCustomerAsync(KoloDb db, Actor actor, InteractionInput input, string? e164, CancellationToken ct)
    {
        if (input.CustomerId is { } id)
        {
            var found = await db.Customers.VisibleTo(db, actor).Where(c => c.Id == id).Select(c => new { c.Id, c.OwnerId, c.MergedIntoId }).FirstOrDefaultAsync(ct)
                ?? throw ValidationFailedException.For("customerId", "No such customer.");
            return found.MergedIntoId is { } target ? await FollowMergeAsync(db, actor, target, ct) : (found.Id, found.OwnerId, false);
        }

        var keys = new List<(string Term, SearchTermKind Kind)>();
        if (input.Email is not null) keys.Add((TextNormalizer.NormalizeEmail(input.Email), SearchTermKind.Email));
        if (e164 is not null) keys.Add((TextNormalizer.Digits(e164), SearchTermKind.Phone));
        foreach (var (term, kind) in keys)
        {
            var matches = await db.CustomerSearchTerms.Where(t => t.Term == term && t.Kind == kind)
                .Join(db.Customers, t => t.CustomerId, c => c.Id, (t, c) => new { c.Id, c.MergedIntoId, c.ArchivedAt })
                .OrderBy(c => c.ArchivedAt == null ? 0 : 1).ThenBy(c => c.Id).Take(1).ToListAsync(ct);
            if (matches.Count == 0) continue;
            return await FollowMergeAsync(db, actor, matches[0].MergedIntoId ?? matches[0].Id, ct);
        }

        var (first, last) = SplitName(input.Name, input.Email);
        var prospect = await customers.AddProspectAsync(db, actor, new CustomerInput
        {
            FirstName = first, LastName = last, Status = LifecycleStatus.Prospect,
            Emails = input.Email is null ? [] : [new EmailInput { Address = input.Email }],
            Phones = input.Phone is null ? [] : [new PhoneInput { Number = input.Phone }],
            Source = input.ExternalSource ?? "interaction",
        }, ct);
        return (prospect.Id, prospect.OwnerId, true);
    }

    private static async Task<(Guid, Guid?, bool)> FollowMergeAsync(KoloDb db, Actor actor, Guid id, CancellationToken ct)
    {
        // A merged record points at the one that holds its data now; follow the chain (it is short).
        for (var hops = 0; hops < 10; hops++)
        {
            var c = await db.Customers.Where(x => x.Id == id).Select(x => new { x.Id, x.OwnerId, x.MergedIntoId }).FirstAsync(ct);
            if (c.MergedIntoId is null)
            {
                if (!await db.Customers.VisibleTo(db, actor).AnyAsync(x => x.Id == c.Id, ct))
                    throw new ForbiddenException("The e-mail or phone belongs to a customer you cannot see.");
                return (c.Id, c.OwnerId, false);
            }
            id = c.MergedIntoId.Value;
        }
        throw new InvalidOperationException("Merge chain too long.");
    }

    private static string Limit(string text, int length) => text.Length > length ? text[..length] : text;

    private static (string? First, string? Last) SplitName(string? name, string? email)
    {
        // Names hold 100 characters: a longer one from another system is cut rather than losing the contact.
        var words = (name ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (words.Length >= 2) return (Limit(string.Join(' ', words[..^1]), 100), Limit(words[^1], 100));
        if (words.Length == 1) return (null, Limit(words[0], 100));
        // Nothing but a contact point: the e-mail's local part or "Unknown" keeps the record findable and nameable later.
        return (null, email is not null ? Limit(email.Split('@')[0], 100) : "Unknown");
    }

    private static (Guid Smaller, Guid Larger) OrderedIds()
    {
        var (x, y) = (Guid.CreateVersion7(), Guid.CreateVersion7());
        // Compared as text: the order both databases use for these ids.
        return string.CompareOrdinal(x.ToString(), y.ToString()) < 0 ? (x, y) : (y, x);
    }

    /// <summary>A day ahead when there is a day left, else at the due time itself; none for a date already past.</summary>
    private static DateTime? ReminderFor(DateTime due, DateTime now) =>
        due.AddDays(-1) > now ? due.AddDays(-1) : due > now ? due : null;

    /// <summary>The channel a contact of this type happens on, when the caller does not say.</summary>
    internal static ContactChannel? DefaultChannel(InteractionType type) => type switch
    {
        InteractionType.Call => ContactChannel.Phone,
        InteractionType.Email => ContactChannel.Email,
        InteractionType.Sms => ContactChannel.Sms,
        InteractionType.Letter => ContactChannel.Post,
        InteractionType.Chat => ContactChannel.Messenger,
        InteractionType.Visit or InteractionType.Meeting => ContactChannel.Visit,
        InteractionType.Web => ContactChannel.Web,
        _ => null,
    };

    private async Task<InteractionView> ViewAsync(KoloDb db, Actor actor, Interaction i, CancellationToken ct) =>
        (await ViewsAsync(db, [i], ct))[0];

    /// <summary>Views with user names, customer names, attachments and agreement tasks in one query each.</summary>
    internal static async Task<IReadOnlyList<InteractionView>> ViewsAsync(KoloDb db, List<Interaction> rows, CancellationToken ct)
    {
        if (rows.Count == 0) return [];
        var ids = rows.Select(r => r.Id).ToList();
        var userIds = rows.Where(r => r.UserId != null).Select(r => r.UserId!.Value).Distinct().ToList();
        var customerIds = rows.Select(r => r.CustomerId).Distinct().ToList();
        var users = await DisplayNames.OfUsersAsync(db, userIds, ct);
        var customerNames = await DisplayNames.OfCustomersAsync(db, customerIds, ct);
        var attachments = (await db.Attachments.Where(a => ids.Contains(a.InteractionId))
                .Select(a => new { a.InteractionId, View = new AttachmentView(a.Id, a.FileName, a.ContentType, a.Size, a.CreatedAt) }).ToListAsync(ct))
            .ToLookup(a => a.InteractionId, a => a.View);
        var tasks = await db.Tasks.Where(t => t.SourceInteractionId != null && ids.Contains(t.SourceInteractionId.Value))
            .Select(t => new { t.SourceInteractionId, t.Id }).ToListAsync(ct);
        return rows.Select(i => new InteractionView
        {
            Id = i.Id, CustomerId = i.CustomerId, CustomerName = customerNames.GetValueOrDefault(i.CustomerId), Type = i.Type,
            Channel = i.Channel, Direction = i.Direction, Subject = i.Subject, Body = i.Body, OccurredAt = i.OccurredAt,
            UserId = i.UserId, UserName = i.UserId is { } u ? users.GetValueOrDefault(u) : null, Outcome = i.Outcome,
            Sentiment = i.Sentiment, RelatedType = i.RelatedType, RelatedId = i.RelatedId, ExternalSource = i.ExternalSource,
            ExternalId = i.ExternalId, CreatedAt = i.CreatedAt, ArchivedAt = i.ArchivedAt, Attachments = attachments[i.Id].ToList(),
            TaskId = tasks.FirstOrDefault(t => t.SourceInteractionId == i.Id)?.Id, Version = i.Version,
        }).ToList();
    }

    private static Dictionary<string, string?> Snapshot(Interaction i) => new()
    {
        ["subject"] = i.Subject, ["body"] = i.Body, ["outcome"] = i.Outcome, ["sentiment"] = Audit.Text(i.Sentiment),
        ["occurredAt"] = Audit.Text(i.OccurredAt), ["channel"] = Audit.Text(i.Channel), ["direction"] = Audit.Text(i.Direction),
    };

    private static async Task<long> CopyAtMostAsync(Stream from, Stream to, long max, CancellationToken ct)
    {
        var buffer = new byte[81920];
        long total = 0;
        int n;
        while (total < max && (n = await from.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, max - total)), ct)) > 0)
        {
            await to.WriteAsync(buffer.AsMemory(0, n), ct);
            total += n;
        }
        return total;
    }

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;

    private static Guid? NullIfSystem(Actor actor) => actor.UserId == Guid.Empty ? null : actor.UserId;

    private static string? Clean(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();
}

/// <summary>The interactions on a customer's timeline.</summary>
public sealed class InteractionTimelineSource : ITimelineSource
{
    public string Kind => "interaction";
    public bool HasChannel => true;

    public async Task<IReadOnlyList<TimelineEntry>> ReadAsync(KoloDb db, Guid customerId, TimelinePosition? before, ContactChannel? channel, int limit, CancellationToken ct)
    {
        var q = db.Interactions.AsNoTracking().Where(i => i.CustomerId == customerId && i.ArchivedAt == null);
        if (channel is { } c) q = q.Where(i => i.Channel == c);
        // The redundant "<=" lets the index scan start at the cursor; the OR alone is only a filter, so a deep page
        // would read every newer row of the customer first.
        if (before is { } b) q = q.Where(i => i.OccurredAt <= b.At && (i.OccurredAt < b.At || (i.OccurredAt == b.At && i.Id.CompareTo(b.Id) < 0)));
        var rows = await q.OrderByDescending(i => i.OccurredAt).ThenByDescending(i => i.Id).Take(limit).ToListAsync(ct);
        var views = await InteractionService.ViewsAsync(db, rows, ct);
        return views.Select(v => new TimelineEntry
        {
            Kind = Kind, Id = v.Id, At = v.OccurredAt, Title = v.Subject ?? v.Type.ToString(), Summary = v.Outcome,
            Channel = v.Channel, Type = v.Type.ToString(), Direction = v.Direction?.ToString(), Sentiment = v.Sentiment,
            UserId = v.UserId, UserName = v.UserName,
            Details = new Dictionary<string, object?> { ["interaction"] = v },
        }).ToList();
    }
}

/// <summary>(time, id) positions for newest-first keyset paging, as opaque strings.</summary>
public static class KeysetCursor
{
    public static string Encode(DateTime at, Guid id) =>
        Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{at.Ticks}:{id:N}")).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static (DateTime At, Guid Id)? Decode(string? text, ValidationErrors errors)
    {
        if (string.IsNullOrEmpty(text)) return null;
        try
        {
            var b64 = text.Replace('-', '+').Replace('_', '/');
            b64 += new string('=', (4 - b64.Length % 4) % 4);
            var parts = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(b64)).Split(':');
            return (new DateTime(long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), DateTimeKind.Utc), Guid.ParseExact(parts[1], "N"));
        }
        catch (Exception e) when (e is FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException or OverflowException)
        {
            errors.Add("cursor", Cursors.Invalid);
            return null;
        }
    }
}
