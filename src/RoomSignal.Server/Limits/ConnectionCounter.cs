using System.Collections.Concurrent;

namespace RoomSignal.Server.Limits;

/// <summary>Live hub connections per key (a remote address or a user id) on this node, with a cap checked atomically.</summary>
internal sealed class ConnectionCounter
{
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);

    /// <summary>Counts one more connection for <paramref name="key"/> unless it already has <paramref name="max"/> (0: no cap).</summary>
    public bool TryAdd(string key, int max)
    {
        while (true)
        {
            if (!_counts.TryGetValue(key, out var count))
            {
                if (_counts.TryAdd(key, 1))
                {
                    return true;
                }

                continue;
            }

            if (max > 0 && count >= max)
            {
                return false;
            }

            if (_counts.TryUpdate(key, count + 1, count))
            {
                return true;
            }
        }
    }

    /// <summary>Counts one connection of <paramref name="key"/> less; the entry goes when it reaches zero.</summary>
    public void Remove(string key)
    {
        while (_counts.TryGetValue(key, out var count))
        {
            if (count <= 1
                ? _counts.TryRemove(new KeyValuePair<string, int>(key, count))
                : _counts.TryUpdate(key, count - 1, count))
            {
                return;
            }
        }
    }

    /// <summary>Connections counted for <paramref name="key"/> now.</summary>
    public int this[string key] => _counts.TryGetValue(key, out var count) ? count : 0;

    /// <summary>Keys with at least one connection.</summary>
    public int Keys => _counts.Count;
}
