using System.Buffers;
using System.Text;
using StackExchange.Redis;

namespace RoomSignal.LoadTest.Ceiling;

/// <summary>
/// The ceiling's <c>--redis</c> mode: ceiling nodes sharing a Redis relay to each other, for the floor of a cross-node
/// message on this stack. Each node subscribes one channel of its own (<c>ceiling:node:NAME</c>); a connection id
/// starts with its node's name, so a relay to a connection elsewhere is one <c>PUBLISH</c> to that node's channel of
/// the record already written for the target (node, then target id, then the record), which the receiving node queues
/// to the connection as it is. StackExchange.Redis with its socket I/O on the thread pool, as RoomSignal ships it.
/// Only what the relay scenario needs: rooms stay each node's own (a join sees the members on its node), the target's
/// membership is not checked across nodes, and every connection of the cluster must speak one hub protocol.
/// </summary>
internal sealed class CeilingCluster : IDisposable
{
    private const string ChannelPrefix = "ceiling:node:";
    private readonly ConnectionMultiplexer _redis;
    private readonly ISubscriber _subscriber;
    private readonly CeilingHub _hub;

    private CeilingCluster(ConnectionMultiplexer redis, CeilingHub hub)
    {
        _redis = redis;
        _subscriber = redis.GetSubscriber();
        _hub = hub;
    }

    public static async Task<CeilingCluster> ConnectAsync(string configuration, CeilingHub hub)
    {
        var options = ConfigurationOptions.Parse(configuration);
        options.SocketManager = SocketManager.ThreadPool;
        options.AbortOnConnectFail = true;
        var cluster = new CeilingCluster(await ConnectionMultiplexer.ConnectAsync(options), hub);
        await cluster._subscriber.SubscribeAsync(RedisChannel.Literal(ChannelPrefix + hub.NodeName), (_, value) => cluster.Deliver(value));
        return cluster;
    }

    /// <summary>The node a connection id belongs to: the part before its first <see cref="CeilingHub.NodeSeparator"/>.</summary>
    public static ReadOnlySpan<char> NodeOf(string connectionId)
    {
        var at = connectionId.IndexOf(CeilingHub.NodeSeparator);
        return at > 0 ? connectionId.AsSpan(0, at) : [];
    }

    /// <summary>Publishes a relay to a connection on another node: the target id, a newline, and the record for it.</summary>
    public void Publish(string to, Wire.HubProtocolKind kind, string target, in Wire.Payload payload)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + (payload.Sdp?.Length ?? 0) + (payload.CandidateText?.Length ?? 0));
        var id = Encoding.UTF8.GetByteCount(to);
        Encoding.UTF8.GetBytes(to, buffer.GetSpan(id + 1));
        buffer.GetSpan(id + 1)[id] = (byte)'\n';
        buffer.Advance(id + 1);
        buffer.GetSpan(1)[0] = (byte)kind;
        buffer.Advance(1);
        Wire.HubCodec.WriteInvocation(buffer, kind, null, target, payload);
        var channel = RedisChannel.Literal(string.Concat(ChannelPrefix, NodeOf(to)));
        _subscriber.Publish(channel, buffer.WrittenMemory, CommandFlags.FireAndForget);
    }

    private void Deliver(RedisValue value)
    {
        try
        {
            ReadOnlyMemory<byte> bytes = value;
            var span = bytes.Span;
            var newline = span.IndexOf((byte)'\n');
            if (newline <= 0 || span.Length < newline + 2)
            {
                return;
            }

            var to = Encoding.UTF8.GetString(span[..newline]);
            var kind = (Wire.HubProtocolKind)span[newline + 1];
            if (_hub.Connections.TryGetValue(to, out var connection))
            {
                connection.EnqueueRecord(kind, span[(newline + 2)..]);
            }
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"ceiling: a cross-node relay could not be delivered: {ex.Message}");
        }
    }

    public void Dispose() => _redis.Dispose();
}
