// CustomLoss: write your own IDistillationLoss (RankNetLoss.cs, about fifteen lines) and distil a tiny student with it.
// The queries and documents share no words ("feline" vs "cats purr"), so the student can only learn to rank them from
// the teacher's scores. Runs in a few seconds on a CPU.
using KnowledgeDistillation;
using KnowledgeDistillation.Models;
using static TorchSharp.torch;

string[][] queryWords = [["feline", "kitten"], ["canine", "puppy"], ["aquatic", "gills"], ["avian", "feathered"],
                         ["arboreal", "forest"], ["stream", "delta"], ["celestial", "galaxy"], ["weather", "overcast"]];
string[][] documentWords = [["cats", "purr", "whiskers"], ["dogs", "bark", "fetch"], ["fish", "swim", "fins"], ["birds", "nest", "wings"],
                            ["trees", "leaves", "bark"], ["rivers", "flow", "banks"], ["stars", "shine", "night"], ["clouds", "rain", "grey"]];

// Three queries and three documents per topic, made of the topic's words (and no shared ones).
var queries = new List<(string Text, int Topic)>();
var documents = new List<(string Text, int Topic)>();
for (int topic = 0; topic < queryWords.Length; topic++)
{
    string[] q = queryWords[topic], d = documentWords[topic];
    queries.AddRange([($"{q[0]} {q[1]}", topic), ($"{q[1]} {q[0]} {q[0]}", topic), ($"{q[0]}", topic)]);
    documents.AddRange([($"{d[0]} {d[1]}", topic), ($"{d[1]} {d[2]} {d[0]}", topic), ($"{d[2]} {d[0]}", topic)]);
}

// The teacher: a stand-in for a cross-encoder that knows the topics. It gives 8 to a same-topic document and a graded
// score to the others, so the negatives are ordered too (RankNet learns from every ordered pair).
float Teacher((string Text, int Topic) query, (string Text, int Topic) document) =>
    query.Topic == document.Topic ? 8f : -((document.Topic - query.Topic + 8) % 8);

var examples = queries.Select((q, i) =>
{
    var positive = documents.Where(d => d.Topic == q.Topic).ElementAt(i % 3);
    var negatives = documents.Where(d => d.Topic != q.Topic).ToList();
    return new DistillationExample(q.Text, [positive.Text], negatives.Select(d => d.Text).ToList(),
        [Teacher(q, positive)], negatives.Select(d => Teacher(q, d)).ToList(), id: $"q{i}");
}).ToList();

using var student = new HashedBagOfWordsStudent(seed: 7);
var loss = new RankNetLoss();
// Built-in losses mix with your own, for example: new KnowledgeDistillation.Losses.WeightedLoss((new RankNetLoss(), 1.0), (new ContrastiveLoss(), 0.1)).

Console.WriteLine($"CustomLoss: distilling a hashed bag-of-words student with '{loss.Name}' on {examples.Count} queries");
Console.WriteLine($"  before training: the relevant topic ranks first for {TopOneAccuracy():P0} of the queries");

var random = new Random(42);
using var optimizer = optim.AdamW(student.NamedParameters().Select(p => p.Parameter), lr: 0.05);
student.IsTraining = true;
const int Steps = 150, BatchSize = 8, Negatives = 7;
double firstLoss = double.NaN, recent = 0, lastWindow = double.NaN;
for (int step = 1; step <= Steps; step++)
{
    using var scope = NewDisposeScope();
    var batch = DistillationBatch.FromExamples(examples.OrderBy(_ => random.Next()).Take(BatchSize).ToList(), Negatives, random);
    optimizer.zero_grad();
    Tensor value = loss.Compute(student.Forward(batch), TeacherOutput.FromBatch(batch));
    value.backward();
    optimizer.step();

    double current = value.item<float>();
    if (step == 1)
        firstLoss = current;
    recent += current;
    if (step % 25 == 0)
    {
        lastWindow = recent / 25;
        Console.WriteLine($"  step {step,3}: {loss.Name} loss {lastWindow:F4} (mean of the last 25 steps)");
        recent = 0;
    }
}
student.IsTraining = false;

Console.WriteLine($"  after training:  the relevant topic ranks first for {TopOneAccuracy():P0} of the queries");
Console.WriteLine($"  the loss fell from {firstLoss:F4} (first step) to {lastWindow:F4} (last 25 steps)");

// For each query, is the best-scoring document of the whole collection one of its topic's?
double TopOneAccuracy()
{
    float[][] q = student.Encode(queries.Select(x => x.Text).ToList(), TextKind.Query);
    float[][] d = student.Encode(documents.Select(x => x.Text).ToList(), TextKind.Document);
    float[][] scores = student.Similarity.Compute(q, d); // cosine, as the student scores in training
    int correct = 0;
    for (int i = 0; i < q.Length; i++)
    {
        int best = Enumerable.Range(0, d.Length).MaxBy(j => scores[i][j]);
        if (documents[best].Topic == queries[i].Topic)
            correct++;
    }
    return (double)correct / q.Length;
}
