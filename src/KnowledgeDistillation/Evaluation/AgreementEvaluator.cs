using KnowledgeDistillation.Data;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Teachers;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Evaluation;

/// <summary>
/// Measures how closely a student reproduces its teacher's rankings on held-out candidates: both score every query's
/// candidates, and Spearman's rho and Kendall's tau-b between the two score lists are averaged over queries.
/// </summary>
/// <remarks>
/// The teacher's scores are computed on the first call and kept (keyed by <see cref="ITeacher.Identity"/>), so calling
/// this every K training steps costs one student encoding of the candidates each time.
/// </remarks>
public sealed class AgreementEvaluator
{
    private readonly QueryRecord[] _queries;
    private readonly string[][] _candidateTexts;
    private readonly string[] _uniqueDocuments;
    private readonly int[][] _documentIndex;
    private readonly int _teacherBatchSize;
    private readonly int _encodeBatchSize;
    private readonly Dictionary<string, float[][]> _teacherScores = new(StringComparer.Ordinal);

    /// <summary>Creates an evaluator.</summary>
    /// <param name="corpus">The documents the candidates refer to.</param>
    /// <param name="queries">The held-out queries; those without candidates are skipped.</param>
    /// <param name="candidates">Query id → its candidates (for example a first-stage run on held-out queries).</param>
    /// <param name="options">Depth and batch sizes; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentException">A candidate is not in the corpus, an id repeats, or the options are invalid.</exception>
    public AgreementEvaluator(
        IReadOnlyList<CorpusDocument> corpus,
        IReadOnlyList<QueryRecord> queries,
        IReadOnlyDictionary<string, IReadOnlyList<ScoredDocument>> candidates,
        AgreementEvaluatorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(candidates);
        options ??= new AgreementEvaluatorOptions();
        options.Validate();
        _teacherBatchSize = options.TeacherBatchSize;
        _encodeBatchSize = options.EncodeBatchSize;

        var documents = new Dictionary<string, string>(corpus.Count, StringComparer.Ordinal);
        foreach (CorpusDocument d in corpus)
        {
            if (!documents.TryAdd(d.Id, d.FullText))
                throw new ArgumentException($"Document id '{d.Id}' appears twice in the corpus.", nameof(corpus));
        }
        var unique = new Dictionary<string, int>(StringComparer.Ordinal);
        var kept = new List<QueryRecord>();
        var texts = new List<string[]>();
        var index = new List<int[]>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (QueryRecord q in queries)
        {
            if (!seen.Add(q.Id))
                throw new ArgumentException($"Query id '{q.Id}' appears twice.", nameof(queries));
            if (!candidates.TryGetValue(q.Id, out IReadOnlyList<ScoredDocument>? list) || list is null || list.Count == 0)
                continue;
            ScoredDocument[] top = RankingMetrics.TrecOrder(q.Id, list).Take(options.Depth).ToArray();
            var rowTexts = new string[top.Length];
            var rowIndex = new int[top.Length];
            for (int i = 0; i < top.Length; i++)
            {
                if (!documents.TryGetValue(top[i].DocumentId, out string? text))
                    throw new ArgumentException($"Query '{q.Id}': candidate document '{top[i].DocumentId}' is not in the corpus.", nameof(candidates));
                rowTexts[i] = text;
                if (!unique.TryGetValue(top[i].DocumentId, out rowIndex[i]))
                    unique[top[i].DocumentId] = rowIndex[i] = unique.Count;
            }
            kept.Add(q);
            texts.Add(rowTexts);
            index.Add(rowIndex);
        }
        _queries = [.. kept];
        _candidateTexts = [.. texts];
        _documentIndex = [.. index];
        _uniqueDocuments = new string[unique.Count];
        foreach ((string id, int i) in unique)
            _uniqueDocuments[i] = documents[id];
    }

    /// <summary>The number of queries compared.</summary>
    public int QueryCount => _queries.Length;

