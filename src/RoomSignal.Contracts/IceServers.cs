using System.Text.Json.Serialization;

namespace RoomSignal.Contracts;

/// <summary>
/// What <see cref="IRoomHub.GetIceServers"/> and <c>GET /api/ice-servers</c> return: RTCIceServer objects ready
/// for <c>new RTCPeerConnection({ iceServers })</c>, and how long their credentials last.
/// </summary>
/// <param name="IceServers">The servers: STUN URLs, then TURN URLs with a username and credential.</param>
/// <param name="Ttl">Seconds the TURN credentials stay valid from now; fetch new ones before then.</param>
public sealed record IceServerList(IReadOnlyList<IceServer> IceServers, int Ttl);

/// <summary>One RTCIceServer.</summary>
/// <param name="Urls">The server's URLs (<c>stun:</c>, <c>turn:</c>, <c>turns:</c>).</param>
public sealed record IceServer(IReadOnlyList<string> Urls)
{
    /// <summary>The TURN username, <c>&lt;expiry unix seconds&gt;:&lt;user id or connection id&gt;</c>; absent for STUN.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Username { get; init; }

    /// <summary>The TURN password, base64(HMAC-SHA1(secret, username)); absent for STUN.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Credential { get; init; }
}
