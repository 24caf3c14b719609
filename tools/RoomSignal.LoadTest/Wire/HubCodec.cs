using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;

namespace RoomSignal.LoadTest.Wire;

/// <summary>The payload fields a message may carry; null ones are not written.</summary>
internal readonly struct Payload
{
    public string? Id { get; init; }
    public string? Room { get; init; }
    public string? From { get; init; }
    public string? To { get; init; }
    public string? Sdp { get; init; }
    public bool HasCandidate { get; init; }
    public string? CandidateText { get; init; }
    public string? SdpMid { get; init; }
    public int? SdpMLineIndex { get; init; }
    public string? UsernameFragment { get; init; }
    public IReadOnlyList<string>? Peers { get; init; }
}

/// <summary>
/// Encodes and decodes SignalR hub protocol records (JSON and MessagePack) for the messages of the
/// RoomSignal wire contract, without reflection and without the official client.
/// </summary>
internal static class HubCodec
{
    public const byte RecordSeparator = 0x1e;

    /// <summary>MessagePack map keys: camelCase as RoomSignal writes them (RoomSignalMessagePack); PascalCase is SignalR's default.</summary>
    public static bool MsgPackPascalCase { get; set; }

    [ThreadStatic] private static Utf8JsonWriter? t_json;
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_scratch;

    private static readonly byte[] s_jsonPing = "{\"type\":6}\u001e"u8.ToArray();
    private static readonly byte[] s_msgpackPing = [0x02, 0x91, 0x06];

    public static byte[] Handshake(HubProtocolKind kind) => Encoding.UTF8.GetBytes(
        kind == HubProtocolKind.Json ? "{\"protocol\":\"json\",\"version\":1}\u001e" : "{\"protocol\":\"messagepack\",\"version\":1}\u001e");

    public static ReadOnlySpan<byte> Ping(HubProtocolKind kind) => kind == HubProtocolKind.Json ? s_jsonPing : s_msgpackPing;

    // ---------------------------------------------------------------------------------------------- writing

    /// <summary>Writes an invocation record: with an id when the caller wants a completion, without for server events.</summary>
    public static void WriteInvocation(IBufferWriter<byte> output, HubProtocolKind kind, string? invocationId, string target, in Payload payload)
    {
        if (kind == HubProtocolKind.Json)
        {
            var json = Json(output);
            json.WriteStartObject();
            json.WriteNumber("type"u8, 1);
            if (invocationId is not null)
            {
                json.WriteString("invocationId"u8, invocationId);
            }

            json.WriteString("target"u8, target);
            json.WriteStartArray("arguments"u8);
            WriteJsonPayload(json, payload);
            json.WriteEndArray();
            json.WriteEndObject();
            json.Flush();
            WriteByte(output, RecordSeparator);
            return;
        }

        var body = Scratch();
        MsgPackWriter.WriteArrayHeader(body, 6);
        MsgPackWriter.WriteInt(body, 1);
        MsgPackWriter.WriteMapHeader(body, 0);
        MsgPackWriter.WriteString(body, invocationId);
        MsgPackWriter.WriteString(body, target);
        MsgPackWriter.WriteArrayHeader(body, 1);
        WriteMsgPackPayload(body, payload);
        MsgPackWriter.WriteArrayHeader(body, 0);
        WriteFramed(output, body);
    }

    /// <summary>Writes a completion: void (no error, no result), an error, or a result payload.</summary>
    public static void WriteCompletion(IBufferWriter<byte> output, HubProtocolKind kind, string invocationId, string? error, in Payload? result)
    {
        if (kind == HubProtocolKind.Json)
        {
            var json = Json(output);
            json.WriteStartObject();
            json.WriteNumber("type"u8, 3);
            json.WriteString("invocationId"u8, invocationId);
            if (error is not null)
            {
                json.WriteString("error"u8, error);
            }
            else if (result is { } r)
            {
                json.WritePropertyName("result"u8);
                WriteJsonPayload(json, r);
            }

            json.WriteEndObject();
            json.Flush();
            WriteByte(output, RecordSeparator);
            return;
        }

        var body = Scratch();
        var hasValue = error is not null || result is not null;
        MsgPackWriter.WriteArrayHeader(body, hasValue ? 5 : 4);
        MsgPackWriter.WriteInt(body, 3);
        MsgPackWriter.WriteMapHeader(body, 0);
        MsgPackWriter.WriteString(body, invocationId);
        if (error is not null)
        {
            MsgPackWriter.WriteInt(body, 1);
            MsgPackWriter.WriteString(body, error);
        }
        else if (result is { } r)
        {
            MsgPackWriter.WriteInt(body, 3);
            WriteMsgPackPayload(body, r);
        }
        else
        {
            MsgPackWriter.WriteInt(body, 2);
        }

        WriteFramed(output, body);
    }

