using System.Text;
using Microsoft.AspNetCore.SignalR;

namespace RoomSignal.Redis.Internal;

/// <summary>What a backplane message is.</summary>
internal enum BackplaneMessageKind : byte
{
    /// <summary>Ready-serialized hub invocation for some local connections of the receiver.</summary>
    Invocation = 1,

    /// <summary>Add or remove one of the receiver's connections to or from a group.</summary>
    GroupCommand = 2,

    /// <summary>The answer to a <see cref="GroupCommand"/>.</summary>
    GroupAck = 3,
}

/// <summary>Which local connections an invocation is for.</summary>
internal enum InvocationScope : byte
{
    /// <summary>Every connection.</summary>
    All = 1,

    /// <summary>The connections whose ids are the targets.</summary>
    Connections = 2,

    /// <summary>The members of the group named by the single target.</summary>
    Group = 3,

    /// <summary>The connections of the user named by the single target.</summary>
    User = 4,
}

internal enum GroupAction : byte
{
    Add = 1,
    Remove = 2,
}

internal enum GroupAckStatus : byte
{
    /// <summary>The membership change holds on the owning node.</summary>
    Done = 1,

    /// <summary>The receiving node has no such connection.</summary>
    UnknownConnection = 2,
}

/// <summary>An invocation as it travels between nodes: the hub message already serialized once per hub protocol.</summary>
internal sealed record BackplaneInvocation(
    string SenderNode,
    InvocationScope Scope,
    IReadOnlyList<string> Targets,
    IReadOnlyList<string> Excluded,
    IReadOnlyList<SerializedMessage> Messages);

internal sealed record BackplaneGroupCommand(long RequestId, string ReplyNode, GroupAction Action, string ConnectionId, string Group);

internal sealed record BackplaneGroupAck(long RequestId, GroupAckStatus Status);

/// <summary>
/// The byte layout of backplane messages. Version byte, kind byte, then the fields; strings and byte blocks
/// are length-prefixed (7-bit encoded). Our own compact format: nothing on the receiving side deserializes hub
/// arguments, it only copies the bytes of the protocol each connection speaks.
/// </summary>
internal static class BackplaneCodec
{
    private const byte Version = 1;

    public static byte[] Encode(BackplaneInvocation invocation)
    {
        using var stream = new MemoryStream(64 + invocation.Messages.Sum(m => m.Serialized.Length + 16));
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(Version);
        writer.Write((byte)BackplaneMessageKind.Invocation);
        writer.Write(invocation.SenderNode);
        writer.Write((byte)invocation.Scope);
        WriteList(writer, invocation.Targets);
        WriteList(writer, invocation.Excluded);
        writer.Write7BitEncodedInt(invocation.Messages.Count);
        foreach (var message in invocation.Messages)
        {
            writer.Write(message.ProtocolName);
            writer.Write7BitEncodedInt(message.Serialized.Length);
            writer.Write(message.Serialized.Span);
        }

        writer.Flush();
        return stream.ToArray();
    }

    public static byte[] Encode(BackplaneGroupCommand command)
    {
        using var stream = new MemoryStream(64);
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(Version);
        writer.Write((byte)BackplaneMessageKind.GroupCommand);
        writer.Write(command.RequestId);
        writer.Write(command.ReplyNode);
        writer.Write((byte)command.Action);
        writer.Write(command.ConnectionId);
        writer.Write(command.Group);
        writer.Flush();
        return stream.ToArray();
    }

    public static byte[] Encode(BackplaneGroupAck ack)
    {
        var bytes = new byte[11];
        bytes[0] = Version;
        bytes[1] = (byte)BackplaneMessageKind.GroupAck;
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(2, 8), ack.RequestId);
        bytes[10] = (byte)ack.Status;
        return bytes;
    }

    /// <summary>Decodes one backplane message; throws <see cref="InvalidDataException"/> on anything malformed.</summary>
    public static object Decode(byte[] bytes)
    {
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            using var reader = new BinaryReader(stream, Encoding.UTF8);
            var version = reader.ReadByte();
            if (version != Version)
            {
                throw new InvalidDataException($"Unsupported backplane message version {version}.");
            }

            var kind = (BackplaneMessageKind)reader.ReadByte();
            switch (kind)
            {
                case BackplaneMessageKind.Invocation:
                {
                    var sender = reader.ReadString();
                    var scope = (InvocationScope)reader.ReadByte();
                    var targets = ReadList(reader);
                    var excluded = ReadList(reader);
                    var count = ReadCount(reader);
                    var messages = new SerializedMessage[count];
                    for (var i = 0; i < count; i++)
                    {
                        var protocol = reader.ReadString();
                        var length = ReadCount(reader);
                        var start = checked((int)stream.Position);
                        if (start + length > bytes.Length)
                        {
                            throw new InvalidDataException("Truncated serialized hub message.");
                        }

                        // A slice of the received array: no copy per protocol.
                        messages[i] = new SerializedMessage(protocol, new ReadOnlyMemory<byte>(bytes, start, length));
                        stream.Position = start + length;
                    }

                    return new BackplaneInvocation(sender, scope, targets, excluded, messages);
                }

                case BackplaneMessageKind.GroupCommand:
                    return new BackplaneGroupCommand(reader.ReadInt64(), reader.ReadString(), (GroupAction)reader.ReadByte(), reader.ReadString(), reader.ReadString());

                case BackplaneMessageKind.GroupAck:
                    return new BackplaneGroupAck(reader.ReadInt64(), (GroupAckStatus)reader.ReadByte());

                default:
                    throw new InvalidDataException($"Unknown backplane message kind {(byte)kind}.");
            }
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("Truncated backplane message.", ex);
        }
    }

    private static void WriteList(BinaryWriter writer, IReadOnlyList<string> values)
    {
        writer.Write7BitEncodedInt(values.Count);
        foreach (var value in values)
        {
            writer.Write(value);
        }
    }

    private static string[] ReadList(BinaryReader reader)
    {
        var count = ReadCount(reader);
        if (count == 0)
        {
            return [];
        }

        var values = new string[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = reader.ReadString();
        }

        return values;
    }

    private static int ReadCount(BinaryReader reader)
    {
        var count = reader.Read7BitEncodedInt();
        if (count < 0 || count > reader.BaseStream.Length)
        {
            throw new InvalidDataException($"Implausible length {count} in a backplane message.");
        }

        return count;
    }
}
