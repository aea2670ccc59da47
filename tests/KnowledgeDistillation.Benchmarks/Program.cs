using BenchmarkDotNet.Running;
using KnowledgeDistillation.Benchmarks;

// Modes (run-comparison.sh runs them in this order):
//   prepare             tokenize every workload, write the peers' inputs (artifacts/inputs)
//   drift               bf16 vs fp32 and ONNX Runtime vs ours on the same scores; tokenizer id mismatches
//   peak <what> ...     peak working set of one workload in this fresh process
//   gemm [reps]         GFLOP/s of libtorch matrix products (ceiling and MiniLM linear shapes)
//   inference [rounds]  real all-MiniLM-L6-v2: ours (MKL, oneDNN, bf16) against ONNX Runtime, interleaved
//   teacher-engines [rounds]  cross-encoder pairs/s and student corpus texts/s: libtorch fp32/bf16 against ONNX Runtime fp32/int8, interleaved
//   train compare|peak|drift  training step per BertComputeOptions (real MiniLM): time, peak memory, bf16 loss drift
//   auto-precision      what TrainingPrecision.Auto chooses on this CPU (the trainer's log line)
//   profile [rounds] [queries]  per-operation profile of the MiniLM training step, fp32 and bf16 autocast
//   adamw [rounds] [queries] [alone]  the trainers' FastAdamW against TorchSharp's AdamW: step alone and whole step
//   corpus [fp32,bf16]  BiEncoderStudent.Encode of the SciFact corpus, real all-MiniLM-L6-v2, 256 tokens
//   soak                live-tensor count and working set over 1,000 steps/calls
//   hop <teacher> <jsonl> [pairs] [rounds]  cross-encoder scoring on one thread against batches hopping pool threads
//   anything else       BenchmarkDotNet (e.g. --filter '*Teacher*'), results in artifacts/results/bdn
switch (args.FirstOrDefault())
{
    case "prepare":
        PeerInputs.Write();
        break;
    case "drift":
        Checks.Drift();
        break;
    case "peak":
        Checks.Peak(args[1..]);
        break;
    case "gemm":
        GemmProbe.Run(args[1..]);
        break;
    case "inference":
        InferenceComparison.Run(args[1..]);
        break;
    case "teacher-engines":
        TeacherEngineComparison.Run(args[1..]);
        break;
    case "train":
        TrainingComparison.Run(args[1..]);
        break;
    case "auto-precision":
        AutoPrecision.Run();
        break;
    case "profile":
        StepProfile.Run(args[1..]);
        break;
    case "adamw":
        OptimizerComparison.Run(args[1..]);
        break;
    case "corpus":
        CorpusEncoding.Run(args[1..]);
        break;
    case "soak":
        Soak.Run();
        break;
    case "hop":
        ThreadHopProbe.Run(args[1..]);
        break;
    default:
        BenchmarkSwitcher.FromAssembly(typeof(BenchConfig).Assembly).Run(args);
        break;
}
