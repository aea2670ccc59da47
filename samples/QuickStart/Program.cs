// QuickStart: distil a cross-encoder teacher into a bi-encoder student on SciFact (samples/data/scifact).
// This first version checks that TorchSharp runs and prints the plan; the end-to-end pipeline fills in each step.
using KnowledgeDistillation;
using static TorchSharp.torch;

string data = Path.Combine(AppContext.BaseDirectory, "data", "scifact");
Console.WriteLine("KnowledgeDistillation QuickStart (SciFact)");
Console.WriteLine($"  dataset: {data} ({(Directory.Exists(data) ? "found" : "missing")})");

using (NewDisposeScope())
{
    Tensor probe = ones(2, 2).matmul(ones(2, 2));
    Console.WriteLine($"  TorchSharp: libtorch loaded, 2x2 ones product sums to {probe.sum().item<float>()}");
}

string[] steps =
[
    "BM25 baseline on the test split",
    "teacher: a cross-encoder trained on the train split with BM25 negatives",
    "teacher scores for the training candidates, through the resumable cache",
    "student distilled with Margin-MSE (plus in-batch negatives)",
    "baseline student trained on hard labels only, same data, steps and seed",
    "evaluation of all four on the test split (nDCG@10, MRR@10, Recall@100, queries/s)",
];
for (int i = 0; i < steps.Length; i++)
    Console.WriteLine($"  step {i + 1}: {steps[i]} (coming with the end-to-end pipeline)");
Console.WriteLine($"  example type ready: {typeof(DistillationExample).FullName}");
