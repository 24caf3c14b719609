using RoomSignal.LoadTest;
using RoomSignal.LoadTest.Ceiling;
using RoomSignal.LoadTest.Scenarios;

const string Usage = """
usage: RoomSignal.LoadTest <scenario> [--option value ...]
  scenarios: join | relay | churn | idle | connect | ceiling (serve the raw-WebSocket ceiling relay)
  common:  --urls ws://127.0.0.1:5000/hubs/room[,ws://...]  (loopback only; peers are spread over them)
           --protocol json|messagepack   --msgpack-keys camel|pascal   --server-pids PID[,PID]
           --redis 127.0.0.1:6379 (CPU and used_memory of that Redis)   --max-seconds 300   --sources N   --label TEXT
  join:    --rooms 100 --peers 10 --rate 500 (joins/s, 0 = all at once) --settle 10
  relay:   --rooms 50 --peers 4 --mode closed|open --window 2 (per peer) --rate 5000 (open loop, total msg/s)
           --arrivals poisson|uniform (open loop: exponential or equal gaps between sends)
           --duration 10 --warmup 2 --sdp-bytes 1000 --pairs cross|any --max-messages 5000000 --drain 5
  churn:   --cycles 10000 --actors 64 --rooms 16 --hold-ms 20 --duration 120 --settle 10
  idle:    --connections 1000 --room-size 4 --hold 30 --window 256 --settle 5
  connect: --connections 1000 --window 256 --hold 0 [--reconnect] --connect-timeout 10
  ceiling: --listen http://127.0.0.1:5100 [--inline] [--lean] [--raw] [--redis HOST:PORT --node NAME] --batch true|false --max-peers 16
Progress goes to stderr once a second; one JSON summary goes to stdout. Exit code 0: no loss, no
misroute, no anomaly, nothing refused; 1: the summary lists problems; 2: bad command line.
""";

if (args.Length > 0 && args[0] != "ceiling" && Environment.GetEnvironmentVariable("DOTNET_ThreadPool_UnfairSemaphoreSpinLimit") is null)
{
    // The driver's thread-pool workers do not spin before they sleep: spinning cost it a whole core of the two at
    // 5,000 msg/s, taken from the servers it measures. Set before anything queues to the thread pool, which reads
    // it once when it starts; the ceiling keeps the runtime's default unless its environment says otherwise.
    AppContext.SetData("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit", 0);
}

if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.Error.WriteLine(Usage);
    return args.Length == 0 ? 2 : 0;
}

try
{
    var options = new Options(args.Skip(1));
    if (args[0] == "ceiling")
    {
        return await CeilingServer.RunAsync(options);
    }

    var run = new RunContext(args[0], options);
    return args[0] switch
    {
        "join" => await new JoinScenario(run).RunAsync(),
        "relay" => await new RelayScenario(run).RunAsync(),
        "churn" => await new ChurnScenario(run).RunAsync(),
        "idle" => await new ConnectionsScenario(run, idle: true).RunAsync(),
        "connect" => await new ConnectionsScenario(run, idle: false).RunAsync(),
        _ => throw new UsageException($"unknown scenario '{args[0]}'"),
    };
}
catch (UsageException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    Console.Error.WriteLine(Usage);
    return 2;
}
catch (Exception ex) when (ex is RoomSignal.LoadTest.Wire.ConnectRefusedException or IOException or System.Net.Sockets.SocketException
    or InvalidOperationException or TimeoutException or System.Net.WebSockets.WebSocketException)
{
    // Setting up failed (server down, protocol refused, join refused): no figures to report.
    Console.Error.WriteLine($"error: {args[0]} could not run: {ex.Message}");
    return 1;
}
