using KnowledgeDistillation.Teachers;
using Microsoft.Extensions.AI;

namespace KnowledgeDistillation.Tests.Teachers;

/// <summary>A bi-encoder as a label-free teacher: pairs scored by the cosine of their embeddings.</summary>
public class EmbeddingTeacherScoringTests
{
    // Hand-made 2-d embeddings whose cosines are known: (1, 0)·(0.6, 0.8) = 0.6, (1, 0)·(−3, 0) = −1, (0, 2)·(0.6, 0.8) = 0.8.
    private static readonly Dictionary<string, float[]> s_vectors = new(StringComparer.Ordinal)
    {
        ["q1"] = [1f, 0f],
        ["q2"] = [0f, 2f],
        ["d1"] = [0.6f, 0.8f],
        ["d2"] = [-3f, 0f],
        ["zero"] = [0f, 0f],
    };

    [Fact]
    public async Task Scores_are_the_cosines_of_the_embeddings_in_the_pairs_order()
    {
        var teacher = new EmbeddingTeacher(new TableGenerator("m"));

        float[] scores = await teacher.ScoreAsync([new("q1", "d1"), new("q1", "d2"), new("q2", "d1"), new("q2", "d2")]);

        scores.Should().Equal([0.6f, -1f, 0.8f, 0f], (a, b) => Math.Abs(a - b) < 1e-6f);
    }

    [Fact]
    public async Task Each_distinct_text_is_embedded_once_over_all_calls()
    {
        var generator = new TableGenerator("m");
        var teacher = new EmbeddingTeacher(generator);

        await teacher.ScoreAsync([new("q1", "d1"), new("q1", "d2")]);
        await teacher.ScoreAsync([new("q2", "d1"), new("q1", "d1")]);

        generator.Requested.Should().BeEquivalentTo(["q1", "d1", "d2", "q2"]);
    }

    [Fact]
    public async Task Queries_go_to_the_query_generator_and_documents_to_the_document_generator()
    {
        var documents = new TableGenerator("m");
        var queries = new TableGenerator("m");
        var teacher = new EmbeddingTeacher(documents, queries);

        await teacher.ScoreAsync([new("q1", "d1"), new("q2", "d2")]);

        queries.Requested.Should().BeEquivalentTo(["q1", "q2"]);
        documents.Requested.Should().BeEquivalentTo(["d1", "d2"]);
    }

    [Fact]
    public async Task A_zero_embedding_is_similar_to_nothing()
    {
        var teacher = new EmbeddingTeacher(new TableGenerator("m"));

        float[] scores = await teacher.ScoreAsync([new("q1", "zero")]);

        scores.Should().Equal(0f);
    }

    [Fact]
    public void The_identity_names_the_models_and_tells_query_and_document_generators_apart()
    {
        new EmbeddingTeacher(new TableGenerator("org/model")).Identity.Should().Be("embedding:org/model");
        new EmbeddingTeacher(new TableGenerator("doc-model"), new TableGenerator("query-model")).Identity.Should().Be("embedding:q=query-model,d=doc-model");
        new EmbeddingTeacher(new TableGenerator(null), identity: "given").Identity.Should().Be("given");
    }

    [Fact]
    public void Without_a_model_id_or_a_given_identity_scoring_through_a_cache_is_refused()
    {
        var teacher = new EmbeddingTeacher(new TableGenerator(null));

        Action identity = () => _ = teacher.Identity;

        identity.Should().Throw<InvalidOperationException>().WithMessage("*no identity*");
    }

    private sealed class TableGenerator(string? modelId) : IEmbeddingGenerator<string, Embedding<float>>
    {
        private readonly EmbeddingGeneratorMetadata _metadata = new("table", null, modelId, 2);

        public List<string> Requested { get; } = [];

        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            string[] texts = values.ToArray();
            Requested.AddRange(texts);
            return Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(texts.Select(t => new Embedding<float>(s_vectors[t]))));
        }

        public object? GetService(Type serviceType, object? serviceKey = null)
            => serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata : null;

        public void Dispose()
        {
        }
    }
}
