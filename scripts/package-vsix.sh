#!/usr/bin/env bash
# Builds the VS Code extension (editors/vscode) into out/ukl-trim.vsix with @vscode/vsce.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/editors/vscode"
npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
mkdir -p "$root/out"
npx --no-install vsce package --out "$root/out/ukl-trim.vsix"