    /// <summary>Scores the candidates with the student (and, on the first call for this teacher, the teacher) and compares.</summary>
    /// <param name="student">The student; put in inference mode while encoding and restored.</param>
    /// <param name="teacher">The teacher.</param>
    /// <param name="progress">Receives <c>agreement</c> progress (teacher pairs scored).</param>
    /// <param name="cancellationToken">Cancels between batches.</param>
    /// <returns>Per-query and mean correlations.</returns>
    public async Task<AgreementResult> EvaluateAsync(IStudent student, ITeacher teacher, IProgress<EvaluationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        float[][] teacherScores = await TeacherScoresAsync(teacher, progress, cancellationToken).ConfigureAwait(false);
        float[][] studentScores = StudentScores(student, cancellationToken);
        var t = new Dictionary<string, IReadOnlyList<float>>(StringComparer.Ordinal);
        var s = new Dictionary<string, IReadOnlyList<float>>(StringComparer.Ordinal);
        for (int q = 0; q < _queries.Length; q++)
        {
            t[_queries[q].Id] = teacherScores[q];
            s[_queries[q].Id] = studentScores[q];
        }
        return AgreementResult.FromScores(t, s);
    }

    private async Task<float[][]> TeacherScoresAsync(ITeacher teacher, IProgress<EvaluationProgress>? progress, CancellationToken cancellationToken)
    {
        lock (_teacherScores)
        {
            if (_teacherScores.TryGetValue(teacher.Identity, out float[][]? cached))
                return cached;
        }
        var pairs = new List<QueryDocumentPair>();
        for (int q = 0; q < _queries.Length; q++)
        {
            foreach (string text in _candidateTexts[q])
                pairs.Add(new QueryDocumentPair(_queries[q].Text, text));
        }
        var flat = new float[pairs.Count];
        for (int start = 0; start < pairs.Count; start += _teacherBatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int n = Math.Min(_teacherBatchSize, pairs.Count - start);
            float[] scores = await TeacherReply.ScoreAsync(teacher, pairs.GetRange(start, n), describe: null, cancellationToken).ConfigureAwait(false);
            scores.CopyTo(flat, start);
            progress?.Report(new EvaluationProgress("agreement", start + n, pairs.Count));
        }
        var rows = new float[_queries.Length][];
        for (int q = 0, offset = 0; q < _queries.Length; offset += rows[q].Length, q++)
            rows[q] = flat.AsSpan(offset, _candidateTexts[q].Length).ToArray();
        // Concurrent first calls may both score; they store the same values.
        lock (_teacherScores)
            _teacherScores[teacher.Identity] = rows;
        return rows;
    }

    private float[][] StudentScores(IStudent student, CancellationToken cancellationToken)
    {
        float[][] documents = DenseRetriever.EncodeAll(student, _uniqueDocuments, TextKind.Document, _encodeBatchSize, "agreement", null, cancellationToken);
        float[][] queries = DenseRetriever.EncodeAll(student, _queries.Select(q => q.Text).ToArray(), TextKind.Query, _encodeBatchSize, "agreement", null, cancellationToken);
        int d = student.EmbeddingDimension;
        var rows = new float[_queries.Length][];
        using var inference = inference_mode();
        for (int q = 0; q < _queries.Length; q++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            int[] index = _documentIndex[q];
            var flat = new float[index.Length * d];
            for (int i = 0; i < index.Length; i++)
                documents[index[i]].CopyTo(flat, i * d);
            Tensor scores = student.Score(tensor(queries[q], [1, d]), tensor(flat, [index.Length, d]));
            rows[q] = scores.to_type(ScalarType.Float32).contiguous().data<float>().ToArray();
            if (rows[q].Length != index.Length)
                throw new InvalidOperationException($"The student's Score returned {rows[q].Length} scores for 1 query and {index.Length} documents.");
        }
        return rows;
    }
}
