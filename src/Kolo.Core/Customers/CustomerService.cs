using System.Text;
using System.Text.Json;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Customers;

/// <summary>
/// Another feature's records that hang on a customer (interactions, orders, ...). A merge calls every participant
/// so that nothing of the source customer is left behind.
/// </summary>
public interface ICustomerMergeParticipant
{
    Task MoveAsync(KoloDb db, Guid sourceId, Guid targetId, CancellationToken ct);
}

/// <summary>Creating, reading, changing, archiving, linking and merging customers, with access rules and audit.</summary>
public sealed class CustomerService(
    IDbContextFactory<KoloDb> dbFactory,
    TimeProvider clock,
    PhoneNormalizer phones,
    IEnumerable<ICustomerMergeParticipant> mergeParticipants)
{
    public const string EntityType = "customer";
    public const int MaxLimit = 500;

    public async Task<CustomerDetails> GetAsync(Actor actor, Guid id, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var customer = await db.Customers.AsNoTracking().VisibleTo(db, actor)
            .FirstOrDefaultAsync(c => c.Id == id, ct) ?? throw new NotFoundException("Customer", id);
        customer.Tags = await TagsOf(db, id).AsNoTracking().ToListAsync(ct);
        return await ToDetailsAsync(db, customer, ct);
    }

    public async Task<Page<CustomerListItem>> ListAsync(Actor actor, CustomerQuery query, CancellationToken ct = default)
    {
        var errors = new ValidationErrors();
        var limit = query.Limit;
        if (limit is < 1 or > MaxLimit) errors.Add("limit", $"Limit must be between 1 and {MaxLimit}.");
        // A q of only punctuation ("+", "-") has no words: it is no search, not a relevance walk from nothing.
        var words = SearchWords(query.Q);
        var sort = CustomerSort.Parse(query.Sort, hasSearch: words.Count > 0, errors);
        var cursor = Cursor.TryDecode(query.Cursor, errors);
        errors.ThrowIfAny();

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var customers = Filter(db, db.Customers.AsNoTracking().VisibleTo(db, actor), query);

        List<Customer> rows;
        string? next = null;
        if (sort.Field == CustomerSort.Relevance)
        {
            // Best match first: walk the term index from the first word's prefix, so the first page costs the
            // same whether the prefix matches ten customers or a million.
            var (lo, hi) = (words[0], TextNormalizer.PrefixUpperBound(words[0]));
            foreach (var word in words.Skip(1)) customers = WithTermPrefix(db, customers, word);
            var matches = db.CustomerSearchTerms
                .Where(t => t.Term.CompareTo(lo) >= 0 && t.Term.CompareTo(hi) < 0)
                // Only a customer's first matching term counts, so nobody appears twice.
                .Where(t => !db.CustomerSearchTerms.Any(o => o.CustomerId == t.CustomerId && o.Term.CompareTo(lo) >= 0 && o.Term.CompareTo(t.Term) < 0));
            if (cursor is { } c)
                matches = matches.Where(t => t.Term.CompareTo(c.Key) > 0 || (t.Term == c.Key && t.CustomerId.CompareTo(c.Id) > 0));
            // Ordered by the term row's CustomerId (equal to the customer's Id) so that SQLite reads the
            // (Term, CustomerId) index in order and stops after one page; ordered by customers.Id it sorted every
            // row of the first term (a common surname: 150,000 rows, 300 ms at a million customers).
            var page = await matches
                .Join(customers, t => t.CustomerId, cu => cu.Id, (t, cu) => new { t.Term, t.CustomerId, Customer = cu })
                .OrderBy(x => x.Term).ThenBy(x => x.CustomerId)
                .Take(limit + 1)
                .ToListAsync(ct);
            if (page.Count > limit) next = new Cursor(page[limit - 1].Term, page[limit - 1].Customer.Id).Encode();
            rows = page.Take(limit).Select(x => x.Customer).ToList();
        }
        else if (sort.ByScore)
        {
            // Walk the scores' (value, customer) index and join the filtered customers; customers without scores
            // (none computed yet) are not in a score order.
            foreach (var word in words) customers = WithTermPrefix(db, customers, word);
            var scores = db.CustomerScores.AsQueryable();
            var byClv = sort.Field == CustomerSort.Clv;
            if (cursor is { } c)
            {
                var key = Cursors.Number(c.Key);
                var id = c.Id;
                scores = (byClv, sort.Descending) switch
                {
                    (true, false) => scores.Where(s => s.ClvMinor > key || (s.ClvMinor == key && s.CustomerId.CompareTo(id) > 0)),
                    (true, true) => scores.Where(s => s.ClvMinor < key || (s.ClvMinor == key && s.CustomerId.CompareTo(id) < 0)),
                    (false, false) => scores.Where(s => s.MarginMinor > key || (s.MarginMinor == key && s.CustomerId.CompareTo(id) > 0)),
                    (false, true) => scores.Where(s => s.MarginMinor < key || (s.MarginMinor == key && s.CustomerId.CompareTo(id) < 0)),
                };
            }
            var joined = scores.Join(customers, s => s.CustomerId, cu => cu.Id, (s, cu) => new { Key = byClv ? s.ClvMinor : s.MarginMinor, s.CustomerId, Customer = cu });
            var page = await (sort.Descending
                    ? joined.OrderByDescending(x => x.Key).ThenByDescending(x => x.CustomerId)
                    : joined.OrderBy(x => x.Key).ThenBy(x => x.CustomerId))
                .Take(limit + 1).ToListAsync(ct);
            if (page.Count > limit) next = new Cursor(page[limit - 1].Key.ToString(System.Globalization.CultureInfo.InvariantCulture), page[limit - 1].CustomerId).Encode();
            rows = page.Take(limit).Select(x => x.Customer).ToList();
        }
        else
        {
            foreach (var word in words) customers = WithTermPrefix(db, customers, word);
            rows = await sort.Apply(customers, cursor).Take(limit + 1).ToListAsync(ct);
            if (rows.Count > limit)
            {
                rows.RemoveAt(limit);
                next = new Cursor(sort.KeyOf(rows[^1]), rows[^1].Id).Encode();
            }
        }
        return new Page<CustomerListItem>(await ToListItemsAsync(db, rows, ct), next);
    }

    /// <summary>
    /// The list's filters except the search words (the list walks those itself, for relevance order), shared with
    /// the export so both return the same customers.
    /// </summary>
    public static IQueryable<Customer> Filter(KoloDb db, IQueryable<Customer> customers, CustomerQuery query)
    {
        customers = query.Archived ? customers.Where(c => c.ArchivedAt != null) : customers.Where(c => c.ArchivedAt == null);
        if (query.Status is { } status) customers = customers.Where(c => c.Status == status);
        if (query.OwnerId is { } owner) customers = customers.Where(c => c.OwnerId == owner);
        if (!string.IsNullOrWhiteSpace(query.City))
        {
            var city = TextNormalizer.Normalize(query.City);
            customers = customers.Where(c => c.CityKey == city);
        }
        if (query.CreatedFrom is { } from) customers = customers.Where(c => c.CreatedAt >= from);
        if (query.CreatedTo is { } to) customers = customers.Where(c => c.CreatedAt < to);
        if (!string.IsNullOrWhiteSpace(query.Tag))
        {
            var tagKey = TextNormalizer.Normalize(query.Tag);
            customers = customers.Where(c => c.Tags.Any(t => t.Tag!.NameKey == tagKey));
        }
        if (query.Segment is { Length: > 0 } segment) customers = customers.Where(c => db.CustomerScores.Any(s => s.CustomerId == c.Id && s.Segment == segment));
        if (query.MinProbabilityAlive is { } minAlive) customers = customers.Where(c => db.CustomerScores.Any(s => s.CustomerId == c.Id && s.ProbabilityAlive >= minAlive));
        if (query.MaxProbabilityAlive is { } maxAlive) customers = customers.Where(c => db.CustomerScores.Any(s => s.CustomerId == c.Id && s.ProbabilityAlive <= maxAlive));
        if (query.MinClv is { } minClv) customers = customers.Where(c => db.CustomerScores.Any(s => s.CustomerId == c.Id && s.ClvMinor >= minClv));
        if (query.MaxClv is { } maxClv) customers = customers.Where(c => db.CustomerScores.Any(s => s.CustomerId == c.Id && s.ClvMinor <= maxClv));
        return customers;
    }

    /// <summary>Every customer the list would show for <paramref name="query"/> (all pages), for the export.</summary>
    public static IQueryable<Customer> ExportQuery(KoloDb db, Actor actor, CustomerQuery query)
    {
        var customers = Filter(db, db.Customers.AsNoTracking().VisibleTo(db, actor), query);
        foreach (var word in SearchWords(query.Q)) customers = WithTermPrefix(db, customers, word);
        return customers;
    }

    public async Task<CustomerDetails> CreateAsync(Actor actor, CustomerInput input, bool allowDuplicate, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var customer = await AddNewAsync(db, actor, input, allowDuplicate, ct);
        await db.SaveChangesAsync(ct);
        return await ToDetailsAsync(db, customer, ct);
    }

    /// <summary>
    /// Validates and adds a new customer (with its search terms and audit entry) to <paramref name="db"/> without
    /// saving, so another capability can create one in the same transaction as its own record.
    /// </summary>
    internal async Task<Customer> AddNewAsync(KoloDb db, Actor actor, CustomerInput input, bool allowDuplicate, CancellationToken ct) =>
        await AddNewAsync(db, actor, input, allowDuplicate, CustomerFields.All, ct);

    /// <summary>
    /// A prospect Kolo creates on its own (from a call-centre event or a qualified lead): like <see cref="AddNewAsync(KoloDb, Actor, CustomerInput, bool, CancellationToken)"/>
    /// but without custom fields, so a field the admin made required cannot refuse a record nobody could fill in here.
    /// </summary>
    internal Task<Customer> AddProspectAsync(KoloDb db, Actor actor, CustomerInput input, CancellationToken ct) =>
        AddNewAsync(db, actor, input, allowDuplicate: true, WithoutCustomFields, ct);

    private static readonly IReadOnlySet<string> WithoutCustomFields = CustomerFields.All.Where(f => f != CustomerFields.CustomFields).ToHashSet();

    private async Task<Customer> AddNewAsync(KoloDb db, Actor actor, CustomerInput input, bool allowDuplicate, IReadOnlySet<string> fields, CancellationToken ct)
    {
        CustomerAccessRules.EnsureCanCreate(actor);
        var now = Now();
        var customer = new Customer { CreatedAt = now, UpdatedAt = now, Kind = input.Kind ?? CustomerKind.Person };
        if (actor.Role == UserRole.Sales && input.OwnerId is null) input.OwnerId = actor.UserId;
        await ApplyAsync(db, customer, input, fields, ct);
        ValidateWhole(customer);

        var terms = BuildSearchTerms(customer);
        if (!allowDuplicate)
        {
            var (visible, hidden) = await FindDuplicatesAsync(db, actor, customer, terms, ct);
            if (visible.Count > 0 || hidden > 0) throw new DuplicateCustomerException(visible, hidden);
        }

        db.Customers.Add(customer);
        db.CustomerSearchTerms.AddRange(terms);
        db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, customer.Id, AuditActions.Created,
            Audit.Diff(new Dictionary<string, string?>(), Snapshot(customer))));
        return customer;
    }

    /// <summary>Applies the fields present in the request. <paramref name="expectedVersion"/> is the client's ETag.</summary>
    public async Task<CustomerDetails> UpdateAsync(Actor actor, Guid id, Guid expectedVersion, CustomerInput input, IReadOnlySet<string> fields, CancellationToken ct = default)
    {
        CustomerAccessRules.EnsureCanEdit(actor, fields);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var customer = await LoadForChangeAsync(db, actor, id, ct);
        if (customer.Version != expectedVersion) throw new PreconditionFailedException();
        if (customer.MergedIntoId is not null)
            throw ValidationFailedException.For("id", "This customer was merged into another record; change that record instead.");

        var before = Snapshot(customer);
        await ApplyAsync(db, customer, input, fields, ct);
        ValidateWhole(customer);
        var changes = Audit.Diff(before, Snapshot(customer));
        if (changes.Count == 0) return await ToDetailsAsync(db, customer, ct);

        var now = Now();
        customer.UpdatedAt = now;
        customer.Version = Guid.NewGuid();
        await ReplaceSearchTermsAsync(db, customer, ct);
        db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, customer.Id, AuditActions.Updated, changes));
        await SaveAsync(db, ct);
        return await ToDetailsAsync(db, customer, ct);
    }

    public async Task<CustomerDetails> ArchiveAsync(Actor actor, Guid id, Guid? expectedVersion, CancellationToken ct = default)
    {
        CustomerAccessRules.EnsureCanArchive(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var customer = await LoadForChangeAsync(db, actor, id, ct);
        if (expectedVersion is { } v && customer.Version != v) throw new PreconditionFailedException();
        if (customer.ArchivedAt is null)
        {
            var now = Now();
            customer.ArchivedAt = now;
            customer.ArchivedById = actor.UserId == Guid.Empty ? null : actor.UserId;
            customer.UpdatedAt = now;
            customer.Version = Guid.NewGuid();
            db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, id, AuditActions.Archived,
                [new FieldChange("archivedAt", null, Audit.Text(now))]));
            await SaveAsync(db, ct);
        }
        return await ToDetailsAsync(db, customer, ct);
    }

    public async Task<CustomerDetails> RestoreAsync(Actor actor, Guid id, CancellationToken ct = default)
    {
        CustomerAccessRules.EnsureCanArchive(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var customer = await LoadForChangeAsync(db, actor, id, ct);
        if (customer.MergedIntoId is not null)
            throw ValidationFailedException.For("id", "A merged customer cannot be restored; its data lives in the record it was merged into.");
        if (customer.ArchivedAt is { } archivedAt)
        {
            var now = Now();
            customer.ArchivedAt = null;
            customer.ArchivedById = null;
            customer.UpdatedAt = now;
            customer.Version = Guid.NewGuid();
            db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, id, AuditActions.Restored,
                [new FieldChange("archivedAt", Audit.Text(archivedAt), null)]));
            await SaveAsync(db, ct);
        }
        return await ToDetailsAsync(db, customer, ct);
    }

    public async Task<IReadOnlyList<DuplicateCandidate>> FindDuplicatesAsync(Actor actor, Guid id, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var customer = await db.Customers.AsNoTracking().VisibleTo(db, actor).FirstOrDefaultAsync(c => c.Id == id, ct)
            ?? throw new NotFoundException("Customer", id);
        var (visible, _) = await FindDuplicatesAsync(db, actor, customer, BuildSearchTerms(customer), ct);
        return visible;
    }

    public async Task<IReadOnlyList<CustomerLinkView>> ListLinksAsync(Actor actor, Guid id, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await EnsureVisibleAsync(db, actor, id, ct);
        // Only the other customers the actor may see: a Sales user must not learn the names of a colleague's customers.
        var others = db.Customers.VisibleTo(db, actor);
        var outgoing = await (from l in db.CustomerLinks
                              where l.FromCustomerId == id
                              join c in others on l.ToCustomerId equals c.Id
                              select new { Link = l, Other = c.DisplayName }).ToListAsync(ct);
        var incoming = await (from l in db.CustomerLinks
                              where l.ToCustomerId == id
                              join c in others on l.FromCustomerId equals c.Id
                              select new { Link = l, Other = c.DisplayName }).ToListAsync(ct);
        return outgoing.Select(x => ToView(x.Link, x.Other, outgoing: true))
            .Concat(incoming.Select(x => ToView(x.Link, x.Other, outgoing: false)))
            .OrderBy(v => v.CreatedAt).ToList();
    }

    public async Task<CustomerLinkView> AddLinkAsync(Actor actor, Guid id, LinkInput input, CancellationToken ct = default)
    {
        CustomerAccessRules.EnsureCanEditLinks(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await EnsureVisibleAsync(db, actor, id, ct);
        var otherId = input.CustomerId!.Value;
        if (otherId == id) throw ValidationFailedException.For("customerId", "A customer cannot be linked to itself.");
        var other = await db.Customers.AsNoTracking().VisibleTo(db, actor).Where(c => c.Id == otherId)
            .Select(c => new { c.DisplayName, c.MergedIntoId }).FirstOrDefaultAsync(ct);
        if (other is null || other.MergedIntoId is not null)
            throw ValidationFailedException.For("customerId", "No such customer.");
        var type = input.Type!.Value;
        if (await db.CustomerLinks.AnyAsync(l => l.FromCustomerId == id && l.ToCustomerId == otherId && l.Type == type, ct))
            throw ValidationFailedException.For("type", "These customers are already linked this way.");

        var now = Now();
        var link = new CustomerLink { FromCustomerId = id, ToCustomerId = otherId, Type = type, Note = input.Note?.Trim(), CreatedAt = now, CreatedById = NullIfSystem(actor) };
        db.CustomerLinks.Add(link);
        var change = new FieldChange("links", null, $"{type} {other.DisplayName}");
        db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, id, AuditActions.LinkAdded, [change]));
        db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, otherId, AuditActions.LinkAdded, [change]));
        await db.SaveChangesAsync(ct);
        return ToView(link, other.DisplayName, outgoing: true);
    }

    public async Task RemoveLinkAsync(Actor actor, Guid id, Guid linkId, CancellationToken ct = default)
    {
        CustomerAccessRules.EnsureCanEditLinks(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await EnsureVisibleAsync(db, actor, id, ct);
        var link = await db.CustomerLinks.FirstOrDefaultAsync(l => l.Id == linkId && (l.FromCustomerId == id || l.ToCustomerId == id), ct)
            ?? throw new NotFoundException("Link", linkId);
        db.CustomerLinks.Remove(link);
        var now = Now();
        var change = new FieldChange("links", $"{link.Type} {link.FromCustomerId} → {link.ToCustomerId}", null);
        db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, link.FromCustomerId, AuditActions.LinkRemoved, [change]));
        db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, link.ToCustomerId, AuditActions.LinkRemoved, [change]));
        await db.SaveChangesAsync(ct);
    }

    /// <summary>
    /// Merges the source into the target in one transaction: the target keeps its values except the fields the user
    /// takes from the source and the ones it lacks; contact points, consents, tags and custom fields are united; links
    /// and every other feature's records move; the source is archived with <see cref="Customer.MergedIntoId"/> set.
    /// </summary>
    public async Task<CustomerDetails> MergeAsync(Actor actor, Guid targetId, MergeInput input, CancellationToken ct = default)
    {
        CustomerAccessRules.EnsureCanArchive(actor);
        var sourceId = input.SourceId!.Value;
        var take = new HashSet<string>(input.TakeFromSource ?? [], StringComparer.Ordinal);
        var errors = new ValidationErrors();
        foreach (var f in take.Where(f => !CustomerFields.All.Contains(f))) errors.Add("takeFromSource", $"Unknown field '{f}'.");
        if (sourceId == targetId) errors.Add("sourceId", "A customer cannot be merged into itself.");
        errors.ThrowIfAny();

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var target = await LoadForChangeAsync(db, actor, targetId, ct);
        var source = await db.Customers.VisibleTo(db, actor).FirstOrDefaultAsync(c => c.Id == sourceId, ct);
        if (source is null) throw ValidationFailedException.For("sourceId", "No such customer.");
        await TagsOf(db, sourceId).LoadAsync(ct);
        if (source.MergedIntoId is not null) throw ValidationFailedException.For("sourceId", "That customer was already merged into another record.");
        if (target.MergedIntoId is not null) throw ValidationFailedException.For("id", "This customer was merged into another record; merge into that one.");

        var before = Snapshot(target);
        CustomerMerge.Combine(target, source, take);
        foreach (var tag in source.Tags.Where(st => target.Tags.All(tt => tt.TagId != st.TagId)))
            target.Tags.Add(new CustomerTag { CustomerId = target.Id, TagId = tag.TagId, Tag = tag.Tag });
        target.RefreshDerivedFields();

        await MoveLinksAsync(db, sourceId, targetId, ct);
        foreach (var participant in mergeParticipants) await participant.MoveAsync(db, sourceId, targetId, ct);

        var now = Now();
        target.UpdatedAt = now;
        target.Version = Guid.NewGuid();
        source.MergedIntoId = target.Id;
        source.ArchivedAt = now;
        source.ArchivedById = NullIfSystem(actor);
        source.UpdatedAt = now;
        source.Version = Guid.NewGuid();
        await ReplaceSearchTermsAsync(db, target, ct);
        await db.CustomerSearchTerms.Where(t => t.CustomerId == sourceId).ExecuteDeleteAsync(ct);

        var changes = Audit.Diff(before, Snapshot(target));
        changes.Insert(0, new FieldChange("mergedFrom", null, $"{source.DisplayName} ({source.Id})"));
        db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, target.Id, AuditActions.Merged, changes));
        db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, source.Id, AuditActions.MergedInto,
            [new FieldChange("mergedIntoId", null, target.Id.ToString())]));
        await SaveAsync(db, ct);
        await tx.CommitAsync(ct);
        return await ToDetailsAsync(db, target, ct);
    }

    private static async Task MoveLinksAsync(KoloDb db, Guid sourceId, Guid targetId, CancellationToken ct)
    {
        var links = await db.CustomerLinks.Where(l => l.FromCustomerId == sourceId || l.ToCustomerId == sourceId
                                                   || l.FromCustomerId == targetId || l.ToCustomerId == targetId).ToListAsync(ct);
        var kept = links.Where(l => l.FromCustomerId == targetId || l.ToCustomerId == targetId)
            .Select(l => (l.FromCustomerId, l.ToCustomerId, l.Type)).ToHashSet();
        foreach (var link in links.Where(l => l.FromCustomerId == sourceId || l.ToCustomerId == sourceId))
        {
            var from = link.FromCustomerId == sourceId ? targetId : link.FromCustomerId;
            var to = link.ToCustomerId == sourceId ? targetId : link.ToCustomerId;
            // A link between the two merged records, or one the target already has, would be meaningless twice.
            if (from == to || !kept.Add((from, to, link.Type))) { db.CustomerLinks.Remove(link); continue; }
            link.FromCustomerId = from;
            link.ToCustomerId = to;
        }
    }

    private async Task<Customer> LoadForChangeAsync(KoloDb db, Actor actor, Guid id, CancellationToken ct)
    {
        var customer = await db.Customers.VisibleTo(db, actor).FirstOrDefaultAsync(c => c.Id == id, ct)
            ?? throw new NotFoundException("Customer", id);
        await TagsOf(db, id).LoadAsync(ct); // tracked: EF fixes them up into customer.Tags
        return customer;
    }

    /// <summary>
    /// A customer's tags as their own query. Include(c => c.Tags).ThenInclude(t => t.Tag) joins a subquery of every
    /// customer's tags, which SQLite materialises in full on each read (160 ms at a million customers).
    /// </summary>
    private static IQueryable<CustomerTag> TagsOf(KoloDb db, Guid customerId) =>
        db.CustomerTags.Include(t => t.Tag).Where(t => t.CustomerId == customerId);

    private static async Task EnsureVisibleAsync(KoloDb db, Actor actor, Guid id, CancellationToken ct)
    {
        if (!await db.Customers.VisibleTo(db, actor).AnyAsync(c => c.Id == id, ct)) throw new NotFoundException("Customer", id);
    }

    private static async Task SaveAsync(KoloDb db, CancellationToken ct)
    {
        try { await db.SaveChangesAsync(ct); }
        catch (DbUpdateConcurrencyException) { throw new PreconditionFailedException(); }
    }

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;

    private static Guid? NullIfSystem(Actor actor) => actor.UserId == Guid.Empty ? null : actor.UserId;

    private static IQueryable<Customer> WithTermPrefix(KoloDb db, IQueryable<Customer> customers, string prefix)
    {
        var hi = TextNormalizer.PrefixUpperBound(prefix);
        return customers.Where(c => db.CustomerSearchTerms.Any(t => t.CustomerId == c.Id && t.Term.CompareTo(prefix) >= 0 && t.Term.CompareTo(hi) < 0));
    }

    /// <summary>
    /// The search box's words: an e-mail (or part of one) as one term, a phone number as its digits, otherwise the
    /// name words. Every word must prefix-match one of a customer's terms.
    /// </summary>
    public static IReadOnlyList<string> SearchWords(string? q)
    {
        if (string.IsNullOrWhiteSpace(q)) return [];
        var text = q.Trim();
        if (text.Contains('@') || (!text.Any(char.IsWhiteSpace) && (text.Contains('.') || text.Contains('_'))))
            return [MaxTerm(TextNormalizer.NormalizeEmail(text))];
        var digits = TextNormalizer.Digits(text);
        if (digits.Length >= 3 && text.All(ch => char.IsAsciiDigit(ch) || " +-()./".Contains(ch)))
            return [digits];
        return TextNormalizer.Words(text).Distinct().ToList();
    }

    internal List<CustomerSearchTerm> BuildSearchTerms(Customer customer)
    {
        var terms = new Dictionary<string, SearchTermKind>(StringComparer.Ordinal);
        // Terms hold 200 characters; an address may have 254, and its first 200 still find it.
        foreach (var e in customer.Emails) terms.TryAdd(EmailSearchTerm(e.Address), SearchTermKind.Email);
        foreach (var p in customer.Phones)
            foreach (var digits in PhoneNormalizer.SearchDigits(p.Number)) terms.TryAdd(digits, SearchTermKind.Phone);
        foreach (var word in TextNormalizer.Words($"{customer.FirstName} {customer.LastName} {customer.CompanyName}"))
            terms.TryAdd(MaxTerm(word), SearchTermKind.Name);
        return terms.Select(t => new CustomerSearchTerm { CustomerId = customer.Id, Term = t.Key, Kind = t.Value }).ToList();
    }

    /// <summary>The search term that finds an e-mail address.</summary>
    public static string EmailSearchTerm(string address) => MaxTerm(TextNormalizer.NormalizeEmail(address));

    private static string MaxTerm(string term) => term.Length > 200 ? term[..200] : term;

    private async Task ReplaceSearchTermsAsync(KoloDb db, Customer customer, CancellationToken ct)
    {
        var wanted = BuildSearchTerms(customer);
        var existing = await db.CustomerSearchTerms.Where(t => t.CustomerId == customer.Id).ToListAsync(ct);
        db.CustomerSearchTerms.RemoveRange(existing.Where(e => wanted.All(w => w.Term != e.Term)));
        db.CustomerSearchTerms.AddRange(wanted.Where(w => existing.All(e => e.Term != w.Term)));
    }

    private async Task<(List<DuplicateCandidate> Visible, int Hidden)> FindDuplicatesAsync(
        KoloDb db, Actor actor, Customer customer, List<CustomerSearchTerm> terms, CancellationToken ct)
    {
        var reasons = new Dictionary<Guid, List<string>>();
        void Reason(Guid id, string reason)
        {
            if (!reasons.TryGetValue(id, out var list)) reasons[id] = list = [];
            if (!list.Contains(reason)) list.Add(reason);
        }

        var emails = terms.Where(t => t.Kind == SearchTermKind.Email).Select(t => t.Term).ToList();
        var phoneDigits = customer.Phones.Select(p => TextNormalizer.Digits(p.Number)).ToList();
        var keyMatches = await db.CustomerSearchTerms.AsNoTracking()
            .Where(t => t.CustomerId != customer.Id
                        && ((t.Kind == SearchTermKind.Email && emails.Contains(t.Term)) || (t.Kind == SearchTermKind.Phone && phoneDigits.Contains(t.Term))))
            .Take(100).ToListAsync(ct);
        foreach (var m in keyMatches)
            Reason(m.CustomerId, m.Kind == SearchTermKind.Email ? $"Same e-mail: {m.Term}" : $"Same phone: +{m.Term}");

        if (customer.SortName.Length > 0)
        {
            var others = db.Customers.AsNoTracking().Where(c => c.Id != customer.Id && c.MergedIntoId == null && c.Kind == customer.Kind);
            if (customer.BirthDate is { } birthDate)
            {
                var sameBirthDate = await others.Where(c => c.BirthDate == birthDate).Select(c => new { c.Id, c.SortName }).Take(500).ToListAsync(ct);
                foreach (var c in sameBirthDate.Where(c => NameSimilarity.AreSimilar(c.SortName, customer.SortName)))
                    Reason(c.Id, "Similar name and same birth date");
            }
            if (customer.CityKey is { } city)
            {
                // Candidates share the city and the first letters of a name word; similarity then decides.
                foreach (var word in TextNormalizer.Words(customer.SortName).Where(w => w.Length >= 2).Distinct())
                {
                    var prefix = word[..Math.Min(3, word.Length)];
                    var sameCity = await WithTermPrefix(db, others.Where(c => c.CityKey == city), prefix)
                        .Select(c => new { c.Id, c.SortName }).Take(500).ToListAsync(ct);
                    foreach (var c in sameCity.Where(c => NameSimilarity.AreSimilar(c.SortName, customer.SortName)))
                        Reason(c.Id, "Similar name and same city");
                }
            }
        }
        if (reasons.Count == 0) return ([], 0);

        var ids = reasons.Keys.ToList();
        var visible = await db.Customers.AsNoTracking().VisibleTo(db, actor)
            .Where(c => ids.Contains(c.Id) && c.MergedIntoId == null).ToListAsync(ct);
        var items = await ToListItemsAsync(db, visible, ct);
        var candidates = items.Select(i => new DuplicateCandidate(i, reasons[i.Id])).ToList();
        var mergedCount = await db.Customers.CountAsync(c => ids.Contains(c.Id) && c.MergedIntoId != null, ct);
        return (candidates, ids.Count - candidates.Count - mergedCount);
    }

    /// <summary>Copies the present fields from the input, collecting every error before failing.</summary>
    private async Task ApplyAsync(KoloDb db, Customer c, CustomerInput input, IReadOnlySet<string> fields, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        bool Has(string field) => fields.Contains(field);

        if (Has(CustomerFields.Kind)) c.Kind = input.Kind ?? CustomerKind.Person;
        if (Has(CustomerFields.FirstName)) c.FirstName = Clean(input.FirstName);
        if (Has(CustomerFields.LastName)) c.LastName = Clean(input.LastName);
        if (Has(CustomerFields.CompanyName)) c.CompanyName = Clean(input.CompanyName);
        if (Has(CustomerFields.Emails))
        {
            c.Emails = [];
            foreach (var (e, i) in (input.Emails ?? []).Select((e, i) => (e, i)))
            {
                var address = TextNormalizer.NormalizeEmail(e.Address ?? "");
                if (!EmailRule.IsValid(address)) errors.Add($"emails[{i}].address", "Enter a valid e-mail address.");
                else if (c.Emails.Any(x => x.Address == address)) errors.Add($"emails[{i}].address", "This e-mail is listed twice.");
                else c.Emails.Add(new EmailAddress { Address = address, Label = Clean(e.Label) });
            }
        }
        if (Has(CustomerFields.Phones))
        {
            c.Phones = [];
            foreach (var (p, i) in (input.Phones ?? []).Select((p, i) => (p, i)))
            {
                if (!phones.TryNormalize(p.Number, out var e164))
                    errors.Add($"phones[{i}].number", $"'{p.Number}' is not a valid phone number (numbers without a country code are read as {phones.DefaultRegion}).");
                else if (c.Phones.Any(x => x.Number == e164)) errors.Add($"phones[{i}].number", "This phone number is listed twice.");
                else c.Phones.Add(new PhoneNumber { Number = e164, Label = Clean(p.Label) });
            }
        }
        if (Has(CustomerFields.Addresses))
            c.Addresses = (input.Addresses ?? []).Select(a => new PostalAddress
            {
                Label = Clean(a.Label), Line1 = Clean(a.Line1), Line2 = Clean(a.Line2), City = Clean(a.City),
                Region = Clean(a.Region), PostalCode = Clean(a.PostalCode), Country = Clean(a.Country)?.ToUpperInvariant(),
            }).ToList();
        if (Has(CustomerFields.BirthDate))
        {
            if (input.BirthDate is { } bd && (bd > DateOnly.FromDateTime(Now()) || bd.Year < 1900))
                errors.Add(CustomerFields.BirthDate, "Birth date must be between 1900 and today.");
            c.BirthDate = input.BirthDate;
        }
        if (Has(CustomerFields.Gender)) c.Gender = input.Gender;
        if (Has(CustomerFields.MaritalStatus)) c.MaritalStatus = input.MaritalStatus;
        if (Has(CustomerFields.HouseholdSize)) c.HouseholdSize = input.HouseholdSize;
        if (Has(CustomerFields.AnnualIncome))
            (c.AnnualIncomeMinor, c.AnnualIncomeCurrency) = ToMinor(input.AnnualIncome, CustomerFields.AnnualIncome, errors);
        if (Has(CustomerFields.PropertyNotes)) c.PropertyNotes = Clean(input.PropertyNotes);
        if (Has(CustomerFields.PreferredChannel)) c.PreferredChannel = input.PreferredChannel;
        if (Has(CustomerFields.PreferredLanguage)) c.PreferredLanguage = Clean(input.PreferredLanguage)?.ToLowerInvariant();
        if (Has(CustomerFields.Consents))
        {
            c.Consents = [];
            foreach (var (consent, i) in (input.Consents ?? []).Select((x, i) => (x, i)))
            {
                if (c.Consents.Any(x => x.Channel == consent.Channel)) errors.Add($"consents[{i}].channel", "Give one consent per channel.");
                else c.Consents.Add(new ChannelConsent { Channel = consent.Channel, Granted = consent.Granted, At = consent.At?.ToUniversalTime() ?? Now(), Source = Clean(consent.Source) });
            }
        }
        if (Has(CustomerFields.Status)) c.Status = input.Status ?? LifecycleStatus.Prospect;
        if (Has(CustomerFields.Source)) c.Source = Clean(input.Source);
        if (Has(CustomerFields.AcquisitionCost))
            (c.AcquisitionCostMinor, c.AcquisitionCostCurrency) = ToMinor(input.AcquisitionCost, CustomerFields.AcquisitionCost, errors);
        if (Has(CustomerFields.OwnerId))
        {
            if (input.OwnerId is { } ownerId && !await db.Users.AnyAsync(u => u.Id == ownerId && u.DeactivatedAt == null, ct))
                errors.Add(CustomerFields.OwnerId, "No active user has this id.");
            c.OwnerId = input.OwnerId;
        }
        if (Has(CustomerFields.Tags)) await ApplyTagsAsync(db, c, input.Tags ?? [], Now(), errors, ct);
        if (Has(CustomerFields.CustomFields)) await ApplyCustomFieldsAsync(db, c, input.CustomFields ?? [], errors, ct);
        errors.ThrowIfAny();
        c.RefreshDerivedFields();
    }

    /// <summary>Rules over the whole record, checked after a create or a partial update.</summary>
    private static void ValidateWhole(Customer c)
    {
        var errors = new ValidationErrors();
        if (c.Kind == CustomerKind.Person && c.FirstName is null && c.LastName is null)
            errors.Add(CustomerFields.LastName, "Enter a first or last name.");
        if (c.Kind == CustomerKind.Company && c.CompanyName is null)
            errors.Add(CustomerFields.CompanyName, "Enter the company name.");
        errors.ThrowIfAny();
    }

    private static (long?, string?) ToMinor(MoneyInput? money, string field, ValidationErrors errors)
    {
        if (money is null) return (null, null);
        if (!Money.IsCurrencyCode(money.Currency)) { errors.Add($"{field}.currency", "Use a three-letter ISO 4217 code, e.g. UAH."); return (null, null); }
        if (money.Amount < 0) { errors.Add($"{field}.amount", "The amount cannot be negative."); return (null, null); }
        return (Money.ToMinor(money.Amount, money.Currency), money.Currency);
    }

    private static async Task ApplyTagsAsync(KoloDb db, Customer c, List<string> names, DateTime now, ValidationErrors errors, CancellationToken ct)
    {
        var wanted = new Dictionary<string, string>();
        foreach (var (name, i) in names.Select((n, i) => (n?.Trim() ?? "", i)))
        {
            if (name.Length is 0 or > 60) { errors.Add($"tags[{i}]", "A tag is 1 to 60 characters."); continue; }
            wanted.TryAdd(TextNormalizer.Normalize(name), name);
        }
        var keys = wanted.Keys.ToList();
        var tags = await db.Tags.Where(t => keys.Contains(t.NameKey)).ToListAsync(ct);
        foreach (var (key, name) in wanted.Where(w => tags.All(t => t.NameKey != w.Key)))
        {
            var tag = new Tag { Name = name, NameKey = key, CreatedAt = now };
            db.Tags.Add(tag);
            tags.Add(tag);
        }
        c.Tags.RemoveAll(ct2 => tags.All(t => t.Id != ct2.TagId));
        foreach (var tag in tags.Where(t => c.Tags.All(x => x.TagId != t.Id)))
            c.Tags.Add(new CustomerTag { CustomerId = c.Id, TagId = tag.Id, Tag = tag });
    }

    private static async Task ApplyCustomFieldsAsync(KoloDb db, Customer c, Dictionary<string, JsonElement> values, ValidationErrors errors, CancellationToken ct)
    {
        var definitions = await db.CustomFieldDefinitions.AsNoTracking()
            .Where(d => d.EntityType == EntityType && d.ArchivedAt == null).ToListAsync(ct);
        var result = new Dictionary<string, string>(c.CustomFields);
        foreach (var (key, value) in values)
        {
            var definition = definitions.FirstOrDefault(d => d.Key == key);
            if (definition is null) { errors.Add($"customFields.{key}", $"There is no custom field '{key}'."); continue; }
            var (stored, error) = definition.Canonicalise(value);
            if (error is not null) errors.Add($"customFields.{key}", error);
            else if (stored is null) result.Remove(key);
            else result[key] = stored;
        }
        foreach (var d in definitions.Where(d => d.Required && !result.ContainsKey(d.Key)))
            errors.Add($"customFields.{d.Key}", $"'{d.Label}' is required.");
        c.CustomFields = result;
    }

    private static string? Clean(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();

    /// <summary>Field name → text of the value: what the audit log compares before and after a change.</summary>
    internal static Dictionary<string, string?> Snapshot(Customer c) => new()
    {
        [CustomerFields.Kind] = Audit.Text(c.Kind),
        [CustomerFields.FirstName] = c.FirstName,
        [CustomerFields.LastName] = c.LastName,
        [CustomerFields.CompanyName] = c.CompanyName,
        [CustomerFields.Emails] = Audit.Text(c.Emails.Select(e => e.Label is null ? e.Address : $"{e.Address} ({e.Label})").ToList()),
        [CustomerFields.Phones] = Audit.Text(c.Phones.Select(p => p.Label is null ? p.Number : $"{p.Number} ({p.Label})").ToList()),
        [CustomerFields.Addresses] = Audit.Text(c.Addresses),
        [CustomerFields.BirthDate] = Audit.Text(c.BirthDate),
        [CustomerFields.Gender] = Audit.Text(c.Gender),
        [CustomerFields.MaritalStatus] = Audit.Text(c.MaritalStatus),
        [CustomerFields.HouseholdSize] = Audit.Text(c.HouseholdSize),
        [CustomerFields.AnnualIncome] = MoneyText(c.AnnualIncomeMinor, c.AnnualIncomeCurrency),
        [CustomerFields.PropertyNotes] = c.PropertyNotes,
        [CustomerFields.PreferredChannel] = Audit.Text(c.PreferredChannel),
        [CustomerFields.PreferredLanguage] = c.PreferredLanguage,
        [CustomerFields.Consents] = Audit.Text(c.Consents.Select(x => $"{x.Channel}: {(x.Granted ? "granted" : "withdrawn")}").ToList()),
        [CustomerFields.Status] = Audit.Text(c.Status),
        [CustomerFields.Source] = c.Source,
        [CustomerFields.AcquisitionCost] = MoneyText(c.AcquisitionCostMinor, c.AcquisitionCostCurrency),
        [CustomerFields.OwnerId] = Audit.Text(c.OwnerId),
        [CustomerFields.Tags] = Audit.Text(c.Tags.Select(t => t.Tag?.Name ?? t.TagId.ToString()).Order().ToList()),
        [CustomerFields.CustomFields] = Audit.Text(new SortedDictionary<string, string>(c.CustomFields)),
    };

    private static string? MoneyText(long? minor, string? currency) =>
        Money.FromMinor(minor, currency) is { } m ? $"{m.Amount.ToString(System.Globalization.CultureInfo.InvariantCulture)} {m.Currency}" : null;

    private async Task<CustomerDetails> ToDetailsAsync(KoloDb db, Customer c, CancellationToken ct)
    {
        var ownerName = c.OwnerId is { } ownerId
            ? await db.Users.Where(u => u.Id == ownerId).Select(u => u.DisplayName).FirstOrDefaultAsync(ct)
            : null;
        var definitions = c.CustomFields.Count == 0 ? [] : await db.CustomFieldDefinitions.AsNoTracking()
            .Where(d => d.EntityType == EntityType).ToListAsync(ct);
        return new CustomerDetails
        {
            Id = c.Id, Kind = c.Kind, FirstName = c.FirstName, LastName = c.LastName, CompanyName = c.CompanyName,
            DisplayName = c.DisplayName, Emails = c.Emails, Phones = c.Phones, Addresses = c.Addresses,
            BirthDate = c.BirthDate, Gender = c.Gender, MaritalStatus = c.MaritalStatus, HouseholdSize = c.HouseholdSize,
            AnnualIncome = Money.FromMinor(c.AnnualIncomeMinor, c.AnnualIncomeCurrency), PropertyNotes = c.PropertyNotes,
            PreferredChannel = c.PreferredChannel, PreferredLanguage = c.PreferredLanguage, Consents = c.Consents,
            Status = c.Status, Source = c.Source, AcquisitionCost = Money.FromMinor(c.AcquisitionCostMinor, c.AcquisitionCostCurrency),
            OwnerId = c.OwnerId, OwnerName = ownerName,
            Tags = c.Tags.Select(t => t.Tag?.Name ?? "").Where(n => n.Length > 0).Order().ToList(),
            CustomFields = c.CustomFields.ToDictionary(kv => kv.Key,
                object? (kv) => definitions.FirstOrDefault(d => d.Key == kv.Key)?.Present(kv.Value) ?? kv.Value),
            MergedIntoId = c.MergedIntoId, CreatedAt = c.CreatedAt, UpdatedAt = c.UpdatedAt, ArchivedAt = c.ArchivedAt,
            Version = c.Version,
        };
    }

    /// <summary>List rows with owner names and tags fetched in two queries for the whole page (no N+1).</summary>
    private static async Task<IReadOnlyList<CustomerListItem>> ToListItemsAsync(KoloDb db, List<Customer> rows, CancellationToken ct)
    {
        if (rows.Count == 0) return [];
        var ids = rows.Select(r => r.Id).ToList();
        var ownerIds = rows.Where(r => r.OwnerId != null).Select(r => r.OwnerId!.Value).Distinct().ToList();
        var owners = await DisplayNames.OfUsersAsync(db, ownerIds, ct);
        var tags = (await db.CustomerTags.Where(t => ids.Contains(t.CustomerId))
                .Select(t => new { t.CustomerId, t.Tag!.Name }).ToListAsync(ct))
            .ToLookup(t => t.CustomerId, t => t.Name);
        var scores = await db.CustomerScores.Where(s => ids.Contains(s.CustomerId))
            .Select(s => new { s.CustomerId, s.Segment, s.ProbabilityAlive, s.ClvMinor, s.MarginMinor, s.Currency })
            .ToDictionaryAsync(s => s.CustomerId, ct);
        return rows.Select(c =>
        {
            var score = scores.GetValueOrDefault(c.Id);
            return new CustomerListItem(
                c.Id, c.Kind, c.DisplayName, c.Emails.FirstOrDefault()?.Address, c.Phones.FirstOrDefault()?.Number,
                c.Addresses.Select(a => a.City).FirstOrDefault(x => x is not null), c.Status, c.OwnerId,
                c.OwnerId is { } o ? owners.GetValueOrDefault(o) : null, tags[c.Id].Order().ToList(),
                c.CreatedAt, c.UpdatedAt, c.ArchivedAt, score?.Segment, score?.ProbabilityAlive,
                score is null ? null : Money.FromMinor((long?)score.ClvMinor, score.Currency), score is null ? null : Money.FromMinor((long?)score.MarginMinor, score.Currency));
        }).ToList();
    }

    private static CustomerLinkView ToView(CustomerLink link, string otherName, bool outgoing) => new(
        link.Id, link.Type, outgoing ? "outgoing" : "incoming", LinkRelation(link.Type, outgoing),
        outgoing ? link.ToCustomerId : link.FromCustomerId, otherName, link.Note, link.CreatedAt);

    /// <summary>What the other customer is to this one, read from this customer's side.</summary>
    public static string LinkRelation(LinkType type, bool outgoing) => (type, outgoing) switch
    {
        (LinkType.Spouse, _) => "spouse",
        (LinkType.HouseholdMember, _) => "household-member",
        (LinkType.ParentOf, true) => "child",
        (LinkType.ParentOf, false) => "parent",
        (LinkType.EmployeeOf, true) => "employer",
        (LinkType.EmployeeOf, false) => "employee",
        (LinkType.ReferredBy, true) => "referrer",
        (LinkType.ReferredBy, false) => "referred",
        _ => type.ToString(),
    };

    private sealed record Cursor(string Key, Guid Id)
    {
        public string Encode() => Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(this)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        public static Cursor? TryDecode(string? text, ValidationErrors errors)
        {
            if (string.IsNullOrEmpty(text)) return null;
            try
            {
                var b64 = text.Replace('-', '+').Replace('_', '/');
                b64 += new string('=', (4 - b64.Length % 4) % 4);
                return JsonSerializer.Deserialize<Cursor>(Encoding.UTF8.GetString(Convert.FromBase64String(b64)))
                       ?? throw new FormatException();
            }
            catch (Exception e) when (e is FormatException or JsonException)
            {
                errors.Add("cursor", Cursors.Invalid);
                return null;
            }
        }
    }

    private sealed record CustomerSort(string Field, bool Descending)
    {
        public const string Relevance = "relevance";
        public const string Clv = "clv";
        public const string Margin = "margin";

        public bool ByScore => Field is Clv or Margin;

        public static CustomerSort Parse(string? sort, bool hasSearch, ValidationErrors errors)
        {
            if (string.IsNullOrWhiteSpace(sort)) return new CustomerSort(hasSearch ? Relevance : "name", false);
            var descending = sort.StartsWith('-');
            var field = sort.TrimStart('-', '+');
            if (field is "name" or "createdAt" or "updatedAt" or Clv or Margin) return new CustomerSort(field, descending);
            errors.Add("sort", "Sort by name, createdAt, updatedAt, clv or margin, with a leading '-' for descending.");
            return new CustomerSort("name", false);
        }

        public string KeyOf(Customer c) => Field switch
        {
            "createdAt" => c.CreatedAt.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "updatedAt" => c.UpdatedAt.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => c.SortName,
        };

        public IQueryable<Customer> Apply(IQueryable<Customer> q, Cursor? cursor)
        {
            switch (Field)
            {
                case "createdAt":
                case "updatedAt":
                    var date = cursor is null ? default : Cursors.Time(cursor.Key);
                    var byCreated = Field == "createdAt";
                    if (cursor is not null)
                    {
                        var id = cursor.Id;
                        q = (byCreated, Descending) switch
                        {
                            (true, false) => q.Where(c => c.CreatedAt > date || (c.CreatedAt == date && c.Id.CompareTo(id) > 0)),
                            (true, true) => q.Where(c => c.CreatedAt < date || (c.CreatedAt == date && c.Id.CompareTo(id) < 0)),
                            (false, false) => q.Where(c => c.UpdatedAt > date || (c.UpdatedAt == date && c.Id.CompareTo(id) > 0)),
                            (false, true) => q.Where(c => c.UpdatedAt < date || (c.UpdatedAt == date && c.Id.CompareTo(id) < 0)),
                        };
                    }
                    return (byCreated, Descending) switch
                    {
                        (true, false) => q.OrderBy(c => c.CreatedAt).ThenBy(c => c.Id),
                        (true, true) => q.OrderByDescending(c => c.CreatedAt).ThenByDescending(c => c.Id),
                        (false, false) => q.OrderBy(c => c.UpdatedAt).ThenBy(c => c.Id),
                        (false, true) => q.OrderByDescending(c => c.UpdatedAt).ThenByDescending(c => c.Id),
                    };
                default:
                    if (cursor is not null)
                    {
                        var (key, id) = (cursor.Key, cursor.Id);
                        q = Descending
                            ? q.Where(c => c.SortName.CompareTo(key) < 0 || (c.SortName == key && c.Id.CompareTo(id) < 0))
                            : q.Where(c => c.SortName.CompareTo(key) > 0 || (c.SortName == key && c.Id.CompareTo(id) > 0));
                    }
                    return Descending
                        ? q.OrderByDescending(c => c.SortName).ThenByDescending(c => c.Id)
                        : q.OrderBy(c => c.SortName).ThenBy(c => c.Id);
            }
        }
    }
}

internal static class EmailRule
{
    private static readonly System.ComponentModel.DataAnnotations.EmailAddressAttribute Attribute = new();

    public static bool IsValid(string address) =>
        address.Length is > 2 and <= 254 && Attribute.IsValid(address) && address.IndexOf('@') is var at && at > 0 && address.IndexOf('.', at) > at + 1;
}
