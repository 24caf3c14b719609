using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace RoomSignal.Server.Ice;

/// <summary>
/// coturn's <c>use-auth-secret</c> ("TURN REST API") credentials: the username is
/// <c>&lt;expiry unix seconds&gt;:&lt;id&gt;</c> and the password is base64(HMAC-SHA1(secret, username)).
/// coturn recomputes the HMAC with its <c>static-auth-secret</c> and refuses the allocation after the expiry.
/// </summary>
public static class TurnCredentials
{
    /// <summary>Mints a username and credential for <paramref name="id"/> that expire at <paramref name="expires"/>.</summary>
    public static (string Username, string Credential) Create(string secret, string id, DateTimeOffset expires)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        ArgumentException.ThrowIfNullOrEmpty(id);
        var username = expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) + ":" + id;
        return (username, Credential(secret, username));
    }

    /// <summary>base64(HMAC-SHA1(<paramref name="secret"/>, <paramref name="username"/>)), both as UTF-8.</summary>
    public static string Credential(string secret, string username)
        => Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(username)));
}
