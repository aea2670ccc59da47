#!/usr/bin/env bash
# Packs the kd tool into a local folder feed and installs it from there, as a user of a fresh clone would:
#   src/KnowledgeDistillation.Cli/install-local.sh [feed folder] [tool folder]
# Without a tool folder it installs globally (dotnet tool install -g); with one, into that folder (--tool-path).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
feed="${1:-$here/../../artifacts/feed}"
tools="${2:-}"
mkdir -p "$feed"
dotnet pack "$here/KnowledgeDistillation.Cli.csproj" -c Release -o "$feed"
version="$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' "$here/../../Directory.Build.props" | head -1)"
if [ -n "$tools" ]; then
  dotnet tool uninstall --tool-path "$tools" KnowledgeDistillation.Cli >/dev/null 2>&1 || true
  dotnet tool install --tool-path "$tools" --add-source "$feed" KnowledgeDistillation.Cli --version "$version"
  "$tools/kd" --version
else
  dotnet tool uninstall -g KnowledgeDistillation.Cli >/dev/null 2>&1 || true
  dotnet tool install -g --add-source "$feed" KnowledgeDistillation.Cli --version "$version"
  kd --version
fi
