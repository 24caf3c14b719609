using System.Globalization;
using Microsoft.Extensions.Options;

namespace RoomSignal.Server.Limits;

/// <summary>
/// This node's connection cap and how many WebSockets it holds now. The cap also goes to Kestrel
/// (<c>MaxConcurrentConnections</c> and <c>MaxConcurrentUpgradedConnections</c>, because upgraded connections are not
/// counted by the first); <see cref="ConnectionAdmissionMiddleware"/> refuses a WebSocket past it with a 503 before
/// Kestrel has to, and <c>/readyz</c> reports 503 while the node is full.
/// </summary>
internal sealed class ConnectionCapacity
{
    private int _webSockets;

    public ConnectionCapacity(IOptions<LimitsOptions> options)
    {
        DescriptorLimit = ReadDescriptorLimit();
        DescriptorsInUse = CountOpenDescriptors();
        Derived = options.Value.MaxConnections is null;
        MaxConnections = options.Value.MaxConnections ?? DeriveFromDescriptors(DescriptorLimit, DescriptorsInUse);
    }

    /// <summary>The process's soft RLIMIT_NOFILE, or null where it cannot be read (not Linux).</summary>
    public long? DescriptorLimit { get; }

    /// <summary>Descriptors the process held when the cap was computed (the runtime keeps one or two per loaded assembly).</summary>
    public int DescriptorsInUse { get; }

    /// <summary>Whether <see cref="MaxConnections"/> came from the descriptor limit rather than configuration.</summary>
    public bool Derived { get; }

    /// <summary>The most WebSockets (and, separately, other HTTP connections) this node holds.</summary>
    public int MaxConnections { get; }

    /// <summary>WebSockets held now.</summary>
    public int WebSockets => Volatile.Read(ref _webSockets);

    /// <summary>Whether a new WebSocket would be refused.</summary>
    public bool IsFull => WebSockets >= MaxConnections;

    /// <summary>Takes a seat for a WebSocket; false when the node is full. Release it with <see cref="Leave"/>.</summary>
    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _webSockets) <= MaxConnections)
        {
            return true;
        }

        Interlocked.Decrement(ref _webSockets);
        return false;
    }

    public void Leave() => Interlocked.Decrement(ref _webSockets);

    /// <summary>
    /// Half of the descriptors left after what the process holds already, counted twice (assemblies loaded later hold
    /// theirs too), and a headroom of 5% (at least 100) for Redis, logs and files, so WebSockets and other connections
    /// together fit.
    /// </summary>
    internal static int DeriveFromDescriptors(long? descriptorLimit, int inUse)
    {
        if (descriptorLimit is not { } limit)
        {
            return 10_000;
        }

        var reserved = Math.Max(100, limit / 20) + (2L * inUse);
        return (int)Math.Clamp((limit - reserved) / 2, 1, 1_000_000);
    }

    /// <summary>Entries of /proc/self/fd; 0 where that does not exist.</summary>
    internal static int CountOpenDescriptors()
    {
        try
        {
            return Directory.EnumerateFileSystemEntries("/proc/self/fd").Count();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>The soft "Max open files" from /proc/self/limits; "unlimited" reads as a large number.</summary>
    internal static long? ReadDescriptorLimit()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/limits"))
            {
                if (!line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    continue;
                }

                var soft = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                return soft == "unlimited" ? 4_000_000 : long.Parse(soft, CultureInfo.InvariantCulture);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            // Not Linux, or an unexpected format: fall back to the fixed default.
        }

        return null;
    }
}