    private static void WriteJsonPayload(Utf8JsonWriter json, in Payload p)
    {
        json.WriteStartObject();
        if (p.Id is not null)
        {
            json.WriteString("id"u8, p.Id);
        }

        if (p.From is not null)
        {
            json.WriteString("from"u8, p.From);
        }

        if (p.To is not null)
        {
            json.WriteString("to"u8, p.To);
        }

        if (p.Room is not null)
        {
            json.WriteString("room"u8, p.Room);
        }

        if (p.Sdp is not null)
        {
            json.WriteString("sdp"u8, p.Sdp);
        }

        if (p.HasCandidate)
        {
            json.WriteStartObject("candidate"u8);
            json.WriteString("candidate"u8, p.CandidateText);
            json.WriteString("sdpMid"u8, p.SdpMid);
            if (p.SdpMLineIndex is { } m)
            {
                json.WriteNumber("sdpMLineIndex"u8, m);
            }
            else
            {
                json.WriteNull("sdpMLineIndex"u8);
            }

            json.WriteString("usernameFragment"u8, p.UsernameFragment);
            json.WriteEndObject();
        }

        if (p.Peers is not null)
        {
            json.WriteStartArray("peers"u8);
            foreach (var peer in p.Peers)
            {
                json.WriteStartObject();
                json.WriteString("id"u8, peer);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
    }

    private static void WriteMsgPackPayload(IBufferWriter<byte> w, in Payload p)
    {
        var count = (p.Id is null ? 0 : 1) + (p.From is null ? 0 : 1) + (p.To is null ? 0 : 1) + (p.Room is null ? 0 : 1)
            + (p.Sdp is null ? 0 : 1) + (p.HasCandidate ? 1 : 0) + (p.Peers is null ? 0 : 1);
        MsgPackWriter.WriteMapHeader(w, count);
        var pascal = MsgPackPascalCase;
        if (p.Id is not null)
        {
            Key(w, pascal, "Id", "id");
            MsgPackWriter.WriteString(w, p.Id);
        }

        if (p.From is not null)
        {
            Key(w, pascal, "From", "from");
            MsgPackWriter.WriteString(w, p.From);
        }

        if (p.To is not null)
        {
            Key(w, pascal, "To", "to");
            MsgPackWriter.WriteString(w, p.To);
        }

        if (p.Room is not null)
        {
            Key(w, pascal, "Room", "room");
            MsgPackWriter.WriteString(w, p.Room);
        }

        if (p.Sdp is not null)
        {
            Key(w, pascal, "Sdp", "sdp");
            MsgPackWriter.WriteString(w, p.Sdp);
        }

        if (p.HasCandidate)
        {
            Key(w, pascal, "Candidate", "candidate");
            MsgPackWriter.WriteMapHeader(w, 4);
            Key(w, pascal, "Candidate", "candidate");
            MsgPackWriter.WriteString(w, p.CandidateText);
            Key(w, pascal, "SdpMid", "sdpMid");
            MsgPackWriter.WriteString(w, p.SdpMid);
            Key(w, pascal, "SdpMLineIndex", "sdpMLineIndex");
            if (p.SdpMLineIndex is { } m)
            {
                MsgPackWriter.WriteInt(w, m);
            }
            else
            {
                MsgPackWriter.WriteNil(w);
            }

            Key(w, pascal, "UsernameFragment", "usernameFragment");
            MsgPackWriter.WriteString(w, p.UsernameFragment);
        }

        if (p.Peers is not null)
        {
            Key(w, pascal, "Peers", "peers");
            MsgPackWriter.WriteArrayHeader(w, p.Peers.Count);
            foreach (var peer in p.Peers)
            {
                MsgPackWriter.WriteMapHeader(w, 1);
                Key(w, pascal, "Id", "id");
                MsgPackWriter.WriteString(w, peer);
            }
        }
    }

    private static void Key(IBufferWriter<byte> w, bool pascal, string pascalName, string camelName) =>
        MsgPackWriter.WriteString(w, pascal ? pascalName : camelName);

    private static Utf8JsonWriter Json(IBufferWriter<byte> output)
    {
        if (t_json is null)
        {
            t_json = new Utf8JsonWriter(output, new JsonWriterOptions { SkipValidation = true });
        }
        else
        {
            t_json.Reset(output);
        }

        return t_json;
    }

    private static ArrayBufferWriter<byte> Scratch()
    {
        var scratch = t_scratch ??= new ArrayBufferWriter<byte>(4096);
        scratch.ResetWrittenCount();
        return scratch;
    }

    private static void WriteFramed(IBufferWriter<byte> output, ArrayBufferWriter<byte> body)
    {
        // SignalR's binary framing: the length as a base-128 varint, then the body.
        var length = (uint)body.WrittenCount;
        var prefix = output.GetSpan(5);
        var n = 0;
        do
        {
            var b = (byte)(length & 0x7f);
            length >>= 7;
            if (length > 0)
            {
                b |= 0x80;
            }

            prefix[n++] = b;
        }
        while (length > 0);

        output.Advance(n);
        output.Write(body.WrittenSpan);
    }

    private static void WriteByte(IBufferWriter<byte> w, byte b)
    {
        w.GetSpan(1)[0] = b;
        w.Advance(1);
    }

    // ---------------------------------------------------------------------------------------------- reading

    /// <summary>
    /// Takes the next complete record from <paramref name="buffer"/> (JSON: up to 0x1e; MessagePack: varint
    /// length and body). Returns false when the buffer holds only part of a record.
    /// </summary>
    public static bool TryTakeRecord(HubProtocolKind kind, ref ReadOnlySpan<byte> buffer, out ReadOnlySpan<byte> record)
    {
        if (kind == HubProtocolKind.Json)
        {
            var end = buffer.IndexOf(RecordSeparator);
            if (end < 0)
            {
                record = default;
                return false;
            }

            record = buffer[..end];
            buffer = buffer[(end + 1)..];
            return true;
        }

        uint length = 0;
        var shift = 0;
        var i = 0;
        while (true)
        {
            if (i >= buffer.Length || i >= 5)
            {
                record = default;
                if (i >= 5)
                {
                    throw new FormatException("msgpack: bad length prefix");
                }

                return false;
            }

            var b = buffer[i++];
            length |= (uint)(b & 0x7f) << shift;
            shift += 7;
            if ((b & 0x80) == 0)
            {
                break;
            }
        }

        if (buffer.Length - i < length)
        {
            record = default;
            return false;
        }

        record = buffer.Slice(i, (int)length);
        buffer = buffer[(i + (int)length)..];
        return true;
    }

    /// <summary>Decodes one record. <paramref name="keepText"/> also keeps sdp and candidate strings (the ceiling relays them).</summary>
    public static void Parse(HubProtocolKind kind, ReadOnlySpan<byte> record, HubMessage m, bool keepText)
    {
        m.Reset();
        if (kind == HubProtocolKind.Json)
        {
            ParseJson(record, m, keepText);
        }
        else
        {
            ParseMsgPack(record, m, keepText);
        }
    }

    private static void ParseJson(ReadOnlySpan<byte> record, HubMessage m, bool keepText)
    {
        var r = new Utf8JsonReader(record);
        if (!r.Read() || r.TokenType != JsonTokenType.StartObject)
        {
            throw new FormatException("json: a record must be an object");
        }

        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            var name = r.ValueSpan;
            r.Read();
            if (name.SequenceEqual("type"u8))
            {
                m.Type = r.GetInt32();
            }
            else if (name.SequenceEqual("target"u8))
            {
                m.Target = TargetOf(r.ValueSpan);
            }
            else if (name.SequenceEqual("invocationId"u8))
            {
                m.InvocationId = r.GetString();
            }
            else if (name.SequenceEqual("error"u8))
            {
                m.Error = r.GetString();
            }
            else if (name.SequenceEqual("result"u8))
            {
                m.HasResult = true;
                if (r.TokenType == JsonTokenType.StartObject)
                {
                    ParseJsonPayload(ref r, m, keepText);
                }
                else
                {
                    r.Skip();
                }
            }
            else if (name.SequenceEqual("arguments"u8) && r.TokenType == JsonTokenType.StartArray)
            {
                var first = true;
                while (r.Read() && r.TokenType != JsonTokenType.EndArray)
                {
                    if (first && r.TokenType == JsonTokenType.StartObject)
                    {
                        ParseJsonPayload(ref r, m, keepText);
                    }
                    else
                    {
                        r.Skip();
                    }

                    first = false;
                }
            }
            else
            {
                r.Skip();
            }
        }
    }

    private static void ParseJsonPayload(ref Utf8JsonReader r, HubMessage m, bool keepText)
    {
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            var name = r.ValueSpan;
            r.Read();
            if (r.TokenType == JsonTokenType.Null)
            {
                continue;
            }

            if (Is(name, "id"u8))
            {
                m.Id = r.GetString();
            }
            else if (Is(name, "room"u8))
            {
                m.Room = r.GetString();
            }
            else if (Is(name, "from"u8))
            {
                m.From = r.GetString();
            }
            else if (Is(name, "to"u8))
            {
                m.To = r.GetString();
            }
            else if (Is(name, "seq"u8))
            {
                m.Seq = r.GetInt64();
            }
            else if (Is(name, "sdp"u8))
            {
                TakeMarker(r.HasValueSequence ? r.ValueSequence.ToArray() : r.ValueSpan, m);
                if (keepText)
                {
                    m.Sdp = r.GetString();
                }
            }
            else if (Is(name, "candidate"u8) && r.TokenType == JsonTokenType.StartObject)
            {
                m.HasCandidate = true;
                while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
                {
                    var cname = r.ValueSpan;
                    r.Read();
                    if (r.TokenType == JsonTokenType.Null)
                    {
                        continue;
                    }

                    if (Is(cname, "candidate"u8))
                    {
                        TakeMarker(r.ValueSpan, m);
                        if (keepText)
                        {
                            m.CandidateText = r.GetString();
                        }
                    }
                    else if (Is(cname, "sdpMid"u8))
                    {
                        m.SdpMid = keepText ? r.GetString() : null;
                    }
                    else if (Is(cname, "sdpMLineIndex"u8))
                    {
                        m.SdpMLineIndex = r.GetInt32();
                    }
                    else if (Is(cname, "usernameFragment"u8))
                    {
                        m.UsernameFragment = keepText ? r.GetString() : null;
                    }
                    else
                    {
                        r.Skip();
                    }
                }
            }
            else if (Is(name, "peers"u8) && r.TokenType == JsonTokenType.StartArray)
            {
                m.HasPeers = true;
                while (r.Read() && r.TokenType == JsonTokenType.StartObject)
                {
                    while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
                    {
                        var pname = r.ValueSpan;
                        r.Read();
                        if (Is(pname, "id"u8) && r.TokenType == JsonTokenType.String)
                        {
                            m.Peers.Add(r.GetString()!);
                        }
                        else
                        {
                            r.Skip();
                        }
                    }
                }
            }
            else
            {
                r.Skip();
            }
        }
    }

