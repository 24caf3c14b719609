using Microsoft.AspNetCore.SignalR;

namespace RoomSignal.Redis.Internal;

/// <summary>A connection that lives on this node, with the groups it is in here (for cleanup on disconnect).</summary>
internal sealed class LocalConnection(HubConnectionContext context)
{
    public HubConnectionContext Context { get; } = context;

    public string Id => Context.ConnectionId;

    /// <summary>The groups this connection is in; lock on the set itself.</summary>
    public HashSet<string> Groups { get; } = new(StringComparer.Ordinal);

    /// <summary>Set once the connection is in the owner hash, so other nodes can find it.</summary>
    public bool Registered { get => Volatile.Read(ref _registered); set => Volatile.Write(ref _registered, value); }

    private bool _registered;
}
