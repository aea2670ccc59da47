// The official JavaScript Hub client (@huggingface/hub), driven by HubInteropTests:
//   node hub-client.mjs snapshot <hubUrl> <cacheDir> <repo> <revision>   snapshotDownload into the cache
//   node hub-client.mjs file <hubUrl> <cacheDir> <repo> <revision> <path>  downloadFileToCacheDir
//   node hub-client.mjs scan <cacheDir>                                  scanCacheDir: what the client finds cached
// The answer is the last stdout line, prefixed "RESULT " (the client logs with console.debug on stdout).
import { snapshotDownload, downloadFileToCacheDir, scanCacheDir } from "@huggingface/hub";

const [command, ...args] = process.argv.slice(2);
let result;
if (command === "snapshot") {
  const [hubUrl, cacheDir, repo, revision] = args;
  result = { path: await snapshotDownload({ repo, hubUrl, cacheDir, revision }) };
} else if (command === "file") {
  const [hubUrl, cacheDir, repo, revision, path] = args;
  result = { path: await downloadFileToCacheDir({ repo, hubUrl, cacheDir, revision, path }) };
} else if (command === "scan") {
  const info = await scanCacheDir(args[0]);
  result = {
    warnings: info.warnings.map((w) => String(w)),
    repos: info.repos.map((r) => ({
      name: r.id.name,
      type: r.id.type,
      revisions: r.revisions.map((v) => ({
        commit: v.commitOid,
        refs: v.refs,
        files: v.files.map((f) => ({ path: f.path, blob: f.blob.path, size: f.blob.size })),
      })),
    })),
  };
} else {
  console.error("usage: hub-client.mjs snapshot|file|scan ...");
  process.exit(2);
}
console.log("RESULT " + JSON.stringify(result));
