using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace RoomSignal.Redis.Tests.Backplane;

/// <summary>Collects log entries of a node so a test can count them.</summary>
public sealed class LogSink : ILoggerProvider
{
    public ConcurrentQueue<LogEntry> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public int Count(string categoryPrefix, LogLevel level)
        => Entries.Count(e => e.Category.StartsWith(categoryPrefix, StringComparison.Ordinal) && e.Level == level);

    public void Dispose()
    {
    }

    public sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message);

    private sealed class Logger(LogSink sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => sink.Entries.Enqueue(new LogEntry(category, logLevel, eventId, formatter(state, exception)));
    }
}
