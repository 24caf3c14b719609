using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;

namespace RoomSignal.Testing;

/// <summary>
/// One RoomSignal server node as a separate OS process (<c>dotnet RoomSignal.Server.dll</c> on a loopback
/// port), for tests where a crash must be real: <see cref="KillAsync"/> is <c>kill -9</c>,
/// <see cref="TerminateAsync"/> is SIGTERM. The dll is the one built next to the tests (same configuration),
/// or <c>ROOMSIGNAL_SERVER_DLL</c> when set. Disposing always kills the process.
/// </summary>
public sealed class RoomSignalProcess : IRoomSignalEndpoint, IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly ConcurrentDictionary<int, Process> Running = new();
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    static RoomSignalProcess()
    {
        // Never leave a server behind, even when the test host is torn down abruptly.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var process in Running.Values)
            {
                try
                {
                    process.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                    // Already gone.
                }
            }
        };
    }

    private RoomSignalProcess(Process process, int port)
    {
        _process = process;
        Port = port;
        BaseUri = new Uri($"http://127.0.0.1:{port}/");
    }

    /// <summary>The port the node listens on.</summary>
    public int Port { get; }

    /// <summary>The node's HTTP base address.</summary>
    public Uri BaseUri { get; }

    /// <summary>The hub address, <c>http://127.0.0.1:port/hubs/room</c>.</summary>
    public Uri HubUri => RoomSignalEndpointExtensions.HubUriFor(BaseUri);

    /// <summary>The OS process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Whether the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>What the process wrote to stdout and stderr so far (for failure messages).</summary>
    public string Output => string.Join(Environment.NewLine, _output);

    /// <summary>
    /// Starts a node with configuration given as keys like <c>RoomSignal:Redis:Configuration</c> (passed as
    /// environment variables) and waits until <c>/healthz</c> answers. <paramref name="openFilesLimit"/> runs it under
    /// that <c>ulimit -n</c> (its descriptor limit), as a small container or a careless unit file would.
    /// </summary>
    public static async Task<RoomSignalProcess> StartAsync(
        IReadOnlyDictionary<string, string?> configuration,
        CancellationToken cancellationToken = default,
        int? openFilesLimit = null)
    {
        var dll = FindServerDll();
        var port = RedisServer.FreePort();
        var info = new ProcessStartInfo(openFilesLimit is null ? "dotnet" : "/bin/sh")
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (openFilesLimit is { } limit)
        {
            // exec: the shell becomes the server, so the process id, signals and kill -9 stay the node's own.
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add($"ulimit -n {limit.ToString(System.Globalization.CultureInfo.InvariantCulture)} && exec dotnet \"$@\"");
            info.ArgumentList.Add("sh");
        }

        info.ArgumentList.Add(dll);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add($"http://127.0.0.1:{port}");
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        // An in-process node of the same test run sets these on the test process (RoomSignal:Transport:InlineIO); the
        // child decides its own from its configuration, as a node started by an operator does.
        info.Environment.Remove("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS");
        info.Environment.Remove("DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT");
        info.Environment["Logging__LogLevel__Default"] = "Information";
        foreach (var (key, value) in configuration)
        {
            info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start dotnet " + dll);
        Running[process.Id] = process;
        var node = new RoomSignalProcess(process, port);
        process.OutputDataReceived += (_, e) => node.Record(e.Data);
        process.ErrorDataReceived += (_, e) => node.Record(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await node.WaitUntilHealthyAsync(cancellationToken);
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }

        return node;
    }

    /// <summary>Kills the process at once (SIGKILL): no cleanup runs, as in a crash.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync().Within("the killed node to exit");
        Running.TryRemove(_process.Id, out _);
    }

    /// <summary>Sends SIGTERM (a graceful stop, as an orchestrator would) without waiting for the exit.</summary>
    public Task TerminateAsync() => SignalAsync("TERM");

    /// <summary>Freezes the process (SIGSTOP), as a long GC pause or a stalled VM would; <see cref="ResumeAsync"/> thaws it.</summary>
    public Task SuspendAsync() => SignalAsync("STOP");

    /// <summary>Lets a suspended process run again (SIGCONT).</summary>
    public Task ResumeAsync() => SignalAsync("CONT");

    private async Task SignalAsync(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("Could not run kill -" + signal);
        await kill.WaitForExitAsync().Within("kill -" + signal);
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {_process.Id} exited with {kill.ExitCode}");
        }
    }

    /// <summary>Waits for the process to exit by itself.</summary>
    public Task WaitForExitAsync(TimeSpan? timeout = null)
        => _process.WaitForExitAsync().Within("the node process to exit", timeout ?? TimeSpan.FromSeconds(20));

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        finally
        {
            Running.TryRemove(_process.Id, out _);
            _process.Dispose();
        }
    }

    private void Record(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 2000 && _output.TryDequeue(out _))
        {
        }
    }

    private async Task WaitUntilHealthyAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The node exited with code {_process.ExitCode} while starting:{Environment.NewLine}{Output}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(BaseUri, "healthz"), cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // Not listening yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The node on port {Port} did not answer /healthz within {StartTimeout.TotalSeconds} s:{Environment.NewLine}{Output}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>The server dll built next to the tests (same configuration).</summary>
    public static string ServerDll => FindServerDll();

    private static string FindServerDll()
    {
        var configured = Environment.GetEnvironmentVariable("ROOMSIGNAL_SERVER_DLL");
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return File.Exists(configured) ? configured : throw new FileNotFoundException("ROOMSIGNAL_SERVER_DLL does not exist", configured);
        }

        var configuration = typeof(RoomSignalProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RoomSignal.sln")))
            {
                var dll = Path.Combine(dir.FullName, "src", "RoomSignal.Server", "bin", configuration, "net10.0", "RoomSignal.Server.dll");
                return File.Exists(dll)
                    ? dll
                    : throw new FileNotFoundException($"Build the server first (dotnet build -c {configuration}); not found", dll);
            }
        }

        throw new FileNotFoundException("Could not find RoomSignal.sln above " + AppContext.BaseDirectory);
    }
}
