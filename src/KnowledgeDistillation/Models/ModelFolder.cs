using System.Text.RegularExpressions;

namespace KnowledgeDistillation.Models;

/// <summary>Checks a model folder argument before anything is read from it.</summary>
internal static partial class ModelFolder
{
    /// <summary>Throws <see cref="DirectoryNotFoundException"/> when the folder is missing, explaining hub ids.</summary>
    public static void EnsureExists(string directory)
    {
        if (Directory.Exists(directory))
            return;
        if (!Path.IsPathRooted(directory) && HubId().IsMatch(directory))
        {
            throw new DirectoryNotFoundException(
                $"'{directory}' looks like a Hugging Face hub id, but this library downloads nothing: it loads local folders. " +
                $"Download the model first (for example 'huggingface-cli download {directory} --local-dir models/{directory.Split('/')[1]}' " +
                $"or 'git clone https://huggingface.co/{directory}') and pass that folder.");
        }
        throw new DirectoryNotFoundException($"The model folder {directory} does not exist.");
    }

    // owner/name, as the hub spells model ids.
    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex HubId();
}
