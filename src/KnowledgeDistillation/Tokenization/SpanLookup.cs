using System.Numerics;

namespace KnowledgeDistillation.Tokenization;

/// <summary>
/// A read-mostly string → int hash table that is looked up with a <see cref="ReadOnlySpan{T}"/> of chars, so WordPiece
/// can probe substrings of a word without allocating them (Dictionary's span lookup needs .NET 9; we also target .NET 8).
/// </summary>
internal sealed class SpanLookup
{
    private readonly string?[] _keys;
    private readonly int[] _values;
    private readonly uint[] _hashes;
    private readonly int _mask;

    internal SpanLookup(int capacity)
    {
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, capacity * 2));
        _keys = new string?[size];
        _values = new int[size];
        _hashes = new uint[size];
        _mask = size - 1;
    }

    /// <summary>The number of keys.</summary>
    internal int Count { get; private set; }

    /// <summary>The length of the longest key, in chars.</summary>
    internal int MaxKeyLength { get; private set; }

    /// <summary>Adds a key; returns <see langword="false"/> (and keeps the old value) when it is already present.</summary>
    internal bool TryAdd(string key, int value)
    {
        if (Count + 1 > (_mask + 1) / 2)
            throw new InvalidOperationException("The lookup is full.");
        uint hash = Hash(key);
        int slot = (int)hash & _mask;
        while (_keys[slot] is { } existing)
        {
            if (_hashes[slot] == hash && existing.Equals(key, StringComparison.Ordinal))
                return false;
            slot = (slot + 1) & _mask;
        }

        _keys[slot] = key;
        _values[slot] = value;
        _hashes[slot] = hash;
        Count++;
        MaxKeyLength = Math.Max(MaxKeyLength, key.Length);
        return true;
    }

    internal bool TryGetValue(ReadOnlySpan<char> key, out int value)
    {
        uint hash = Hash(key);
        int slot = (int)hash & _mask;
        while (_keys[slot] is { } existing)
        {
            if (_hashes[slot] == hash && key.SequenceEqual(existing))
            {
                value = _values[slot];
                return true;
            }

            slot = (slot + 1) & _mask;
        }

        value = -1;
        return false;
    }

    // FNV-1a over UTF-16 units with a final mix so that the low bits used for the slot are well spread. The table's
    // content is fixed, so a non-randomised hash gives adversarial input no way to lengthen probes.
    private static uint Hash(ReadOnlySpan<char> key)
    {
        uint hash = 2166136261;
        foreach (char c in key)
            hash = (hash ^ c) * 16777619;
        hash ^= hash >> 15;
        hash *= 0x2C1B3C6D;
        hash ^= hash >> 12;
        return hash;
    }
}
