using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace RoomSignal.LoadTest.Wire;

/// <summary>
/// The subset of MessagePack that SignalR's MessagePack hub protocol uses for our messages: arrays, maps,
/// strings, integers, nil and booleans. Hand-written so the driver's hot path allocates nothing beyond the
/// strings it keeps (the MessagePack package would bring a resolver and a reflection-based serializer).
/// </summary>
internal ref struct MsgPackReader(ReadOnlySpan<byte> buffer)
{
    private readonly ReadOnlySpan<byte> _buffer = buffer;
    private int _pos;

    public readonly bool End => _pos >= _buffer.Length;

    public readonly byte Peek() => _buffer[_pos];

    public bool TryReadNil()
    {
        if (_buffer[_pos] == 0xc0)
        {
            _pos++;
            return true;
        }

        return false;
    }

    public int ReadArrayHeader()
    {
        var b = _buffer[_pos++];
        if ((b & 0xf0) == 0x90)
        {
            return b & 0x0f;
        }

        return b switch
        {
            0xdc => ReadU16(),
            0xdd => checked((int)ReadU32()),
            _ => throw new FormatException($"msgpack: expected an array, got 0x{b:x2}"),
        };
    }

    public int ReadMapHeader()
    {
        var b = _buffer[_pos++];
        if ((b & 0xf0) == 0x80)
        {
            return b & 0x0f;
        }

        return b switch
        {
            0xde => ReadU16(),
            0xdf => checked((int)ReadU32()),
            _ => throw new FormatException($"msgpack: expected a map, got 0x{b:x2}"),
        };
    }

    public long ReadInt64()
    {
        var b = _buffer[_pos++];
        if (b <= 0x7f)
        {
            return b;
        }

        if (b >= 0xe0)
        {
            return (sbyte)b;
        }

        switch (b)
        {
            case 0xcc: return _buffer[_pos++];
            case 0xcd: return ReadU16();
            case 0xce: return ReadU32();
            case 0xcf:
                {
                    var v = BinaryPrimitives.ReadUInt64BigEndian(_buffer[_pos..]);
                    _pos += 8;
                    return checked((long)v);
                }
            case 0xd0: return (sbyte)_buffer[_pos++];
            case 0xd1:
                {
                    var v = BinaryPrimitives.ReadInt16BigEndian(_buffer[_pos..]);
                    _pos += 2;
                    return v;
                }
            case 0xd2:
                {
                    var v = BinaryPrimitives.ReadInt32BigEndian(_buffer[_pos..]);
                    _pos += 4;
                    return v;
                }
            case 0xd3:
                {
                    var v = BinaryPrimitives.ReadInt64BigEndian(_buffer[_pos..]);
                    _pos += 8;
                    return v;
                }
            default:
                throw new FormatException($"msgpack: expected an integer, got 0x{b:x2}");
        }
    }

    /// <summary>The UTF-8 bytes of a string (or nil as an empty span with <paramref name="isNil"/>).</summary>
    public ReadOnlySpan<byte> ReadStringSpan(out bool isNil)
    {
        isNil = false;
        var b = _buffer[_pos++];
        int length;
        if ((b & 0xe0) == 0xa0)
        {
            length = b & 0x1f;
        }
        else
        {
            switch (b)
            {
                case 0xc0:
                    isNil = true;
                    return default;
                case 0xd9 or 0xc4:
                    length = _buffer[_pos++];
                    break;
                case 0xda or 0xc5:
                    length = ReadU16();
                    break;
                case 0xdb or 0xc6:
                    length = checked((int)ReadU32());
                    break;
                default:
                    throw new FormatException($"msgpack: expected a string, got 0x{b:x2}");
            }
        }

        var span = _buffer.Slice(_pos, length);
        _pos += length;
        return span;
    }

    public string? ReadString()
    {
        var span = ReadStringSpan(out var isNil);
        return isNil ? null : Encoding.UTF8.GetString(span);
    }

    /// <summary>Skips one complete value of any type.</summary>
    public void Skip()
    {
        var b = _buffer[_pos];
        if (b <= 0x7f || b >= 0xe0 || b is 0xc0 or 0xc2 or 0xc3)
        {
            _pos++;
            return;
        }

        if ((b & 0xf0) == 0x90 || b is 0xdc or 0xdd)
        {
            var n = ReadArrayHeader();
            for (var i = 0; i < n; i++)
            {
                Skip();
            }

            return;
        }

        if ((b & 0xf0) == 0x80 || b is 0xde or 0xdf)
        {
            var n = ReadMapHeader();
            for (var i = 0; i < 2 * n; i++)
            {
                Skip();
            }

            return;
        }

        if ((b & 0xe0) == 0xa0 || b is 0xd9 or 0xda or 0xdb or 0xc4 or 0xc5 or 0xc6)
        {
            ReadStringSpan(out _);
            return;
        }

        _pos++;
        var skip = b switch
        {
            0xcc or 0xd0 => 1,
            0xcd or 0xd1 => 2,
            0xce or 0xd2 or 0xca => 4,
            0xcf or 0xd3 or 0xcb => 8,
            0xd4 => 2,
            0xd5 => 3,
            0xd6 => 5,
            0xd7 => 9,
            0xd8 => 17,
            0xc7 => 1 + 1 + _buffer[_pos],
            0xc8 => 1 + 2 + BinaryPrimitives.ReadUInt16BigEndian(_buffer[_pos..]),
            0xc9 => 1 + 4 + checked((int)BinaryPrimitives.ReadUInt32BigEndian(_buffer[_pos..])),
            _ => throw new FormatException($"msgpack: unknown format 0x{b:x2}"),
        };
        _pos += skip;
    }

    private int ReadU16()
    {
        var v = BinaryPrimitives.ReadUInt16BigEndian(_buffer[_pos..]);
        _pos += 2;
        return v;
    }

    private uint ReadU32()
    {
        var v = BinaryPrimitives.ReadUInt32BigEndian(_buffer[_pos..]);
        _pos += 4;
        return v;
    }
}

