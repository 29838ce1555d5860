using System.Security.Cryptography;
using System.Text;

namespace Kolo.Core.Platform;

public enum ApiTokenKind { Session, Personal }

/// <summary>
/// A bearer token. Only its SHA-256 hash is stored, so a leaked database does not leak usable tokens.
/// Session tokens come from <c>POST /api/v1/auth/token</c>; personal tokens are created in the UI.
/// </summary>
public sealed class ApiToken
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid UserId { get; set; }
    public string Name { get; set; } = "";
    public ApiTokenKind Kind { get; set; }
    public string TokenHash { get; set; } = "";
    /// <summary>The first characters of the token, so a user can tell their tokens apart.</summary>
    public string Prefix { get; set; } = "";
    public DateTime CreatedAt { get; set; }
    public DateTime? ExpiresAt { get; set; }
    public DateTime? LastUsedAt { get; set; }
    public DateTime? RevokedAt { get; set; }

    public static string NewSecret() => "kolo_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