    private static void ParseMsgPack(ReadOnlySpan<byte> record, HubMessage m, bool keepText)
    {
        var r = new MsgPackReader(record);
        var n = r.ReadArrayHeader();
        m.Type = (int)r.ReadInt64();
        var read = 1;
        switch (m.Type)
        {
            case 1:
                r.Skip(); // headers
                m.InvocationId = r.ReadString();
                m.Target = TargetOf(r.ReadStringSpan(out _));
                read += 3;
                if (read < n)
                {
                    var args = r.ReadArrayHeader();
                    read++;
                    for (var i = 0; i < args; i++)
                    {
                        if (i == 0 && IsMap(r.Peek()))
                        {
                            ParseMsgPackPayload(ref r, m, keepText);
                        }
                        else
                        {
                            r.Skip();
                        }
                    }
                }

                break;
            case 3:
                r.Skip(); // headers
                m.InvocationId = r.ReadString();
                var kind = r.ReadInt64();
                read += 3;
                if (kind == 1)
                {
                    m.Error = r.ReadString();
                }
                else if (kind == 3)
                {
                    m.HasResult = true;
                    if (IsMap(r.Peek()))
                    {
                        ParseMsgPackPayload(ref r, m, keepText);
                    }
                    else
                    {
                        r.Skip();
                    }
                }

                break;
            case 7:
                m.Error = n > 1 ? r.ReadString() : null;
                break;
        }
    }

