using System.Collections.Immutable;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace KnowledgeDistillation.Tests.Shared;

/// <summary>
/// An analyzer run as a test: finds, in compiled assemblies, every call that hands TorchSharp an implicitly converted
/// <c>Scalar</c> the finalizer may free during the native call (see the library's Runtime/ScalarOps).
/// </summary>
/// <remarks>
/// The hazardous TorchSharp methods are read from TorchSharp's own IL rather than listed by hand: every method that
/// calls <c>Scalar.op_Implicit</c> (a temporary Scalar nobody disposes, e.g. <c>operator *(Tensor, double)</c>,
/// <c>add(Tensor)</c>'s alpha of 1, <c>square()</c>'s exponent), every method that calls one of those, and the
/// conversions themselves. A call from our code to any of them is reported, so a new TorchSharp version or a new
/// operator in our code is caught without updating a list.
/// </remarks>
internal static class ScalarHazardScanner
{
    private static readonly Dictionary<ushort, OpCode> s_opCodes = typeof(OpCodes).GetFields()
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => (ushort)o.Value);

    /// <summary>The TorchSharp methods that pass an implicitly converted Scalar to native code, by signature.</summary>
    public static IReadOnlySet<string> HazardousTorchSharpMethods() => s_hazards.Value;

    private static readonly Lazy<HashSet<string>> s_hazards = new(() => FindHazards(typeof(TorchSharp.Scalar).Assembly.Location));

    /// <summary>"Assembly: Type.Method calls TorchSharp-method" for every hazardous call in <paramref name="assemblyPath"/>.</summary>
    public static List<string> Scan(string assemblyPath)
    {
        HashSet<string> hazards = s_hazards.Value;
        var found = new List<string>();
        using var pe = new PEReader(File.OpenRead(assemblyPath));
        MetadataReader md = pe.GetMetadataReader();
        foreach (TypeDefinitionHandle th in md.TypeDefinitions)
        {
            foreach (MethodDefinitionHandle mh in md.GetTypeDefinition(th).GetMethods())
            {
                MethodDefinition method = md.GetMethodDefinition(mh);
                if (method.RelativeVirtualAddress == 0)
                    continue;
                foreach (EntityHandle target in Calls(pe, method))
                {
                    if (ReferenceName(md, target) is { } name && hazards.Contains(name))
                        found.Add($"{Path.GetFileNameWithoutExtension(assemblyPath)}: {TypeName(md, th)}.{md.GetString(method.Name)} calls {name}");
                }
            }
        }
        return found;
    }

    private static HashSet<string> FindHazards(string torchSharpPath)
    {
        using var pe = new PEReader(File.OpenRead(torchSharpPath));
        MetadataReader md = pe.GetMetadataReader();
        var callers = new Dictionary<MethodDefinitionHandle, List<MethodDefinitionHandle>>();
        var hazard = new HashSet<MethodDefinitionHandle>();
        var queue = new Queue<MethodDefinitionHandle>();
        foreach (TypeDefinitionHandle th in md.TypeDefinitions)
        {
            foreach (MethodDefinitionHandle mh in md.GetTypeDefinition(th).GetMethods())
            {
                MethodDefinition method = md.GetMethodDefinition(mh);
                if (md.GetString(method.Name) == "op_Implicit" && TypeName(md, method.GetDeclaringType()) == "TorchSharp.Scalar")
                {
                    if (hazard.Add(mh))
                        queue.Enqueue(mh);
                    continue;
                }
                if (method.RelativeVirtualAddress == 0)
                    continue;
                foreach (EntityHandle target in Calls(pe, method))
                {
                    if (Definition(md, target) is { } callee)
                    {
                        if (!callers.TryGetValue(callee, out List<MethodDefinitionHandle>? list))
                            callers[callee] = list = [];
                        list.Add(mh);
                    }
                }
            }
        }
        while (queue.Count > 0)
        {
            if (callers.TryGetValue(queue.Dequeue(), out List<MethodDefinitionHandle>? list))
            {
                foreach (MethodDefinitionHandle caller in list)
                {
                    if (hazard.Add(caller))
                        queue.Enqueue(caller);
                }
            }
        }
        return hazard.Select(h => DefinitionName(md, h)).ToHashSet(StringComparer.Ordinal);
    }

    private static MethodDefinitionHandle? Definition(MetadataReader md, EntityHandle h) => h.Kind switch
    {
        HandleKind.MethodDefinition => (MethodDefinitionHandle)h,
        HandleKind.MethodSpecification => Definition(md, md.GetMethodSpecification((MethodSpecificationHandle)h).Method),
        _ => null,
    };

    // The method tokens of call, callvirt, newobj, ldftn and ldvirtftn in a method body.
    private static List<EntityHandle> Calls(PEReader pe, MethodDefinition method)
    {
        BlobReader il = pe.GetMethodBody(method.RelativeVirtualAddress).GetILReader();
        var result = new List<EntityHandle>();
        while (il.RemainingBytes > 0)
        {
            ushort code = il.ReadByte();
            if (code == 0xFE)
                code = (ushort)(0xFE00 | il.ReadByte());
            switch (s_opCodes[code].OperandType)
            {
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    il.Offset += 1;
                    break;
                case OperandType.InlineVar:
                    il.Offset += 2;
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    il.Offset += 8;
                    break;
                case OperandType.InlineSwitch:
                    int targets = il.ReadInt32();
                    il.Offset += 4 * targets;
                    break;
                case OperandType.InlineMethod:
                    result.Add(MetadataTokens.EntityHandle(il.ReadInt32()));
                    break;
                default:
                    il.Offset += 4;
                    break;
            }
        }
        return result;
    }

    // "TorchSharp.torch/Tensor.op_Multiply(TorchSharp.torch/Tensor,Double):TorchSharp.torch/Tensor": the same text for
    // a definition inside TorchSharp and a reference to it from another assembly.
    private static string DefinitionName(MetadataReader md, MethodDefinitionHandle h)
    {
        MethodDefinition m = md.GetMethodDefinition(h);
        MethodSignature<string> sig = m.DecodeSignature(new SignatureText(), null);
        return $"{TypeName(md, m.GetDeclaringType())}.{md.GetString(m.Name)}({string.Join(",", sig.ParameterTypes)}):{sig.ReturnType}";
    }

    private static string? ReferenceName(MetadataReader md, EntityHandle h)
    {
        if (h.Kind == HandleKind.MethodSpecification)
            return ReferenceName(md, md.GetMethodSpecification((MethodSpecificationHandle)h).Method);
        if (h.Kind != HandleKind.MemberReference)
            return null;
        MemberReference r = md.GetMemberReference((MemberReferenceHandle)h);
        if (r.Parent.Kind != HandleKind.TypeReference)
            return null;
        MethodSignature<string> sig = r.DecodeMethodSignature(new SignatureText(), null);
        return $"{TypeName(md, (TypeReferenceHandle)r.Parent)}.{md.GetString(r.Name)}({string.Join(",", sig.ParameterTypes)}):{sig.ReturnType}";
    }

    private static string TypeName(MetadataReader md, TypeDefinitionHandle h)
    {
        TypeDefinition t = md.GetTypeDefinition(h);
        return t.IsNested ? TypeName(md, t.GetDeclaringType()) + "/" + md.GetString(t.Name) : Qualify(md.GetString(t.Namespace), md.GetString(t.Name));
    }

    private static string TypeName(MetadataReader md, TypeReferenceHandle h)
    {
        TypeReference t = md.GetTypeReference(h);
        return t.ResolutionScope.Kind == HandleKind.TypeReference
            ? TypeName(md, (TypeReferenceHandle)t.ResolutionScope) + "/" + md.GetString(t.Name)
            : Qualify(md.GetString(t.Namespace), md.GetString(t.Name));
    }

    private static string Qualify(string ns, string name) => ns.Length == 0 ? name : ns + "." + name;

    private sealed class SignatureText : ISignatureTypeProvider<string, object?>
    {
        public string GetArrayType(string elementType, ArrayShape shape) => elementType + "[" + new string(',', shape.Rank - 1) + "]";
        public string GetByReferenceType(string elementType) => elementType + "&";
        public string GetFunctionPointerType(MethodSignature<string> signature) => "fnptr";
        public string GetGenericInstantiation(string genericType, ImmutableArray<string> typeArguments) => genericType + "<" + string.Join(",", typeArguments) + ">";
        public string GetGenericMethodParameter(object? genericContext, int index) => "!!" + index;
        public string GetGenericTypeParameter(object? genericContext, int index) => "!" + index;
        public string GetModifiedType(string modifier, string unmodifiedType, bool isRequired) => unmodifiedType;
        public string GetPinnedType(string elementType) => elementType;
        public string GetPointerType(string elementType) => elementType + "*";
        public string GetPrimitiveType(PrimitiveTypeCode typeCode) => typeCode.ToString();
        public string GetSZArrayType(string elementType) => elementType + "[]";
        public string GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) => TypeName(reader, handle);
        public string GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => TypeName(reader, handle);
        public string GetTypeFromSpecification(MetadataReader reader, object? genericContext, TypeSpecificationHandle handle, byte rawTypeKind)
            => reader.GetTypeSpecification(handle).DecodeSignature(this, genericContext);
    }
}
