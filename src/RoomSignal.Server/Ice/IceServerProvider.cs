using Microsoft.Extensions.Options;
using RoomSignal.Contracts;

namespace RoomSignal.Server.Ice;

/// <summary>Builds the ICE server list for one client: the STUN URLs as configured, the TURN URLs with fresh credentials.</summary>
public sealed class IceServerProvider(IOptionsMonitor<IceOptions> options, TimeProvider time)
{
    /// <summary>The list for <paramref name="id"/> (the user id with auth on, else the connection id).</summary>
    public IceServerList Get(string id)
    {
        var ice = options.CurrentValue;
        var servers = new List<IceServer>(2);
        if (ice.StunUrls.Count > 0)
        {
            servers.Add(new IceServer(ice.StunUrls.ToArray()));
        }

        if (ice.TurnUrls.Count > 0 && !string.IsNullOrEmpty(ice.TurnSecret))
        {
            var (username, credential) = TurnCredentials.Create(ice.TurnSecret, id, time.GetUtcNow() + ice.CredentialTtl);
            servers.Add(new IceServer(ice.TurnUrls.ToArray()) { Username = username, Credential = credential });
        }

        return new IceServerList(servers, (int)ice.CredentialTtl.TotalSeconds);
    }
}