    private static bool IsMap(byte b) => (b & 0xf0) == 0x80 || b is 0xde or 0xdf;

    private static void ParseMsgPackPayload(ref MsgPackReader r, HubMessage m, bool keepText)
    {
        var count = r.ReadMapHeader();
        for (var i = 0; i < count; i++)
        {
            var name = r.ReadStringSpan(out _);
            if (r.TryReadNil())
            {
                continue;
            }

            if (Is(name, "id"u8))
            {
                m.Id = r.ReadString();
            }
            else if (Is(name, "room"u8))
            {
                m.Room = r.ReadString();
            }
            else if (Is(name, "from"u8))
            {
                m.From = r.ReadString();
            }
            else if (Is(name, "to"u8))
            {
                m.To = r.ReadString();
            }
            else if (Is(name, "seq"u8))
            {
                m.Seq = r.ReadInt64();
            }
            else if (Is(name, "sdp"u8))
            {
                var span = r.ReadStringSpan(out _);
                TakeMarker(span, m);
                if (keepText)
                {
                    m.Sdp = Encoding.UTF8.GetString(span);
                }
            }
            else if (Is(name, "candidate"u8) && IsMap(r.Peek()))
            {
                m.HasCandidate = true;
                var cn = r.ReadMapHeader();
                for (var j = 0; j < cn; j++)
                {
                    var cname = r.ReadStringSpan(out _);
                    if (r.TryReadNil())
                    {
                        continue;
                    }

                    if (Is(cname, "candidate"u8))
                    {
                        var span = r.ReadStringSpan(out _);
                        TakeMarker(span, m);
                        if (keepText)
                        {
                            m.CandidateText = Encoding.UTF8.GetString(span);
                        }
                    }
                    else if (Is(cname, "sdpMid"u8))
                    {
                        var mid = r.ReadString();
                        m.SdpMid = keepText ? mid : null;
                    }
                    else if (Is(cname, "sdpMLineIndex"u8))
                    {
                        m.SdpMLineIndex = (int)r.ReadInt64();
                    }
                    else if (Is(cname, "usernameFragment"u8))
                    {
                        var u = r.ReadString();
                        m.UsernameFragment = keepText ? u : null;
                    }
                    else
                    {
                        r.Skip();
                    }
                }
            }
            else if (Is(name, "peers"u8))
            {
                m.HasPeers = true;
                var pn = r.ReadArrayHeader();
                for (var j = 0; j < pn; j++)
                {
                    var fields = r.ReadMapHeader();
                    for (var k = 0; k < fields; k++)
                    {
                        var pname = r.ReadStringSpan(out _);
                        if (Is(pname, "id"u8) && !r.TryReadNil())
                        {
                            m.Peers.Add(r.ReadString()!);
                        }
                        else
                        {
                            r.Skip();
                        }
                    }
                }
            }
            else
            {
                r.Skip();
            }
        }
    }

