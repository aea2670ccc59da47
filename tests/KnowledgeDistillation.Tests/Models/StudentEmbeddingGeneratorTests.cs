using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;
using Microsoft.Extensions.AI;

namespace KnowledgeDistillation.Tests.Models;

public class StudentEmbeddingGeneratorTests
{
    private static BiEncoderStudent NewStudent()
    {
        var tokenizer = HuggingFaceBertTokenizer.FromFolder(BertFixture.Dir("encoder-gelunew"));
        BertConfig config = BertConfig.Load(Path.Combine(BertFixture.Dir("encoder-gelunew"), "config.json"));
        return BiEncoderStudent.Create(config, tokenizer, new BiEncoderStudentOptions { QueryPrefix = "query: ", DocumentPrefix = "passage: ", Normalize = true }, seed: 3);
    }

    [Fact]
    public async Task Queries_and_documents_are_the_students_Encode_with_their_own_prefixes()
    {
        using BiEncoderStudent student = NewStudent();
        using StudentEmbeddingGenerator queries = student.AsIEmbeddingGenerator(TextKind.Query);
        using StudentEmbeddingGenerator documents = student.AsIEmbeddingGenerator(TextKind.Document);
        string[] texts = ["the first text", "a second, longer text that pads the first one"];

        GeneratedEmbeddings<Embedding<float>> q = await queries.GenerateAsync(texts);
        GeneratedEmbeddings<Embedding<float>> d = await documents.GenerateAsync(texts);

        float[][] expectedQ = student.Encode(texts, TextKind.Query);
        float[][] expectedD = student.Encode(texts, TextKind.Document);
        for (int i = 0; i < texts.Length; i++)
        {
            q[i].Vector.ToArray().Should().Equal(expectedQ[i]);
            d[i].Vector.ToArray().Should().Equal(expectedD[i]);
            q[i].Vector.ToArray().Should().NotEqual(d[i].Vector.ToArray(), "the prefixes differ");
        }
        queries.GetService<EmbeddingGeneratorMetadata>()!.DefaultModelDimensions.Should().Be(student.EmbeddingDimension);
        queries.GetService<BiEncoderStudent>().Should().BeSameAs(student);
    }

    [Fact]
    public async Task Bad_calls_throw_and_the_student_outlives_a_generator_that_does_not_own_it()
    {
        using BiEncoderStudent student = NewStudent();
        using (StudentEmbeddingGenerator generator = student.AsIEmbeddingGenerator())
        {
            Func<Task> nullText = () => generator.GenerateAsync(["ok", null!]);
            Func<Task> wrongSize = () => generator.GenerateAsync(["ok"], new EmbeddingGenerationOptions { Dimensions = student.EmbeddingDimension + 1 });
            await nullText.Should().ThrowAsync<ArgumentException>().WithMessage("*Text 1*");
            await wrongSize.Should().ThrowAsync<ArgumentException>();
            student.IsTraining = true;
            Func<Task> training = () => generator.GenerateAsync(["ok"]);
            await training.Should().ThrowAsync<InvalidOperationException>();
            student.IsTraining = false;
        }

        student.Encode(["still usable"], TextKind.Query).Should().ContainSingle();
    }
}
