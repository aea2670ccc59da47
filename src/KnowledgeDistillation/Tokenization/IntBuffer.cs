namespace KnowledgeDistillation.Tokenization;

/// <summary>A growable list of ints that can be cleared, truncated and reused without allocating.</summary>
internal sealed class IntBuffer
{
    private int[] _items;

    internal IntBuffer(int capacity = 64) => _items = new int[capacity];

    internal int Count { get; private set; }

    internal int Capacity => _items.Length;

    internal void Add(int value)
    {
        if (Count == _items.Length)
            Array.Resize(ref _items, _items.Length * 2);
        _items[Count++] = value;
    }

    internal void Truncate(int count) => Count = count;

    internal void Clear() => Count = 0;

    internal ReadOnlySpan<int> AsSpan() => _items.AsSpan(0, Count);

    internal int[] ToArray() => AsSpan().ToArray();
}