    private static bool Is(ReadOnlySpan<byte> name, ReadOnlySpan<byte> expected) =>
        System.Text.Ascii.EqualsIgnoreCase(name, expected);

    private static HubTarget TargetOf(ReadOnlySpan<byte> name) =>
        Is(name, "Offer"u8) ? HubTarget.Offer
        : Is(name, "Answer"u8) ? HubTarget.Answer
        : Is(name, "Candidate"u8) ? HubTarget.Candidate
        : Is(name, "Created"u8) ? HubTarget.Created
        : Is(name, "Joined"u8) ? HubTarget.Joined
        : Is(name, "Exit"u8) ? HubTarget.Exit
        : Is(name, "Removed"u8) ? HubTarget.Removed
        : Is(name, "CreateAndJoinRoom"u8) ? HubTarget.CreateAndJoinRoom
        : HubTarget.Other;

    // ---------------------------------------------------------------------------------------------- relay marker

    /// <summary>The marker text a relay payload starts with.</summary>
    public static string MarkerText(int sender, int target, long seq, long ticks) => $"RS1|{sender}|{target}|{seq}|{ticks}|";

    private static void TakeMarker(ReadOnlySpan<byte> text, HubMessage m)
    {
        var at = text.IndexOf("RS1|"u8);
        if (at < 0)
        {
            return;
        }

        var s = text[(at + 4)..];
        if (Next(ref s, out var sender) && Next(ref s, out var target) && Next(ref s, out var seq) && Next(ref s, out var ticks))
        {
            m.HasMarker = true;
            m.Marker = new RelayMarker((int)sender, (int)target, seq, ticks);
        }

        static bool Next(ref ReadOnlySpan<byte> s, out long value)
        {
            if (!Utf8Parser.TryParse(s, out value, out var consumed) || consumed >= s.Length || s[consumed] != (byte)'|')
            {
                return false;
            }

            s = s[(consumed + 1)..];
            return true;
        }
    }
}
