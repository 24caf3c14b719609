namespace RoomSignal.Testing;

/// <summary>Time boxes for tests: poll until a condition holds instead of sleeping.</summary>
public static class Eventually
{
    /// <summary>The default time box for one await in a test.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Polls <paramref name="condition"/> until it is true, failing with <paramref name="because"/> after the timeout.</summary>
    public static async Task UntilAsync(Func<bool> condition, string because, TimeSpan? timeout = null)
        => await UntilAsync(() => Task.FromResult(condition()), because, timeout);

    /// <summary>Polls an async <paramref name="condition"/> until it is true, failing with <paramref name="because"/> after the timeout.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string because, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            if (await condition())
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Waited {limit.TotalSeconds:0.#} s for: {because}");
            }

            await Task.Delay(25);
        }
    }

    /// <summary>Awaits <paramref name="task"/> for at most the timeout, naming what was awaited when it runs out.</summary>
    public static async Task<T> Within<T>(this Task<T> task, string what, TimeSpan? timeout = null)
    {
        await ((Task)task).Within(what, timeout);
        return await task;
    }

    /// <summary>Awaits <paramref name="task"/> for at most the timeout, naming what was awaited when it runs out.</summary>
    public static async Task Within(this Task task, string what, TimeSpan? timeout = null)
    {
        try
        {
            await task.WaitAsync(timeout ?? DefaultTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Timed out after {(timeout ?? DefaultTimeout).TotalSeconds:0.#} s waiting for: {what}");
        }
    }
}
