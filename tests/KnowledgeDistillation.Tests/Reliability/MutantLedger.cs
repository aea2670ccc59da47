using System.Diagnostics;
using Xunit.Abstractions;

namespace KnowledgeDistillation.Tests.Reliability;

/// <summary>
/// The bookkeeping of a seeded fuzz test: runs each mutant's check on a pool thread under a time limit, counts the
/// outcomes, records every mutant that broke the contract by its description (seed and mutation, so it can be replayed
/// alone), and at the end fails the test with all of them.
/// </summary>
/// <param name="perMutant">How long one check may take before it counts as a hang.</param>
/// <param name="problem">What a caught exception lacks to be an acceptable refusal, said in the failure; optional.</param>
internal sealed class MutantLedger(TimeSpan perMutant, Func<Exception, string?>? problem = null)
{
    private readonly List<string> _failures = [];
    private readonly Dictionary<string, int> _outcomes = new(StringComparer.Ordinal);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _mutants;

    /// <summary>Thrown by a check for a mutant that broke the contract; its message is the failure.</summary>
    public sealed class Failure(string message) : Exception(message);

    /// <summary>How many mutants broke the contract so far.</summary>
    public int Failures => _failures.Count;

    /// <summary>
    /// Runs one mutant's check, which returns its outcome or throws (a <see cref="Failure"/>, or whatever escaped).
    /// Returns <see langword="false"/> after a hang: the check still runs and uses the mutant's files, so stop there.
    /// </summary>
    public async Task<bool> RunAsync(string description, Func<Task<string>> check)
    {
        _mutants++;
        try
        {
            string outcome = await Task.Run(check).WaitAsync(perMutant);
            _outcomes[outcome] = _outcomes.GetValueOrDefault(outcome) + 1;
            return true;
        }
        catch (TimeoutException)
        {
            _failures.Add($"{description}: no result after {perMutant.TotalSeconds} s (a hang)");
            return false;
        }
        catch (Failure e)
        {
            _failures.Add($"{description}: {e.Message}");
            return true;
        }
        catch (Exception e)
        {
            // The innermost frames say where it escaped.
            string frames = string.Join(" <- ", (e.StackTrace ?? "").Split('\n', StringSplitOptions.TrimEntries).Take(3));
            string why = problem?.Invoke(e) is { } p ? $"{p}: " : "";
            _failures.Add($"{description}: {e.GetType().Name}: {why}{e.Message} {frames}");
            return true;
        }
    }

    /// <summary>Writes the counts and fails with every recorded mutant.</summary>
    /// <param name="output">The test's output.</param>
    /// <param name="name">What was fuzzed, for the output line.</param>
    /// <param name="contract">What every mutant must do, for the failure message.</param>
    public void Verify(ITestOutputHelper output, string name, string contract)
    {
        string counts = string.Join(", ", _outcomes.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key} {o.Value}"));
        output.WriteLine($"{name}: {_mutants} mutants in {_clock.Elapsed.TotalSeconds:F1} s: {counts}, {_failures.Count} failures");
        _failures.Should().BeEmpty($"every mutant {contract}; these did not:\n{string.Join("\n", _failures)}\n");
    }
}
