using System.Collections.Concurrent;
using RoomSignal.Contracts;

namespace RoomSignal.Server.Auth;

/// <summary>Who a connection is: its token's <c>sub</c> and <c>name</c> (both null when auth is off), its node and when it connected.</summary>
/// <param name="UserId">The token's <c>sub</c>, or null.</param>
/// <param name="Name">The token's <c>name</c>, or null.</param>
/// <param name="Node">The id of the node the connection is connected to.</param>
/// <param name="ConnectedAt">When it connected.</param>
public sealed record PeerProfile(string? UserId, string? Name, string Node, DateTimeOffset ConnectedAt);

/// <summary>
/// Profiles of the connected peers, readable for connections on any node: what the hub needs to put
/// <c>userId</c>/<c>name</c> on peer objects of other members, and what the admin API lists (node, join times).
/// Written when a connection connects, removed when it disconnects; kept apart from the room store, which
/// knows only connection ids.
/// </summary>
public interface IPeerDirectory
{
    /// <summary>Whether profiles are kept at all (auth or the admin API is on); when false every lookup finds nothing.</summary>
    bool Enabled { get; }

    /// <summary>Records the profile of a connection that just connected.</summary>
    ValueTask AddAsync(string connectionId, PeerProfile profile, CancellationToken cancellationToken = default);

    /// <summary>Forgets a connection that disconnected.</summary>
    ValueTask RemoveAsync(string connectionId, CancellationToken cancellationToken = default);

    /// <summary>Records when <paramref name="connectionId"/> joined <paramref name="room"/>; a repeated join keeps the first time.</summary>
    ValueTask MarkJoinedAsync(string connectionId, string room, DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>Forgets the join time of a room the connection left.</summary>
    ValueTask MarkLeftAsync(string connectionId, string room, CancellationToken cancellationToken = default);

    /// <summary>The profiles of <paramref name="connectionIds"/>, in order; null for one that is unknown (or gone).</summary>
    ValueTask<PeerProfile?[]> FindAsync(IReadOnlyList<string> connectionIds, CancellationToken cancellationToken = default);

    /// <summary>When each of <paramref name="connectionIds"/> joined <paramref name="room"/>, in order; null where unknown.</summary>
    ValueTask<DateTimeOffset?[]> JoinedAtAsync(string room, IReadOnlyList<string> connectionIds, CancellationToken cancellationToken = default);
}

internal static class PeerDirectoryExtensions
{
    /// <summary>The peer objects for <paramref name="connectionIds"/>: each with its user id and name when known.</summary>
    public static async ValueTask<PeerInfo[]> DescribeAsync(this IPeerDirectory directory, IReadOnlyList<string> connectionIds, CancellationToken cancellationToken = default)
    {
        if (!directory.Enabled || connectionIds.Count == 0)
        {
            return connectionIds.Select(id => new PeerInfo(id)).ToArray();
        }

        var profiles = await directory.FindAsync(connectionIds, cancellationToken);
        var peers = new PeerInfo[connectionIds.Count];
        for (var i = 0; i < peers.Length; i++)
        {
            peers[i] = new PeerInfo(connectionIds[i]) { UserId = profiles[i]?.UserId, Name = profiles[i]?.Name };
        }

        return peers;
    }

    /// <summary>The exit message for <paramref name="connectionId"/> leaving <paramref name="room"/>, with its user id and name when known.</summary>
    public static async ValueTask<PeerExited> ExitMessageAsync(this IPeerDirectory directory, string connectionId, string room, CancellationToken cancellationToken = default)
    {
        if (!directory.Enabled)
        {
            return new PeerExited(connectionId, room);
        }

        var profile = (await directory.FindAsync([connectionId], cancellationToken))[0];
        return new PeerExited(connectionId, room) { UserId = profile?.UserId, Name = profile?.Name };
    }
}

/// <summary>Neither auth nor the admin API is on: nothing to keep, nothing to look up.</summary>
internal sealed class NoPeerDirectory : IPeerDirectory
{
    public bool Enabled => false;

    public ValueTask AddAsync(string connectionId, PeerProfile profile, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public ValueTask RemoveAsync(string connectionId, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public ValueTask MarkJoinedAsync(string connectionId, string room, DateTimeOffset at, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public ValueTask MarkLeftAsync(string connectionId, string room, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public ValueTask<PeerProfile?[]> FindAsync(IReadOnlyList<string> connectionIds, CancellationToken cancellationToken = default)
        => ValueTask.FromResult(new PeerProfile?[connectionIds.Count]);

    public ValueTask<DateTimeOffset?[]> JoinedAtAsync(string room, IReadOnlyList<string> connectionIds, CancellationToken cancellationToken = default)
        => ValueTask.FromResult(new DateTimeOffset?[connectionIds.Count]);
}

/// <summary>The single-node directory: profiles in process memory.</summary>
internal sealed class InMemoryPeerDirectory : IPeerDirectory
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public bool Enabled => true;

    public ValueTask AddAsync(string connectionId, PeerProfile profile, CancellationToken cancellationToken = default)
    {
        _entries[connectionId] = new Entry(profile);
        return ValueTask.CompletedTask;
    }

    public ValueTask RemoveAsync(string connectionId, CancellationToken cancellationToken = default)
    {
        _entries.TryRemove(connectionId, out _);
        return ValueTask.CompletedTask;
    }

    public ValueTask MarkJoinedAsync(string connectionId, string room, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        if (_entries.TryGetValue(connectionId, out var entry))
        {
            entry.JoinedAt.TryAdd(room, at);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask MarkLeftAsync(string connectionId, string room, CancellationToken cancellationToken = default)
    {
        if (_entries.TryGetValue(connectionId, out var entry))
        {
            entry.JoinedAt.TryRemove(room, out _);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<PeerProfile?[]> FindAsync(IReadOnlyList<string> connectionIds, CancellationToken cancellationToken = default)
        => ValueTask.FromResult(connectionIds.Select(id => _entries.TryGetValue(id, out var e) ? e.Profile : null).ToArray());

    public ValueTask<DateTimeOffset?[]> JoinedAtAsync(string room, IReadOnlyList<string> connectionIds, CancellationToken cancellationToken = default)
        => ValueTask.FromResult(connectionIds
            .Select(id => _entries.TryGetValue(id, out var e) && e.JoinedAt.TryGetValue(room, out var at) ? at : (DateTimeOffset?)null)
            .ToArray());

    private sealed record Entry(PeerProfile Profile)
    {
        public ConcurrentDictionary<string, DateTimeOffset> JoinedAt { get; } = new(StringComparer.Ordinal);
    }
}
