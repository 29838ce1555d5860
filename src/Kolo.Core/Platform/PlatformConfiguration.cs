using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Kolo.Core.Platform;

public sealed class UserConfiguration : IEntityTypeConfiguration<User>
{
    public void Configure(EntityTypeBuilder<User> b)
    {
        b.Property(u => u.DisplayName).HasMaxLength(200);
        b.Property(u => u.Role).HasConversion<string>().HasMaxLength(16);
        b.Property(u => u.CustomerAccess).HasConversion<string>().HasMaxLength(8);
        b.Property(u => u.Team).HasMaxLength(100);
        b.Property(u => u.Culture).HasMaxLength(10);
        b.HasIndex(u => u.Team);
    }
}

public sealed class ApiTokenConfiguration : IEntityTypeConfiguration<ApiToken>
{
    public void Configure(EntityTypeBuilder<ApiToken> b)
    {
        b.ToTable("api_tokens");
        b.Property(t => t.Kind).HasConversion<string>().HasMaxLength(10);
        b.Property(t => t.Name).HasMaxLength(100);
        b.Property(t => t.TokenHash).HasMaxLength(64);
        b.Property(t => t.Prefix).HasMaxLength(16);
        b.HasIndex(t => t.TokenHash).IsUnique();
        b.HasIndex(t => new { t.UserId, t.Kind });
        b.HasOne<User>().WithMany().HasForeignKey(t => t.UserId).OnDelete(DeleteBehavior.Cascade);
    }
}

public sealed class AuditEntryConfiguration : IEntityTypeConfiguration<AuditEntry>
{
    public void Configure(EntityTypeBuilder<AuditEntry> b)
    {
        b.ToTable("audit_entries");
        b.Property(a => a.EntityType).HasMaxLength(40);
        b.Property(a => a.Action).HasMaxLength(40);
        b.Property(a => a.UserName).HasMaxLength(200);
        b.OwnsMany(a => a.Changes, c => c.ToJson());
        b.HasIndex(a => new { a.EntityType, a.EntityId, a.Id });
        // A customer's changes on its timeline, merged with other entries by time.
        b.HasIndex(a => new { a.EntityType, a.EntityId, a.At, a.Id });
        b.HasIndex(a => a.At);
    }
}

public sealed class CustomFieldDefinitionConfiguration : IEntityTypeConfiguration<CustomFieldDefinition>
{
    public void Configure(EntityTypeBuilder<CustomFieldDefinition> b)
    {
        b.ToTable("custom_field_definitions");
        b.Property(f => f.EntityType).HasMaxLength(40);
        b.Property(f => f.Key).HasMaxLength(60);
        b.Property(f => f.Label).HasMaxLength(100);
        b.Property(f => f.Type).HasConversion<string>().HasMaxLength(10);
        b.PrimitiveCollection(f => f.Choices);
        b.Property(f => f.Version).IsConcurrencyToken();
        b.HasIndex(f => new { f.EntityType, f.Key }).IsUnique();
    }
}