/// <summary>Writes the same subset of MessagePack into a buffer writer.</summary>
internal static class MsgPackWriter
{
    public static void WriteArrayHeader(IBufferWriter<byte> w, int count)
    {
        if (count < 16)
        {
            WriteByte(w, (byte)(0x90 | count));
        }
        else
        {
            var s = w.GetSpan(3);
            s[0] = 0xdc;
            BinaryPrimitives.WriteUInt16BigEndian(s[1..], checked((ushort)count));
            w.Advance(3);
        }
    }

    public static void WriteMapHeader(IBufferWriter<byte> w, int count)
    {
        if (count < 16)
        {
            WriteByte(w, (byte)(0x80 | count));
        }
        else
        {
            var s = w.GetSpan(3);
            s[0] = 0xde;
            BinaryPrimitives.WriteUInt16BigEndian(s[1..], checked((ushort)count));
            w.Advance(3);
        }
    }

    public static void WriteNil(IBufferWriter<byte> w) => WriteByte(w, 0xc0);

    public static void WriteInt(IBufferWriter<byte> w, long value)
    {
        if (value is >= 0 and <= 0x7f)
        {
            WriteByte(w, (byte)value);
        }
        else if (value is >= -32 and < 0)
        {
            WriteByte(w, unchecked((byte)(sbyte)value));
        }
        else
        {
            var s = w.GetSpan(9);
            s[0] = 0xd3;
            BinaryPrimitives.WriteInt64BigEndian(s[1..], value);
            w.Advance(9);
        }
    }

    public static void WriteString(IBufferWriter<byte> w, string? value)
    {
        if (value is null)
        {
            WriteNil(w);
            return;
        }

        var length = Encoding.UTF8.GetByteCount(value);
        WriteStringHeader(w, length);
        var s = w.GetSpan(length);
        Encoding.UTF8.GetBytes(value, s);
        w.Advance(length);
    }

    public static void WriteString(IBufferWriter<byte> w, ReadOnlySpan<byte> utf8)
    {
        WriteStringHeader(w, utf8.Length);
        w.Write(utf8);
    }

    private static void WriteStringHeader(IBufferWriter<byte> w, int length)
    {
        if (length < 32)
        {
            WriteByte(w, (byte)(0xa0 | length));
        }
        else if (length <= byte.MaxValue)
        {
            var s = w.GetSpan(2);
            s[0] = 0xd9;
            s[1] = (byte)length;
            w.Advance(2);
        }
        else if (length <= ushort.MaxValue)
        {
            var s = w.GetSpan(3);
            s[0] = 0xda;
            BinaryPrimitives.WriteUInt16BigEndian(s[1..], (ushort)length);
            w.Advance(3);
        }
        else
        {
            var s = w.GetSpan(5);
            s[0] = 0xdb;
            BinaryPrimitives.WriteUInt32BigEndian(s[1..], (uint)length);
            w.Advance(5);
        }
    }

    private static void WriteByte(IBufferWriter<byte> w, byte b)
    {
        w.GetSpan(1)[0] = b;
        w.Advance(1);
    }
}
