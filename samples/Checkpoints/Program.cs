// Checkpoints: load a cross-encoder teacher and a bi-encoder student from local folders, score pairs and encode texts.
//
//   dotnet run --project samples/Checkpoints -c Release -- --teacher models/ms-marco-MiniLM-L6-v2 --student models/all-MiniLM-L6-v2
//
// Without arguments it builds tiny random models on the bert-base-uncased vocabulary, saves them in the Hugging Face
// and sentence-transformers layouts to a temporary folder, loads them back and uses those (numbers are then random).
using KnowledgeDistillation;
using KnowledgeDistillation.Configuration;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tokenization;

string? teacherDir = Argument("--teacher");
string? studentDir = Argument("--student");
string? temp = null;

if (teacherDir is null || studentDir is null)
{
    temp = Path.Combine(Path.GetTempPath(), $"kd-checkpoints-{Guid.NewGuid():N}");
    var tokenizer = HuggingFaceBertTokenizer.FromVocabularyFile(Path.Combine(AppContext.BaseDirectory, "data", "bert-base-uncased", "vocab.txt"));
    var config = new BertConfig(vocabSize: tokenizer.VocabularySize, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 64, maxPositionEmbeddings: 128);
    if (teacherDir is null)
    {
        teacherDir = Path.Combine(temp, "teacher");
        using var fresh = new CrossEncoderTeacher(BertForSequenceClassification.Create(config.WithNumLabels(1), seed: 1), tokenizer);
        await fresh.SaveAsync(teacherDir);
        Console.WriteLine($"Saved a tiny random cross-encoder to {teacherDir}: {Files(teacherDir)}");
    }
    if (studentDir is null)
    {
        studentDir = Path.Combine(temp, "student");
        var options = new BiEncoderStudentOptions { QueryPrefix = "query: ", DocumentPrefix = "passage: ", Normalize = true };
        using BiEncoderStudent fresh = BiEncoderStudent.Create(config, tokenizer, options, seed: 2);
        await fresh.SaveAsync(studentDir);
        Console.WriteLine($"Saved a tiny random bi-encoder to {studentDir}: {Files(studentDir)}");
    }
}

try
{
    using CrossEncoderTeacher teacher = CrossEncoderTeacher.FromPretrained(teacherDir);
    using BiEncoderStudent student = BiEncoderStudent.FromPretrained(studentDir);
    Console.WriteLine();
    Console.WriteLine($"Teacher: {teacher.Model.Config.NumHiddenLayers} layers, hidden {teacher.Model.Config.HiddenSize}, max length {teacher.MaxLength}");
    Console.WriteLine($"  identity {teacher.Identity}");
    Console.WriteLine($"Student: {student.Encoder.Config.NumHiddenLayers} layers, dimension {student.EmbeddingDimension}, pooling {student.Pooling}, " +
        $"normalise {student.Normalize}, similarity {student.Similarity}, max length {student.MaxSequenceLength}, prefixes \"{student.QueryPrefix}\" / \"{student.DocumentPrefix}\"");

    string query = "how do vaccines work";
    string[] documents =
    [
        "Vaccines train the immune system to recognise a pathogen without causing the disease.",
        "Paris is the capital and largest city of France.",
        "mRNA vaccines deliver instructions that cells use to make a harmless piece of the spike protein.",
    ];

    float[] teacherScores = await teacher.ScoreAsync(documents.Select(d => new QueryDocumentPair(query, d)).ToArray());
    float[] q = student.Encode([query], TextKind.Query)[0];
    float[][] docs = student.Encode(documents, TextKind.Document);

    Console.WriteLine();
    Console.WriteLine($"Query: {query}");
    Console.WriteLine($"{"teacher",9} {"student",9}  document");
    for (int i = 0; i < documents.Length; i++)
        Console.WriteLine($"{teacherScores[i],9:F4} {Similarity(q, docs[i], student.Similarity),9:F4}  {documents[i]}");
}
finally
{
    if (temp is not null)
        Directory.Delete(temp, recursive: true);
}

string? Argument(string name)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

static string Files(string dir) => string.Join(", ", Directory.GetFileSystemEntries(dir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(dir, f)).Order(StringComparer.Ordinal));

static float Similarity(float[] a, float[] b, EmbeddingSimilarity similarity)
{
    double dot = 0, na = 0, nb = 0;
    for (int i = 0; i < a.Length; i++)
    {
        dot += (double)a[i] * b[i];
        na += (double)a[i] * a[i];
        nb += (double)b[i] * b[i];
    }
    return (float)(similarity == EmbeddingSimilarity.Cosine ? dot / Math.Sqrt(na * nb) : dot);
}
