using System.Buffers.Binary;
using System.Text;

namespace KnowledgeDistillation.Runtime;

/// <summary>One symbol-version requirement of an ELF shared library (an <c>Elf64_Vernaux</c> entry of <c>.gnu.version_r</c>).</summary>
/// <param name="Library">The library that must provide the version (for example <c>libstdc++.so.6</c>).</param>
/// <param name="Version">The version name (for example <c>GLIBCXX_3.4.32</c>).</param>
/// <param name="Flags">The entry's <c>vna_flags</c>; bit 0x2 (<c>VER_FLG_WEAK</c>) makes a missing version non-fatal.</param>
/// <param name="FlagsOffset">The file offset of <c>vna_flags</c>.</param>
internal sealed record ElfVersionRequirement(string Library, string Version, ushort Flags, long FlagsOffset)
{
    internal const ushort WeakFlag = 0x2;

    public bool IsWeak => (Flags & WeakFlag) != 0;

    /// <summary>Reads the version requirements of a little-endian 64-bit ELF file.</summary>
    /// <exception cref="InvalidDataException">The file is not such an ELF file or its tables are out of range.</exception>
    public static IReadOnlyList<ElfVersionRequirement> Read(string path)
    {
        byte[] elf = File.ReadAllBytes(path);
        ReadOnlySpan<byte> span = elf;
        if (elf.Length < 64 || !span[..4].SequenceEqual("\u007fELF"u8))
            throw new InvalidDataException($"{path} is not an ELF file.");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException($"{path} is not a little-endian 64-bit ELF file.");

        try
        {
            long shoff = (long)BinaryPrimitives.ReadUInt64LittleEndian(span[0x28..]);
            int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3A..]);
            int shnum = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3C..]);
            var result = new List<ElfVersionRequirement>();
            for (int s = 0; s < shnum; s++)
            {
                ReadOnlySpan<byte> header = span.Slice(checked((int)(shoff + (long)s * shentsize)), shentsize);
                if (BinaryPrimitives.ReadUInt32LittleEndian(header[4..]) != 0x6ffffffe) // SHT_GNU_verneed
                    continue;
                long offset = (long)BinaryPrimitives.ReadUInt64LittleEndian(header[0x18..]);
                uint link = BinaryPrimitives.ReadUInt32LittleEndian(header[0x28..]);
                uint count = BinaryPrimitives.ReadUInt32LittleEndian(header[0x2C..]);
                ReadOnlySpan<byte> strtabHeader = span.Slice(checked((int)(shoff + link * shentsize)), shentsize);
                long strtab = (long)BinaryPrimitives.ReadUInt64LittleEndian(strtabHeader[0x18..]);

                long need = offset;
                for (uint n = 0; n < count; n++)
                {
                    int auxCount = BinaryPrimitives.ReadUInt16LittleEndian(span[(int)(need + 2)..]);
                    string library = ReadString(span, strtab + BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(need + 4)..]));
                    long aux = need + BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(need + 8)..]);
                    for (int a = 0; a < auxCount; a++)
                    {
                        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(span[(int)(aux + 4)..]);
                        string version = ReadString(span, strtab + BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(aux + 8)..]));
                        result.Add(new ElfVersionRequirement(library, version, flags, aux + 4));
                        aux += BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(aux + 12)..]);
                    }
                    uint next = BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(need + 12)..]);
                    if (next == 0)
                        break;
                    need += next;
                }
            }
            return result;
        }
        catch (Exception ex) when (ex is ArgumentOutOfRangeException or IndexOutOfRangeException or OverflowException)
        {
            throw new InvalidDataException($"{path}: the ELF section tables are out of range.", ex);
        }
    }

    private static string ReadString(ReadOnlySpan<byte> span, long start)
    {
        ReadOnlySpan<byte> rest = span[checked((int)start)..];
        int end = rest.IndexOf((byte)0);
        return Encoding.ASCII.GetString(end < 0 ? rest : rest[..end]);
    }
}
