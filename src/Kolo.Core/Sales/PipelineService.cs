using System.ComponentModel.DataAnnotations;
using Kolo.Core.Data;
using Kolo.Core.Platform;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Sales;

public sealed class StageInput
{
    /// <summary>An existing stage to keep (its deals stay in it); a new stage when empty.</summary>
    public Guid? Id { get; set; }
    [Required, StringLength(100, MinimumLength = 1)] public string? Name { get; set; }
    [Range(0, 100)] public int Probability { get; set; }
    public StageKind Kind { get; set; }
}

public sealed class PipelineInput
{
    [Required, StringLength(100, MinimumLength = 1)] public string? Name { get; set; }
    public bool IsDefault { get; set; }
    public int SortOrder { get; set; }
    /// <summary>The stages in order: open stages, then exactly one Won and one Lost stage.</summary>
    [Required, MinLength(3)] public List<StageInput>? Stages { get; set; }
}

public sealed record StageView(Guid Id, string Name, int Position, int Probability, StageKind Kind);

public sealed record PipelineView(Guid Id, string Name, bool IsDefault, int SortOrder, IReadOnlyList<StageView> Stages, DateTime? ArchivedAt, Guid Version)
{
    public static PipelineView From(Pipeline p) => new(p.Id, p.Name, p.IsDefault, p.SortOrder,
        p.Stages.Where(s => s.ArchivedAt == null).OrderBy(s => s.Position).Select(s => new StageView(s.Id, s.Name, s.Position, s.Probability, s.Kind)).ToList(),
        p.ArchivedAt, p.Version);
}

/// <summary>Pipelines and their stages, configured by admins. A stage with deals is archived, never deleted.</summary>
public sealed class PipelineService(IDbContextFactory<KoloDb> dbFactory, TimeProvider clock)
{
    public const string EntityType = "pipeline";

    public async Task<IReadOnlyList<PipelineView>> ListAsync(bool includeArchived, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var q = db.Pipelines.AsNoTracking().Include(p => p.Stages).AsQueryable();
        if (!includeArchived) q = q.Where(p => p.ArchivedAt == null);
        return (await q.OrderBy(p => p.SortOrder).ThenBy(p => p.Name).ToListAsync(ct)).Select(PipelineView.From).ToList();
    }

    public async Task<PipelineView> GetAsync(Guid id, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var p = await db.Pipelines.AsNoTracking().Include(x => x.Stages).FirstOrDefaultAsync(x => x.Id == id, ct) ?? throw new NotFoundException("Pipeline", id);
        return PipelineView.From(p);
    }

    public async Task<PipelineView> CreateAsync(Actor actor, PipelineInput input, CancellationToken ct = default)
    {
        EnsureAdmin(actor);
        Validate(input, null);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = clock.GetUtcNow().UtcDateTime;
        var pipeline = new Pipeline { CreatedAt = now, UpdatedAt = now };
        await ApplyAsync(db, pipeline, input, clock.GetUtcNow().UtcDateTime, ct);
        db.Pipelines.Add(pipeline);
        db.AuditEntries.Add(Audit.Entry(actor, now, EntityType, pipeline.Id, AuditActions.Created, [new FieldChange("name", null, pipeline.Name), new FieldChange("stages", null, StagesText(pipeline))]));
        await db.SaveChangesAsync(ct);
        return PipelineView.From(pipeline);
    }

    public async Task<PipelineView> UpdateAsync(Actor actor, Guid id, Guid expectedVersion, PipelineInput input, CancellationToken ct = default)
    {
        EnsureAdmin(actor);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var pipeline = await db.Pipelines.Include(p => p.Stages).FirstOrDefaultAsync(p => p.Id == id, ct) ?? throw new NotFoundException("Pipeline", id);
        if (pipeline.Version != expectedVersion) throw new PreconditionFailedException();
        Validate(input, pipeline);
        var before = new Dictionary<string, string?> { ["name"] = pipeline.Name, ["stages"] = StagesText(pipeline), ["default"] = Audit.Text(pipeline.IsDefault) };
        await ApplyAsync(db, pipeline, input, clock.GetUtcNow().UtcDateTime, ct);
        pipeline.UpdatedAt = clock.GetUtcNow().UtcDateTime;
        pipeline.Version = Guid.NewGuid();
        // Open deals of a stage whose default changed follow it unless their probability was overridden.
        foreach (var stage in pipeline.Stages)
        {
            var p = EffectiveProbability(stage, null);
            await db.Deals.Where(d => d.StageId == stage.Id && d.Status == DealStatus.Open && d.ProbabilityOverride == null && d.Probability != p).ExecuteUpdateAsync(s => s.SetProperty(d => d.Probability, p), ct);
        }
        var changes = Audit.Diff(before, new Dictionary<string, string?> { ["name"] = pipeline.Name, ["stages"] = StagesText(pipeline), ["default"] = Audit.Text(pipeline.IsDefault) });
        if (changes.Count > 0) db.AuditEntries.Add(Audit.Entry(actor, pipeline.UpdatedAt, EntityType, id, AuditActions.Updated, changes));
        await db.SaveChangesAsync(ct);
        return PipelineView.From(pipeline);
    }

