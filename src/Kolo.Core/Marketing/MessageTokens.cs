using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Kolo.Core.Data;
using Microsoft.EntityFrameworkCore;

namespace Kolo.Core.Marketing;

/// <summary>What a signed link may do; a token signed for one purpose is worthless for another.</summary>
public static class TokenPurpose
{
    public const string Unsubscribe = "unsubscribe";
    public const string Open = "open";
    public const string Click = "click";
    /// <summary>Identifies a website visitor who came through a tracked click (the <c>kolo_t</c> parameter).</summary>
    public const string Visitor = "visitor";
}

/// <summary>
/// Signed links in campaign messages: the message id and an HMAC-SHA256 (with the installation's <see cref="MarketingKey"/>)
/// over the purpose, the message id and, for clicks, the target URL, as base64url. Nothing else is in the link, so an
/// unsubscribe or click cannot be forged for another message or redirected to another site.
/// </summary>
public sealed class MessageTokens(IDbContextFactory<KoloDb> dbFactory, TimeProvider clock)
{
    private const int MacBytes = 16;
    private byte[]? _key;

    /// <summary>The signing key, created at first use; every node reads the same row.</summary>
    public async Task<byte[]> KeyAsync(CancellationToken ct = default)
    {
        if (_key is { } cached) return cached;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var key = await db.MarketingKeys.AsNoTracking().Where(k => k.Id == MarketingKey.SingletonId).Select(k => k.Key).FirstOrDefaultAsync(ct);
        if (key is null)
        {
            db.MarketingKeys.Add(new MarketingKey { Key = RandomNumberGenerator.GetBytes(32), CreatedAt = clock.GetUtcNow().UtcDateTime });
            try { await db.SaveChangesAsync(ct); }
            catch (DbUpdateException) { /* another node created it first: use theirs */ }
            await using var again = await dbFactory.CreateDbContextAsync(ct);
            key = await again.MarketingKeys.AsNoTracking().Where(k => k.Id == MarketingKey.SingletonId).Select(k => k.Key).FirstAsync(ct);
        }
        return _key = key;
    }

    public async Task<string> SignAsync(Guid messageId, string purpose, string? url = null, CancellationToken ct = default) =>
        Sign(await KeyAsync(ct), messageId, purpose, url);

    /// <summary>The message id of a valid token for this purpose (and URL); null for anything forged, altered or malformed.</summary>
    public async Task<Guid?> VerifyAsync(string? token, string purpose, string? url = null, CancellationToken ct = default) =>
        Verify(await KeyAsync(ct), token, purpose, url);

    public static string Sign(byte[] key, Guid messageId, string purpose, string? url = null)
    {
        Span<byte> buffer = stackalloc byte[16 + MacBytes];
        messageId.TryWriteBytes(buffer[..16]);
        Mac(key, buffer[..16], purpose, url).AsSpan(0, MacBytes).CopyTo(buffer[16..]);
        return Base64Url.EncodeToString(buffer);
    }

    public static Guid? Verify(byte[] key, string? token, string purpose, string? url = null)
    {
        // 32 bytes are 43 base64url characters; anything else is not ours (and TryDecode throws on some malformed input).
        if (token is not { Length: 43 } || !Base64Url.IsValid(token)) return null;
        Span<byte> buffer = stackalloc byte[48];
        if (!Base64Url.TryDecodeFromChars(token, buffer, out var written) || written != 16 + MacBytes) return null;
        // The last character carries two unused bits: only the canonical spelling counts, so no altered token verifies.
        if (!string.Equals(Base64Url.EncodeToString(buffer[..written]), token, StringComparison.Ordinal)) return null;
        var expected = Mac(key, buffer[..16], purpose, url);
        if (!CryptographicOperations.FixedTimeEquals(expected.AsSpan(0, MacBytes), buffer.Slice(16, MacBytes))) return null;
        return new Guid(buffer[..16]);
    }

    private static byte[] Mac(byte[] key, ReadOnlySpan<byte> id, string purpose, string? url)
    {
        // purpose NUL id NUL url: the separators keep one field from running into the next.
        var text = Encoding.UTF8.GetBytes(purpose);
        var target = Encoding.UTF8.GetBytes(url ?? "");
        var data = new byte[text.Length + 1 + id.Length + 1 + target.Length];
        text.CopyTo(data, 0);
        id.CopyTo(data.AsSpan(text.Length + 1));
        target.CopyTo(data, text.Length + 1 + id.Length + 1);
        return HMACSHA256.HashData(key, data);
    }
}
