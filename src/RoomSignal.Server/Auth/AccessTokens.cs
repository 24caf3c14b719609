using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace RoomSignal.Server.Auth;

/// <summary>Mints RoomSignal access tokens (HS256 JWTs) — what a backend does; the server itself only checks them.</summary>
public static class AccessTokens
{
    /// <summary>Creates a signed token for <paramref name="userId"/> that may join <paramref name="rooms"/> until <paramref name="expires"/>.</summary>
    /// <param name="signingKey">The key as configured in <c>RoomSignal:Auth:SigningKey</c>.</param>
    /// <param name="userId">The <c>sub</c> claim.</param>
    /// <param name="name">The <c>name</c> claim, or null for none.</param>
    /// <param name="rooms">The <c>rooms</c> claim; entries may end in <c>*</c>.</param>
    /// <param name="notBefore">The <c>nbf</c> (and <c>iat</c>) claim.</param>
    /// <param name="expires">The <c>exp</c> claim.</param>
    /// <param name="issuer">The <c>iss</c> claim, or null.</param>
    /// <param name="audience">The <c>aud</c> claim, or null.</param>
    public static string Create(
        string signingKey,
        string userId,
        string? name,
        IReadOnlyCollection<string> rooms,
        DateTimeOffset notBefore,
        DateTimeOffset expires,
        string? issuer = null,
        string? audience = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(signingKey);
        ArgumentException.ThrowIfNullOrEmpty(userId);
        var claims = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            [RoomSignalClaims.Subject] = userId,
            [RoomSignalClaims.Rooms] = rooms.ToArray(),
        };
        if (!string.IsNullOrEmpty(name))
        {
            claims[RoomSignalClaims.Name] = name;
        }

        var descriptor = new SecurityTokenDescriptor
        {
            Claims = claims,
            IssuedAt = notBefore.UtcDateTime,
            NotBefore = notBefore.UtcDateTime,
            Expires = expires.UtcDateTime,
            Issuer = issuer,
            Audience = audience,
            SigningCredentials = new SigningCredentials(
                new SymmetricSecurityKey(System.Text.Encoding.UTF8.GetBytes(signingKey)), SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }
}
