namespace RoomSignal.LoadTest.Metrics;

/// <summary>
/// A lock-free latency histogram in microseconds: exact below 128 µs, then 64 buckets per power of two
/// (under 1.6 % error), up to about 2^40 µs. Safe to record into from many threads.
/// </summary>
internal sealed class Histogram
{
    private const int Linear = 128;
    private const int PerOctave = 64;
    private readonly long[] _counts = new long[Linear + (40 * PerOctave)];
    private long _count;
    private long _max;
    private double _sum;
    private readonly Lock _sumLock = new();

    public long Count => Interlocked.Read(ref _count);

    public void Record(double micros)
    {
        var v = micros <= 0 ? 0 : (long)micros;
        Interlocked.Increment(ref _counts[Index(v)]);
        Interlocked.Increment(ref _count);
        long seen;
        while (v > (seen = Interlocked.Read(ref _max)) && Interlocked.CompareExchange(ref _max, v, seen) != seen)
        {
        }

        lock (_sumLock)
        {
            _sum += micros;
        }
    }

    /// <summary>The value at quantile <paramref name="q"/> (0-1), in milliseconds; 0 when empty.</summary>
    public double Quantile(double q)
    {
        var total = Count;
        if (total == 0)
        {
            return 0;
        }

        var rank = (long)Math.Ceiling(q * total);
        rank = Math.Clamp(rank, 1, total);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += Interlocked.Read(ref _counts[i]);
            if (seen >= rank)
            {
                return Math.Min(UpperBound(i), Interlocked.Read(ref _max)) / 1000.0;
            }
        }

        return Interlocked.Read(ref _max) / 1000.0;
    }

    public object Summary() => new
    {
        count = Count,
        mean_ms = Count == 0 ? 0 : Math.Round(_sum / Count / 1000.0, 3),
        p50_ms = Math.Round(Quantile(0.50), 3),
        p95_ms = Math.Round(Quantile(0.95), 3),
        p99_ms = Math.Round(Quantile(0.99), 3),
        p999_ms = Math.Round(Quantile(0.999), 3),
        max_ms = Math.Round(Interlocked.Read(ref _max) / 1000.0, 3),
    };

    private static int Index(long v)
    {
        if (v < Linear)
        {
            return (int)v;
        }

        var octave = 63 - (int)long.LeadingZeroCount(v) - 7; // v in [128 << octave, 256 << octave)
        var sub = (int)((v >> (octave + 1)) - PerOctave); // 0..63
        var i = Linear + (octave * PerOctave) + sub;
        return Math.Min(i, Linear + (40 * PerOctave) - 1);
    }

    private static long UpperBound(int i)
    {
        if (i < Linear)
        {
            return i;
        }

        var octave = (i - Linear) / PerOctave;
        var sub = (i - Linear) % PerOctave;
        return ((long)(PerOctave + sub + 1) << (octave + 1)) - 1;
    }
}
