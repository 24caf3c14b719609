using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

// Usage: RoomSignal.AllocReport TRACE.nettrace MESSAGES [TOP]
// The runtime reports a sampled allocation (GCAllocationTick) about every 100 KB, with the type, the amount since
// the last sample and the stack; summed over a few seconds of steady load they give bytes per delivered message by
// type and by method (inclusive: a method counts what it and its callees allocated).
if (args.Length < 2 || !File.Exists(args[0]) || !double.TryParse(args[1], out var messages) || messages <= 0)
{
    Console.Error.WriteLine("usage: RoomSignal.AllocReport TRACE.nettrace MESSAGES [TOP]");
    return 2;
}

var top = args.Length > 2 && int.TryParse(args[2], out var t) ? t : 25;
var byType = new Dictionary<string, double>();
var byMethod = new Dictionary<string, double>();
double total = 0;
using (var log = new TraceLog(TraceLog.CreateFromEventPipeDataFile(args[0])))
{
    foreach (var e in log.Events)
    {
        if (e is not GCAllocationTickTraceData tick)
        {
            continue;
        }

        double bytes = tick.AllocationAmount64;
        total += bytes;
        byType[tick.TypeName] = byType.GetValueOrDefault(tick.TypeName) + bytes;
        var seen = new HashSet<string>();
        for (var frame = e.CallStack(); frame is not null; frame = frame.Caller)
        {
            var name = frame.CodeAddress.FullMethodName;
            var cut = name.IndexOf('(');
            name = cut > 0 ? name[..cut] : name;
            if (name.Length > 0 && seen.Add(name))
            {
                byMethod[name] = byMethod.GetValueOrDefault(name) + bytes;
            }
        }
    }
}

Console.WriteLine($"allocated per delivered message: {total / messages:F0} B ({total / 1e6:F1} MB sampled over {messages:F0} messages)");
Console.WriteLine("-- by type (B/msg)");
foreach (var (name, bytes) in byType.OrderByDescending(p => p.Value).Take(top))
{
    Console.WriteLine($"{bytes / messages,8:F0}  {name}");
}

Console.WriteLine("-- by method, inclusive (B/msg)");
foreach (var (name, bytes) in byMethod.OrderByDescending(p => p.Value).Take(top * 2))
{
    Console.WriteLine($"{bytes / messages,8:F0}  {name}");
}

return 0;
