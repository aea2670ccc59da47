using KnowledgeDistillation.Tests.Hub;

namespace KnowledgeDistillation.Cli.Tests;

/// <summary>Tests that set HF_* variables in this process's environment run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessEnvironmentGroup
{
    public const string Name = "Process environment";
}

/// <summary>
/// kd resolves Hub names with the variables of its <see cref="CliEnvironment"/>, not the process's: a test (or a host)
/// that runs kd in its own process gives it its own hub, cache, token and offline mode.
/// </summary>
[Collection(ProcessEnvironmentGroup.Name)]
public sealed class HubEnvironmentTests
{
    private static readonly string[] HubVariables = ["HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_ENDPOINT", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE", "XDG_CACHE_HOME"];

    [Fact]
    public async Task In_process_kd_takes_the_hub_endpoint_cache_token_and_offline_mode_from_its_CliEnvironment()
    {
        using var data = new TestData();
        Dictionary<string, byte[]> files = Directory.EnumerateFiles(TestData.CrossEncoder).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes, StringComparer.Ordinal);
        // kd's hub: the repository is gated, granted to the token in kd's token file.
        using var hub = new LoopbackHub();
        hub.ValidTokens.Add("hf_kd");
        string commit = hub.AddCommit("org/tiny-reranker", files, grantedToken: "hf_kd");
        // The process's hub: a decoy with the same repository, granted to the process's token.
        using var decoy = new LoopbackHub();
        decoy.ValidTokens.Add("hf_process");
        decoy.AddCommit("org/tiny-reranker", files, grantedToken: "hf_process");
        File.WriteAllText(data.File("token"), "hf_kd\n");
        File.WriteAllText(data.File("examples.jsonl"), """
            {"query": "how do cats purr", "pos": ["cats purr by vibrating their vocal folds"], "neg": ["dogs bark", "cat food comes in cans"]}

            """);
        var kd = new Dictionary<string, string>
        {
            ["HF_HOME"] = data.File("kd-home"), ["HF_HUB_CACHE"] = data.File("kd-hub"), ["HF_TOKEN_PATH"] = data.File("token"),
            ["HF_ENDPOINT"] = hub.Endpoint.ToString(),
        };

        Dictionary<string, string?> saved = HubVariables.ToDictionary(n => n, Environment.GetEnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable("HF_HOME", data.File("process-home"));
            Environment.SetEnvironmentVariable("HF_HUB_CACHE", data.File("process-hub"));
            Environment.SetEnvironmentVariable("HF_ENDPOINT", decoy.Endpoint.ToString());
            Environment.SetEnvironmentVariable("HF_TOKEN", "hf_process");
            Environment.SetEnvironmentVariable("HF_HUB_OFFLINE", null);

            Kd.Result online = await Kd.RunAsync(kd, "score", "--teacher", "org/tiny-reranker", "--input", data.File("examples.jsonl"), "--cache", data.File("a.kdscores"), "--output", data.File("a.jsonl"));
            online.ExitCode.Should().Be(0, online.Error);
            decoy.Requests.Should().BeEmpty("the process's HF_ENDPOINT is not kd's");
            hub.Requests.Where(r => !r.Path.StartsWith("/cdn/", StringComparison.Ordinal)).Should().NotBeEmpty()
                .And.OnlyContain(r => r.Authorization == "Bearer hf_kd", "the token is the one kd's HF_TOKEN_PATH names, not the process's HF_TOKEN");
            Directory.Exists(Path.Combine(data.File("kd-hub"), "models--org--tiny-reranker", "snapshots", commit)).Should().BeTrue("kd's HF_HUB_CACHE holds the download");
            Directory.Exists(data.File("process-hub")).Should().BeFalse("the process's HF_HUB_CACHE is not kd's");

            // Offline by kd's HF_HUB_OFFLINE (the process's is unset): the cache answers, no request is made.
            int requests = hub.Requests.Count;
            Kd.Result offline = await Kd.RunAsync(new Dictionary<string, string>(kd) { ["HF_HUB_OFFLINE"] = "1" },
                "score", "--teacher", "org/tiny-reranker", "--input", data.File("examples.jsonl"), "--cache", data.File("b.kdscores"), "--output", data.File("b.jsonl"));
            offline.ExitCode.Should().Be(0, offline.Error);
            hub.Requests.Should().HaveCount(requests);
            File.ReadAllText(data.File("b.jsonl")).Should().Be(File.ReadAllText(data.File("a.jsonl")));

            // And kd's HF_HOME: with no HF_HUB_CACHE, the cache is HF_HOME/hub, offline there fails naming it.
            Kd.Result home = await Kd.RunAsync(new Dictionary<string, string> { ["HF_HOME"] = data.File("kd-home"), ["HF_HUB_OFFLINE"] = "1" },
                "score", "--teacher", "org/tiny-reranker", "--input", data.File("examples.jsonl"), "--cache", data.File("c.kdscores"));
            home.ExitCode.Should().NotBe(0);
            home.Error.Should().Contain(Path.Combine(data.File("kd-home"), "hub"));
        }
        finally
        {
            foreach ((string name, string? value) in saved)
                Environment.SetEnvironmentVariable(name, value);
        }
    }
}
