using Microsoft.Extensions.Logging;

namespace KnowledgeDistillation.Hub;

/// <summary>
/// An exclusive lock on a file under the cache's <c>.locks/</c> folder, as huggingface_hub takes one per blob. .NET opens
/// a file with <see cref="FileShare.None"/> under an advisory <c>flock(LOCK_EX)</c> on Unix, the lock Python's
/// <c>filelock</c> takes, so .NET and Python processes exclude each other too.
/// </summary>
internal sealed class HubFileLock : IDisposable
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);
    private readonly FileStream _stream;

    private HubFileLock(FileStream stream) => _stream = stream;

    public static async Task<HubFileLock> AcquireAsync(string path, ILogger logger, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        bool logged = false;
        while (true)
        {
            try
            {
                return new HubFileLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException) when (File.Exists(path))
            {
                if (!logged)
                {
                    HubLog.WaitingForLock(logger, path);
                    logged = true;
                }
                await Task.Delay(Poll, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public void Dispose() => _stream.Dispose();
}
