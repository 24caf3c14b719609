using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace RoomSignal.Testing;

/// <summary>
/// Builds HS256 JWTs by hand (header, payload, HMAC), independently of the server's token code, so tests can
/// make exactly the token they mean: without <c>sub</c> or <c>exp</c>, signed with another key, not yet valid.
/// </summary>
public static class TestTokens
{
    /// <summary>A signing key long enough for the server (32+ bytes).</summary>
    public const string Key = "test-signing-key-0123456789abcdef-ABCDEF";

    /// <summary>Another valid key the server does not know.</summary>
    public const string OtherKey = "another-signing-key-0123456789abcdef-XYZ";

    /// <summary>Configuration that turns auth on with <see cref="Key"/>.</summary>
    public static Dictionary<string, string?> AuthOn(string key = Key) => new() { ["RoomSignal:Auth:SigningKey"] = key };

    /// <summary>Seconds since the Unix epoch, <paramref name="offset"/> from now.</summary>
    public static long UnixTime(TimeSpan offset) => DateTimeOffset.UtcNow.Add(offset).ToUnixTimeSeconds();

    /// <summary>A token for <paramref name="sub"/> allowed into <paramref name="rooms"/> for the next 10 minutes.</summary>
    public static string For(string sub, string[] rooms, string? name = null, string key = Key)
    {
        var claims = new Dictionary<string, object?>
        {
            ["sub"] = sub,
            ["rooms"] = rooms,
            ["exp"] = UnixTime(TimeSpan.FromMinutes(10)),
            ["nbf"] = UnixTime(TimeSpan.FromMinutes(-1)),
        };
        if (name is not null)
        {
            claims["name"] = name;
        }

        return Sign(claims, key);
    }

    /// <summary>Signs exactly <paramref name="claims"/> (null values are left out) with HMAC-SHA256 over <paramref name="key"/>'s UTF-8 bytes.</summary>
    public static string Sign(IReadOnlyDictionary<string, object?> claims, string key = Key)
    {
        var header = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["alg"] = "HS256", ["typ"] = "JWT" }));
        var payload = Base64Url(JsonSerializer.SerializeToUtf8Bytes(claims.Where(c => c.Value is not null).ToDictionary(c => c.Key, c => c.Value)));
        var signature = Base64Url(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.ASCII.GetBytes($"{header}.{payload}")));
        return $"{header}.{payload}.{signature}";
    }

    /// <summary>The hub address of <paramref name="endpoint"/> with <paramref name="token"/> as <c>access_token</c>.</summary>
    public static Uri HubUriWithToken(this IRoomSignalEndpoint endpoint, string token)
        => new($"{endpoint.HubUri}?access_token={Uri.EscapeDataString(token)}");

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