    public static int EffectiveProbability(Stage stage, int? overridden) => stage.Kind switch
    {
        StageKind.Won => 100,
        StageKind.Lost => 0,
        _ => overridden ?? stage.Probability,
    };

    private static void Validate(PipelineInput input, Pipeline? existing)
    {
        var errors = new ValidationErrors();
        var stages = input.Stages!;
        if (stages.Count(s => s.Kind == StageKind.Won) != 1) errors.Add("stages", "A pipeline has exactly one Won stage.");
        if (stages.Count(s => s.Kind == StageKind.Lost) != 1) errors.Add("stages", "A pipeline has exactly one Lost stage.");
        if (!stages.Any(s => s.Kind == StageKind.Open)) errors.Add("stages", "A pipeline needs at least one open stage.");
        var names = stages.Select(s => s.Name?.Trim().ToLowerInvariant()).ToList();
        if (names.Distinct().Count() != names.Count) errors.Add("stages", "Stage names must differ.");
        for (var i = 0; i < stages.Count; i++)
            if (stages[i].Id is { } id && (existing is null || existing.Stages.All(s => s.Id != id)))
                errors.Add($"stages[{i}].id", "This stage is not one of the pipeline's.");
            else if (stages[i].Id is { } same && stages.Take(i).Any(s => s.Id == same))
                errors.Add($"stages[{i}].id", "This stage is listed twice.");
        errors.ThrowIfAny();
    }

    private static async Task ApplyAsync(KoloDb db, Pipeline pipeline, PipelineInput input, DateTime now, CancellationToken ct)
    {
        pipeline.Name = input.Name!.Trim();
        pipeline.SortOrder = input.SortOrder;
        var position = 0;
        var kept = new HashSet<Guid>();
        // Open stages first, then Won, then Lost, whatever order they came in.
        foreach (var s in input.Stages!.OrderBy(s => s.Kind))
        {
            var stage = s.Id is { } id ? pipeline.Stages.First(x => x.Id == id) : null;
            if (stage is null)
            {
                pipeline.Stages.Add(stage = new Stage { PipelineId = pipeline.Id });
                // Added explicitly: found through a tracked pipeline's collection with its id already set, EF would take
                // it for an existing row and UPDATE it (0 rows → concurrency error).
                db.Stages.Add(stage);
            }
            // Deals in a stage are open, won or lost because of its kind: turning it into another kind would contradict them.
            else if (stage.Kind != s.Kind && await db.Deals.AnyAsync(d => d.StageId == stage.Id, ct))
                throw ValidationFailedException.For($"stages[{input.Stages!.IndexOf(s)}].kind", "Deals are in this stage, so its kind cannot change; add a new stage instead.");
            stage.Name = s.Name!.Trim();
            stage.Kind = s.Kind;
            stage.Probability = EffectiveProbability(new Stage { Kind = s.Kind, Probability = s.Probability }, null);
            stage.Position = position++;
            stage.ArchivedAt = null;
            kept.Add(stage.Id);
        }
        foreach (var gone in pipeline.Stages.Where(s => !kept.Contains(s.Id) && s.ArchivedAt == null))
        {
            if (await db.Deals.AnyAsync(d => d.StageId == gone.Id && d.Status == DealStatus.Open, ct))
                throw ValidationFailedException.For("stages", $"Stage '{gone.Name}' still has open deals: move them first.");
            gone.ArchivedAt = now;
        }
        if (input.IsDefault && !pipeline.IsDefault)
            await db.Pipelines.Where(p => p.IsDefault && p.Id != pipeline.Id).ExecuteUpdateAsync(s => s.SetProperty(p => p.IsDefault, false), ct);
        pipeline.IsDefault = input.IsDefault || !await db.Pipelines.AnyAsync(p => p.IsDefault && p.Id != pipeline.Id, ct);
    }

    private static string StagesText(Pipeline p) =>
        string.Join(" → ", p.Stages.Where(s => s.ArchivedAt == null).OrderBy(s => s.Position).Select(s => $"{s.Name} {s.Probability}%"));

    private static void EnsureAdmin(Actor actor)
    {
        if (actor.Role != UserRole.Admin) throw new ForbiddenException("Only admins configure pipelines.");
    }

    /// <summary>The pipeline every new Kolo starts with.</summary>
    public static Pipeline DefaultPipeline(DateTime now)
    {
        var pipeline = new Pipeline { Name = "Sales", IsDefault = true, CreatedAt = now, UpdatedAt = now };
        (string Name, int P, StageKind Kind)[] stages =
        [
            ("Qualification", 10, StageKind.Open), ("Needs analysis", 25, StageKind.Open), ("Proposal", 50, StageKind.Open),
            ("Negotiation", 75, StageKind.Open), ("Won", 100, StageKind.Won), ("Lost", 0, StageKind.Lost),
        ];
        for (var i = 0; i < stages.Length; i++)
            pipeline.Stages.Add(new Stage { PipelineId = pipeline.Id, Name = stages[i].Name, Probability = stages[i].P, Kind = stages[i].Kind, Position = i });
        return pipeline;
    }
}
