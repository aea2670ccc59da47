using System.Text;
using KnowledgeDistillation.Tokenization;
using KnowledgeDistillation.Tests.Data;

namespace KnowledgeDistillation.Tests.Reliability;

/// <summary>Tokenizer files under damage: a typed error naming the file (and line), or a tokenizer; nothing else.</summary>
public class TokenizerFileReliabilityTests
{
    private static readonly string[] s_tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "##s", "on", "mat", "é"];

    [Fact]
    public void Invalid_utf8_in_vocab_txt_is_reported_at_its_own_line()
    {
        using var temp = new TempFolder();
        var lines = s_tokens.Concat(Enumerable.Range(0, 3000).Select(i => $"word{i}")).Select(t => Encoding.UTF8.GetBytes(t)).ToList();
        lines[2500] = [(byte)'w', 0xC0, (byte)'x'];
        File.WriteAllBytes(temp.File("vocab.txt"), lines.SelectMany(l => l.Append((byte)'\n')).ToArray());

        TokenizerFileException e = FluentActions.Invoking(() => HuggingFaceBertTokenizer.FromFolder(temp.Path)).Should().Throw<TokenizerFileException>().Which;
        e.FilePath.Should().Be(temp.File("vocab.txt"));
        e.LineNumber.Should().Be(2501);
    }

    [Fact]
    public void An_escaped_lone_surrogate_in_tokenizer_config_is_a_tokenizer_file_error()
    {
        using var temp = new TempFolder();
        File.WriteAllLines(temp.File("vocab.txt"), s_tokens);
        File.WriteAllText(temp.File("tokenizer_config.json"), """{"cls_token": "[CLS\ud800]"}""");

        FluentActions.Invoking(() => HuggingFaceBertTokenizer.FromFolder(temp.Path)).Should().Throw<TokenizerFileException>()
            .WithMessage("*tokenizer_config.json*not valid Unicode*").Which.FilePath.Should().Be(temp.File("tokenizer_config.json"));
    }

    [Fact]
    public void A_flipped_byte_anywhere_in_the_tokenizer_files_loads_or_is_a_tokenizer_file_error()
    {
        using var temp = new TempFolder();
        var files = new Dictionary<string, byte[]>
        {
            ["vocab.txt"] = Encoding.UTF8.GetBytes(string.Join("\n", s_tokens) + "\n"),
            ["tokenizer_config.json"] = Encoding.UTF8.GetBytes("""{"do_lower_case": true, "model_max_length": 512, "cls_token": {"content": "[CLS]"}, "tokenizer_class": "BertTokenizer"}"""),
            ["special_tokens_map.json"] = Encoding.UTF8.GetBytes("""{"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "mask_token": "[MASK]"}"""),
        };
        foreach ((string name, byte[] bytes) in files)
            File.WriteAllBytes(temp.File(name), bytes);
        HuggingFaceBertTokenizer.FromFolder(temp.Path).Encode("the cats sat").InputIds.Should().NotBeEmpty();

        var unexpected = new List<string>();
        foreach ((string name, byte[] original) in files)
        {
            foreach (byte mask in new byte[] { 0x01, 0x80 })
            {
                for (int position = 0; position < original.Length; position++)
                {
                    byte[] damaged = (byte[])original.Clone();
                    damaged[position] ^= mask;
                    File.WriteAllBytes(temp.File(name), damaged);
                    try
                    {
                        HuggingFaceBertTokenizer.FromFolder(temp.Path).Encode("the cats sat on the mat");
                    }
                    catch (TokenizerFileException e) when (e.FilePath.StartsWith(temp.Path, StringComparison.Ordinal))
                    {
                    }
                    catch (Exception e)
                    {
                        unexpected.Add($"{name} byte {position} ^ {mask:X2}: {e.GetType().Name}: {e.Message}");
                    }
                }
            }
            File.WriteAllBytes(temp.File(name), original);
        }
        unexpected.Should().BeEmpty();
    }
}
