namespace KnowledgeDistillation.Hub;

/// <summary>
/// Progress of a model download: a downloaded file is reported where its download starts (0, or the part kept from an
/// interrupted one), as bytes arrive (every MiB), and when it is done, with byte counts that only grow; a file found in
/// the cache is reported once, complete.
/// </summary>
/// <param name="FileName">The file in the repository (for example <c>model.safetensors</c>).</param>
/// <param name="BytesDownloaded">Bytes of that file on disk so far, a resumed part included.</param>
/// <param name="TotalBytes">The file's size as the server announced it.</param>
/// <param name="FileIndex">The file's position in the download, from 0.</param>
/// <param name="FileCount">How many files the download fetches or finds cached.</param>
public sealed record HubDownloadProgress(string FileName, long BytesDownloaded, long TotalBytes, int FileIndex, int FileCount);
