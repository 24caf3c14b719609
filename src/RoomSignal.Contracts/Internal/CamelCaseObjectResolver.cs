using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using MessagePack;
using MessagePack.Formatters;

namespace RoomSignal.Contracts.Internal;

/// <summary>
/// Formats the classes and records declared in RoomSignal assemblies as MessagePack maps with camelCase keys (the
/// names the JSON protocol uses); other types are left to the next resolver.
/// </summary>
internal sealed class CamelCaseObjectResolver : IFormatterResolver
{
    public static readonly CamelCaseObjectResolver Instance = new();

    private CamelCaseObjectResolver()
    {
    }

    public IMessagePackFormatter<T>? GetFormatter<T>() => Cache<T>.Formatter;

    internal static bool Handles(Type type)
        => type is { IsClass: true, IsAbstract: false, IsArray: false, ContainsGenericParameters: false }
           && type != typeof(string)
           && type.Assembly.GetName().Name is { } assembly
           && (assembly == "RoomSignal" || assembly.StartsWith("RoomSignal.", StringComparison.Ordinal));

    private static class Cache<T>
    {
        public static readonly IMessagePackFormatter<T>? Formatter =
            Handles(typeof(T)) ? (IMessagePackFormatter<T>)Activator.CreateInstance(typeof(CamelCaseObjectFormatter<>).MakeGenericType(typeof(T)))! : null;
    }
}

/// <summary>One type's map formatter: public readable properties out, constructor parameters and setters in.</summary>
internal sealed class CamelCaseObjectFormatter<T> : IMessagePackFormatter<T?>
    where T : class
{
    // The same members and names as System.Text.Json gives the JSON protocol: [JsonIgnore] and [JsonPropertyName] count.
    private static readonly PropertyInfo[] Properties = typeof(T)
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.CanRead && p.GetIndexParameters().Length == 0
                    && p.GetCustomAttribute<JsonIgnoreAttribute>() is not { Condition: JsonIgnoreCondition.Always })
        .ToArray();

    private static readonly string[] Keys = Properties
        .Select(p => p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.CamelCase.ConvertName(p.Name))
        .ToArray();

    private static readonly bool[] SkipWhenNull = Properties
        .Select(p => p.GetCustomAttribute<JsonIgnoreAttribute>() is { Condition: JsonIgnoreCondition.WhenWritingNull or JsonIgnoreCondition.WhenWritingDefault }
                     && (!p.PropertyType.IsValueType || Nullable.GetUnderlyingType(p.PropertyType) is not null))
        .ToArray();

    private static readonly Dictionary<string, int> IndexByKey = Properties
        .SelectMany((p, i) => new[] { (Name: p.Name, Index: i), (Name: Keys[i], Index: i) })
        .DistinctBy(x => x.Name, StringComparer.OrdinalIgnoreCase)
        .ToDictionary(x => x.Name, x => x.Index, StringComparer.OrdinalIgnoreCase);

    private static readonly ConstructorInfo? Constructor = typeof(T)
        .GetConstructors(BindingFlags.Public | BindingFlags.Instance)
        .OrderByDescending(c => c.GetParameters().Length)
        .FirstOrDefault();

    private static readonly ParameterInfo[] Parameters = Constructor?.GetParameters() ?? [];

    public void Serialize(ref MessagePackWriter writer, T? value, MessagePackSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        var values = new object?[Properties.Length];
        var count = 0;
        for (var i = 0; i < Properties.Length; i++)
        {
            values[i] = Properties[i].GetValue(value);
            if (values[i] is not null || !SkipWhenNull[i])
            {
                count++;
            }
        }

        writer.WriteMapHeader(count);
        for (var i = 0; i < Properties.Length; i++)
        {
            if (values[i] is null && SkipWhenNull[i])
            {
                continue;
            }

            writer.Write(Keys[i]);
            MessagePackSerializer.Serialize(Properties[i].PropertyType, ref writer, values[i], options);
        }
    }

    public T? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        if (Constructor is null)
        {
            throw new MessagePackSerializationException($"{typeof(T).Name} has no public constructor to deserialize with.");
        }

        options.Security.DepthStep(ref reader);
        try
        {
            var values = new object?[Properties.Length];
            var present = new bool[Properties.Length];
            var count = reader.ReadMapHeader();
            for (var entry = 0; entry < count; entry++)
            {
                string? key = null;
                if (reader.NextMessagePackType == MessagePackType.String)
                {
                    key = reader.ReadString();
                }
                else
                {
                    reader.Skip();
                }

                if (key is not null && IndexByKey.TryGetValue(key, out var index))
                {
                    values[index] = MessagePackSerializer.Deserialize(Properties[index].PropertyType, ref reader, options);
                    present[index] = true;
                }
                else
                {
                    reader.Skip();
                }
            }

            var arguments = new object?[Parameters.Length];
            var fromConstructor = new bool[Properties.Length];
            for (var i = 0; i < Parameters.Length; i++)
            {
                var parameter = Parameters[i];
                if (parameter.Name is { } name && IndexByKey.TryGetValue(name, out var index))
                {
                    fromConstructor[index] = true;
                    if (present[index])
                    {
                        arguments[i] = values[index];
                        continue;
                    }
                }

                arguments[i] = parameter.HasDefaultValue ? parameter.DefaultValue
                    : parameter.ParameterType.IsValueType ? Activator.CreateInstance(parameter.ParameterType) : null;
            }

            var result = (T)Constructor.Invoke(arguments);
            for (var i = 0; i < Properties.Length; i++)
            {
                if (present[i] && !fromConstructor[i] && Properties[i].SetMethod is { IsPublic: true })
                {
                    Properties[i].SetValue(result, values[i]);
                }
            }

            return result;
        }
        finally
        {
            reader.Depth--;
        }
    }
}
