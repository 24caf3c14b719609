using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace RoomSignal.Testing;

/// <summary>
/// A real coturn <c>turnserver</c> (Debian package <c>coturn</c>) for tests: started on a free loopback port with a
/// temp config in the <c>use-auth-secret</c> scheme RoomSignal mints credentials for (<c>static-auth-secret</c>,
/// a realm, listening and relaying on 127.0.0.1 only, loopback peers allowed, no CLI, TLS or DTLS) and a temp log
/// file and user database. Ready once it answers a STUN binding request. A missing <c>turnserver</c> or
/// <c>turnutils_uclient</c> fails loudly: TURN tests are never skipped.
/// </summary>
public sealed class Coturn : IAsyncDisposable
{
    /// <summary>The realm the test server runs in.</summary>
    public const string Realm = "roomsignal.test";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);
    private readonly Process _process;
    private readonly string _dir;
    private int _disposed;

    private Coturn(Process process, string dir, int port, string secret, string uclient)
    {
        _process = process;
        _dir = dir;
        Port = port;
        Secret = secret;
        UclientPath = uclient;
    }

    /// <summary>The UDP and TCP port the server listens on, on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The <c>static-auth-secret</c>: give the same value to <c>RoomSignal:Ice:TurnSecret</c>.</summary>
    public string Secret { get; }

    /// <summary>The TURN URL for clients, e.g. <c>turn:127.0.0.1:3478?transport=udp</c>.</summary>
    public string UdpUrl => $"turn:127.0.0.1:{Port}?transport=udp";

    /// <summary>The TURN-over-TCP URL.</summary>
    public string TcpUrl => $"turn:127.0.0.1:{Port}?transport=tcp";

    /// <summary>Path of coturn's test client.</summary>
    public string UclientPath { get; }

    /// <summary>The server's log file (coturn writes every refused authentication there).</summary>
    public string LogPath => Path.Combine(_dir, "turnserver.log");

    /// <summary>Finds a coturn binary on PATH or in /usr/bin; throws, naming the package, when it is not installed.</summary>
    public static string FindBinary(string name)
    {
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/bin", "/usr/local/bin"]);
        foreach (var dir in dirs)
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(
            $"{name} not found on PATH or in /usr/bin: install the Debian package coturn (apt-get install coturn; scripts/test.sh does). " +
            "The TURN tests need a real coturn and are never skipped.");
    }

    /// <summary>Starts a turnserver with <paramref name="secret"/> (a random one when null) and waits until it answers STUN.</summary>
    public static async Task<Coturn> StartAsync(string? secret = null, CancellationToken cancellationToken = default)
    {
        var turnserver = FindBinary("turnserver");
        var uclient = FindBinary("turnutils_uclient");
        secret ??= "coturn-test-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12));
        var dir = Directory.CreateTempSubdirectory("roomsignal-coturn-").FullName;
        var port = FreeUdpAndTcpPort();
        // A relay range of its own, picked at random, so parallel runs (and scripts/cluster.sh's coturn) rarely meet.
        var minPort = 50000 + (Random.Shared.Next(0, 45) * 200);
        var config = Path.Combine(dir, "turnserver.conf");
        await File.WriteAllTextAsync(config, $"""
            listening-ip=127.0.0.1
            listening-port={port}
            relay-ip=127.0.0.1
            min-port={minPort}
            max-port={minPort + 199}
            use-auth-secret
            static-auth-secret={secret}
            realm={Realm}
            fingerprint
            allow-loopback-peers
            no-cli
            no-tls
            no-dtls
            no-multicast-peers
            userdb={Path.Combine(dir, "turndb")}
            log-file={Path.Combine(dir, "turnserver.log")}
            simple-log
            pidfile={Path.Combine(dir, "turnserver.pid")}

            """, cancellationToken);

        var start = new ProcessStartInfo(turnserver) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(config);
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {turnserver}");
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var coturn = new Coturn(process, dir, port, secret, uclient);
        try
        {
            var deadline = DateTime.UtcNow + StartTimeout;
            while (!await coturn.AnswersStunAsync(cancellationToken))
            {
                if (process.HasExited || DateTime.UtcNow > deadline)
                {
                    string text;
                    lock (output)
                    {
                        text = output.ToString();
                    }

                    throw new InvalidOperationException(
                        $"turnserver did not answer STUN on 127.0.0.1:{port} within {StartTimeout.TotalSeconds:0} s " +
                        $"(exited: {process.HasExited}). Output:\n{text}\nLog:\n{coturn.ReadLog()}");
                }
            }
        }
        catch
        {
            await coturn.DisposeAsync();
            throw;
        }

        return coturn;
    }

    /// <summary>What coturn has logged so far (empty when the file is not there yet).</summary>
    public string ReadLog()
    {
        // coturn may add a date to the name of the file it was given; read every log of this server's folder.
        var logs = Directory.Exists(_dir) ? Directory.GetFiles(_dir, "turnserver*.log") : [];
        var text = new StringBuilder();
        foreach (var log in logs.Order(StringComparer.Ordinal))
        {
            using var stream = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            text.Append(reader.ReadToEnd());
        }

        return text.ToString();
    }

    /// <summary>
    /// Runs <c>turnutils_uclient</c> against this server with <paramref name="username"/> and <paramref name="credential"/>:
    /// it allocates relays (UDP, or TCP with <paramref name="tcp"/>) and sends a message between them. Time-boxed: a
    /// client that hangs is killed and reported.
    /// </summary>
    public async Task<UclientResult> AllocateAsync(string username, string credential, bool tcp = false, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(UclientPath) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // -v verbose (prints "Received relay addr"), -y client-to-client through the two relays, -c no RTCP pair,
        // -n 1 one message, -m 1 one client; user, password, port, server.
        foreach (var argument in (string[])["-v", "-y", "-c", "-n", "1", "-m", "1", "-u", username, "-w", credential, "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            start.ArgumentList.Add(argument);
        }

        if (tcp)
        {
            start.ArgumentList.Add("-t");
        }

        start.ArgumentList.Add("127.0.0.1");
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {UclientPath}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        using var cts = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"turnutils_uclient did not finish within {limit.TotalSeconds:0} s:\n{await stdout}{await stderr}");
        }

        return new UclientResult(process.ExitCode, await stdout + await stderr);
    }

    /// <summary>Sends a STUN binding request and waits briefly for the answer.</summary>
    private async Task<bool> AnswersStunAsync(CancellationToken cancellationToken)
    {
        using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var request = new byte[20];
        BinaryPrimitives.WriteUInt16BigEndian(request, 0x0001); // Binding Request, no attributes
        BinaryPrimitives.WriteUInt32BigEndian(request.AsSpan(4), 0x2112A442); // magic cookie
        RandomNumberGenerator.Fill(request.AsSpan(8, 12)); // transaction id
        await udp.SendAsync(request, new IPEndPoint(IPAddress.Loopback, Port), cancellationToken);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(TimeSpan.FromMilliseconds(300));
        try
        {
            var answer = await udp.ReceiveAsync(wait.Token);
            return answer.Buffer.Length >= 20 && BinaryPrimitives.ReadUInt16BigEndian(answer.Buffer) == 0x0101
                && answer.Buffer.AsSpan(8, 12).SequenceEqual(request.AsSpan(8, 12));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        catch (SocketException)
        {
            return false; // ICMP port unreachable: not listening yet
        }
    }

    /// <summary>A port free for both UDP and TCP on 127.0.0.1 (TURN listens on both); a small race, which we accept.</summary>
    private static int FreeUdpAndTcpPort()
    {
        for (var attempt = 0; ; attempt++)
        {
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var port = ((IPEndPoint)udp.LocalEndPoint!).Port;
            try
            {
                using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                tcp.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException) when (attempt < 20)
            {
            }
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _process.WaitForExitAsync(cts.Token);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
        }
        finally
        {
            _process.Dispose();
        }

        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>How a <c>turnutils_uclient</c> run ended.</summary>
/// <param name="ExitCode">0 when every allocation succeeded.</param>
/// <param name="Output">What it printed.</param>
public sealed record UclientResult(int ExitCode, string Output)
{
    /// <summary>Whether coturn granted a relay address (the client prints it with <c>-v</c>).</summary>
    public bool GotRelay => Output.Contains("Received relay addr: 127.0.0.1:", StringComparison.Ordinal);
}
