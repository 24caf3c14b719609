using System.Diagnostics.Metrics;
using RoomSignal.Redis;
using RoomSignal.Server.Limits;

namespace RoomSignal.Server.Metrics;

/// <summary>
/// The <c>RoomSignal</c> meter: what an operator watches on each node. Counts are this node's (its connections and
/// their memberships); add the nodes up for the cluster. Read it with <c>dotnet-counters monitor -n RoomSignal.Server
/// --counters RoomSignal</c>, over OTLP, or at <c>/metrics</c>.
/// </summary>
public sealed class RoomSignalMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "RoomSignal";

    private readonly UpDownCounter<long> _connections;
    private readonly UpDownCounter<long> _members;
    private readonly Counter<long> _connectionRefusals;
    private readonly Counter<long> _joins;
    private readonly Counter<long> _joinRefusals;
    private readonly Counter<long> _relays;
    private readonly Counter<long> _relayRefusals;
    private readonly Counter<long> _rateLimited;
    private readonly Counter<long> _floodDisconnects;
    private readonly Counter<long> _redisPublishes;
    private readonly Counter<long> _redisPublishErrors;
    private readonly Counter<long> _changesReceived;
    private readonly Counter<long> _sweeps;
    private readonly Counter<long> _sweptMembers;
    private readonly Histogram<double> _redisRoundTrip;
    private readonly ConnectionCounter _localRooms = new();

    /// <summary>Bucket bounds of <c>roomsignal.redis.rtt</c>, in seconds: 0.1 ms to 2.5 s (a loopback PING takes about 0.1 ms).</summary>
    internal static readonly double[] RoundTripBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

    /// <summary>
    /// Creates the instruments on a meter from <paramref name="meterFactory"/>; with <paramref name="redis"/> (a node that
    /// scales out) also the gauge of its Redis connection state.
    /// </summary>
    public RoomSignalMetrics(IMeterFactory meterFactory, IRedisConnection? redis = null)
    {
        var meter = meterFactory.Create(MeterName);
        _connections = meter.CreateUpDownCounter<long>("roomsignal.connections", "{connection}", "Hub connections open on this node.");
        _members = meter.CreateUpDownCounter<long>("roomsignal.room.members", "{member}", "Room memberships held by this node's connections.");
        meter.CreateObservableGauge("roomsignal.rooms", () => _localRooms.Keys, "{room}", "Rooms with at least one member connected to this node.");
        _connectionRefusals = meter.CreateCounter<long>("roomsignal.connection.refusals", "{connection}", "Connections refused, by reason (full, redis, stopping, per_ip, per_user).");
        _joins = meter.CreateCounter<long>("roomsignal.joins", "{join}", "Successful joins, by outcome (joined, already_member).");
        _joinRefusals = meter.CreateCounter<long>("roomsignal.join.refusals", "{join}", "Refused joins, by reason (full, rooms_limit, rate, forbidden, invalid, error).");
        _relays = meter.CreateCounter<long>("roomsignal.relays", "{message}", "Relayed offers, answers and candidates, by kind.");
        _relayRefusals = meter.CreateCounter<long>("roomsignal.relay.refusals", "{message}", "Refused relays, by kind and reason (not_member, rate, invalid, error).");
        _rateLimited = meter.CreateCounter<long>("roomsignal.rate_limited", "{invocation}", "Invocations refused by a rate limit, by bucket (invocations, joins).");
        _floodDisconnects = meter.CreateCounter<long>("roomsignal.flood_disconnects", "{connection}", "Connections dropped for invoking past their rate limit.");

        // Redis (only moves on a node with RoomSignal:Redis:Configuration).
        _redisPublishes = meter.CreateCounter<long>("roomsignal.redis.publishes", "{message}", "Membership changes the room store published on Redis, by change (join, leave).");
        _redisPublishErrors = meter.CreateCounter<long>("roomsignal.redis.publish_errors", "{message}", "Membership changes the room store could not run on Redis (unreachable, timed out), by change (join, leave).");
        _changesReceived = meter.CreateCounter<long>("roomsignal.redis.changes_received", "{message}", "Membership changes received from Redis's change channel.");
        _sweeps = meter.CreateCounter<long>("roomsignal.sweeps", "{sweep}", "Sweeps for crashed nodes this node ran (holding the sweep lock).");
        _sweptMembers = meter.CreateCounter<long>("roomsignal.sweep.members", "{member}", "Memberships of crashed nodes this node's sweeps removed (and reported to their rooms).");
        _redisRoundTrip = meter.CreateHistogram<double>(
            "roomsignal.redis.rtt",
            "s",
            "Round-trip time of a periodic PING to Redis (RoomSignal:Metrics:RedisPingInterval).",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = RoundTripBuckets });
        if (redis is not null)
        {
            meter.CreateObservableGauge("roomsignal.redis.connected", () => redis.IsConnected ? 1 : 0, "{state}", "1 while this node is connected to Redis, 0 while it is not.");
        }
    }

    internal void ConnectionOpened() => _connections.Add(1);

    internal void ConnectionClosed() => _connections.Add(-1);

    internal void ConnectionRefused(string reason) => _connectionRefusals.Add(1, new KeyValuePair<string, object?>("reason", reason));

    internal void Joined(string room, bool newMember)
    {
        _joins.Add(1, new KeyValuePair<string, object?>("outcome", newMember ? "joined" : "already_member"));
        if (newMember)
        {
            _members.Add(1);
            _localRooms.TryAdd(room, 0);
        }
    }

    internal void Left(string room)
    {
        _members.Add(-1);
        _localRooms.Remove(room);
    }

    internal void JoinRefused(string reason) => _joinRefusals.Add(1, new KeyValuePair<string, object?>("reason", reason));

    internal void Relayed(string kind) => _relays.Add(1, new KeyValuePair<string, object?>("kind", kind));

    internal void RelayRefused(string kind, string reason)
        => _relayRefusals.Add(1, new KeyValuePair<string, object?>("kind", kind), new KeyValuePair<string, object?>("reason", reason));

    internal void RateLimited(string bucket) => _rateLimited.Add(1, new KeyValuePair<string, object?>("bucket", bucket));

    internal void DisconnectedForFlooding() => _floodDisconnects.Add(1);

    internal void RedisPublished(string change) => _redisPublishes.Add(1, new KeyValuePair<string, object?>("change", change));

    internal void RedisPublishFailed(string change) => _redisPublishErrors.Add(1, new KeyValuePair<string, object?>("change", change));

    internal void ChangeReceived() => _changesReceived.Add(1);

    internal void SweepRan(int membersRemoved)
    {
        _sweeps.Add(1);
        if (membersRemoved > 0)
        {
            _sweptMembers.Add(membersRemoved);
        }
    }

    internal void RedisRoundTrip(TimeSpan elapsed) => _redisRoundTrip.Record(elapsed.TotalSeconds);
}
