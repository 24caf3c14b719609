using System.Collections.Concurrent;

namespace RoomSignal.Redis.Internal;

/// <summary>
/// Which node owns which remote connection, as learned from the owner hash in Redis. Connection ids are never
/// reused, so an entry never turns wrong; it only goes stale when the connection ends, and a send to an ended
/// connection is dropped by its node anyway. Bounded: when full it starts over (a burst of lookups, then warm again).
/// </summary>
internal sealed class ConnectionOwnerCache(int capacity)
{
    private readonly ConcurrentDictionary<string, string> _owners = new(StringComparer.Ordinal);

    public bool TryGet(string connectionId, out string nodeId) => _owners.TryGetValue(connectionId, out nodeId!);

    public void Set(string connectionId, string nodeId)
    {
        if (_owners.Count >= capacity)
        {
            _owners.Clear();
        }

        _owners[connectionId] = nodeId;
    }

    public void Forget(string connectionId) => _owners.TryRemove(connectionId, out _);

    /// <summary>Forgets every connection of a node that has gone away.</summary>
    public void ForgetNode(string nodeId)
    {
        foreach (var entry in _owners)
        {
            if (entry.Value == nodeId)
            {
                _owners.TryRemove(entry);
            }
        }
    }
}
