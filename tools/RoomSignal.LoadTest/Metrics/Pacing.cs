using System.Diagnostics;
using System.Runtime.InteropServices;

namespace RoomSignal.LoadTest.Metrics;

/// <summary>
/// Sleeps shorter than a millisecond: <c>Thread.Sleep</c> rounds to whole milliseconds, and timer-based waits
/// (<c>Task.Delay</c>, <c>PeriodicTimer</c>) add a timer-queue and a thread-pool wake-up, each late by up to
/// milliseconds on a busy machine. On Linux this calls <c>nanosleep</c>, which wakes within the kernel's timer
/// slack (50 µs by default).
/// </summary>
internal static partial class Pacing
{
    /// <summary>Sleeps about <paramref name="stopwatchTicks"/> (at most 1 ms at a time, so a caller re-checks its schedule).</summary>
    public static void Sleep(long stopwatchTicks)
    {
        var ticks = Math.Min(stopwatchTicks, Stopwatch.Frequency / 1000); // clamp first: ticks × 10^9 overflows past ~9 s
        var nanos = ticks * 1_000_000_000L / Stopwatch.Frequency;
        if (OperatingSystem.IsLinux())
        {
            var ts = new Timespec { Seconds = 0, Nanoseconds = nanos };
            _ = NanoSleep(ref ts, IntPtr.Zero);
        }
        else
        {
            Thread.Sleep(nanos >= 500_000 ? 1 : 0);
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "nanosleep")]
    private static partial int NanoSleep(ref Timespec request, IntPtr remaining);
}
