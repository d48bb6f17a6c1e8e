#!/usr/bin/env bash
# Extracts the real Prow configurations of configs.tsv that are not in ../shared/corpus from local
# bare mirrors of their repositories (MIRRORS/<owner>+<name>/repo, as the session's fetch tool
# makes them), at the manifest's commit, into tests/oracle/configs/<name> (ignored by git).
#
# Usage: tests/oracle/configs.sh [MIRRORS]   (default: /work/.mirror)
#
# Only config.yaml, plugins.yaml, labels.yaml and the job-config tree's .yaml/.yml files are taken,
# byte for byte (`git cat-file blob`). A mirror may hold a file's name without its content (its
# largest blobs): such files are listed in <name>/MISSING and skipped, and the comparison runs on
# the rest. A configuration whose mirror or commit is absent is skipped with a message.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
mirrors="${1:-/work/.mirror}"
out="$here/configs"
corpus="$here/../../../shared/corpus"
mkdir -p "$out"

grep -v '^#' "$here/configs.tsv" | while IFS=$'\t' read -r name repo commit config plugins labels jobs _flags; do
  [[ -z "$name" ]] && continue
  if [[ -d "$corpus/$name" ]]; then
    continue
  fi
  git_dir="$mirrors/${repo/\//+}/repo"
  if ! git -C "$git_dir" cat-file -e "$commit^{commit}" 2>/dev/null; then
    echo "configs.sh: $name: no mirror of $repo at $commit in $git_dir; skipped" >&2
    continue
  fi
  dest="$out/$name"
  rm -rf "$dest"
  mkdir -p "$dest"
  : > "$dest/MISSING"
  paths=("$config" "$plugins")
  [[ "$labels" != "-" ]] && paths+=("$labels")
  mapfile -t job_files < <(git -C "$git_dir" ls-tree -r --name-only "$commit" -- "$jobs/" | grep -E '\.ya?ml$')
  taken=0
  for path in "${paths[@]}" "${job_files[@]}"; do
    mkdir -p "$dest/$(dirname "$path")"
    if git -C "$git_dir" cat-file blob "$commit:$path" > "$dest/$path" 2>/dev/null; then
      taken=$((taken + 1))
    else
      rm -f "$dest/$path"
      echo "$path" >> "$dest/MISSING"
    fi
  done
  echo "$repo $commit" > "$dest/SOURCE"
  echo "configs.sh: $name: $taken files from $repo@${commit:0:12}, $(wc -l < "$dest/MISSING") missing in the mirror" >&2
done
