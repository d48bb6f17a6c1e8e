#!/usr/bin/env bash
# Extracts the real Prow configurations of configs.tsv that are not in ../shared/corpus from local
# bare mirrors of their repositories (MIRRORS/<owner>+<name>/repo, as the session's fetch tool
# makes them), at the manifest's commit, into tests/oracle/configs/<name> (ignored by git).
#
# Usage: tests/oracle/configs.sh [MIRRORS]   (default: /work/.mirror)
#
# Only config.yaml, plugins.yaml, labels.yaml and the job-config tree's .yaml/.yml files are taken,
# byte for byte (`git cat-file blob`). A path of config.yaml, plugins.yaml or labels.yaml written
# `owner/name@commit:path` is taken from that repository (a job tree checked against another
# repository's Prow configuration), into <name>/path. A job-config directory written `flat:dir` is
# flattened as such projects' checkconfig jobs do (upstream refuses two job files of one basename):
# each file below dir becomes dir/<its path below dir, '/' replaced by '-'>, kustomization.yaml
# left out. A mirror may hold a file's name without its content (its
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
  # Each entry: <git dir>\t<commit>\t<path in the repository>\t<path under dest>.
  entries=()
  for path in "$config" "$plugins" "$labels"; do
    [[ "$path" == "-" ]] && continue
    if [[ "$path" == *@*:* ]]; then
      other="${path%%@*}"
      rest="${path#*@}"
      entries+=("$mirrors/${other/\//+}/repo"$'\t'"${rest%%:*}"$'\t'"${rest#*:}"$'\t'"${rest#*:}")
    else
      entries+=("$git_dir"$'\t'"$commit"$'\t'"$path"$'\t'"$path")
    fi
  done
  tree="${jobs#flat:}"
  mapfile -t job_files < <(git -C "$git_dir" ls-tree -r --name-only "$commit" -- "$tree/" | grep -E '\.ya?ml$')
  for path in "${job_files[@]}"; do
    if [[ "$jobs" == flat:* ]]; then
      [[ "$(basename "$path")" == kustomization.yaml ]] && continue
      below="${path#"$tree"/}"
      entries+=("$git_dir"$'\t'"$commit"$'\t'"$path"$'\t'"$tree/${below//\//-}")
    else
      entries+=("$git_dir"$'\t'"$commit"$'\t'"$path"$'\t'"$path")
    fi
  done
  taken=0
  for entry in "${entries[@]}"; do
    IFS=$'\t' read -r from at path local <<< "$entry"
    mkdir -p "$dest/$(dirname "$local")"
    if git -C "$from" cat-file blob "$at:$path" > "$dest/$local" 2>/dev/null; then
      taken=$((taken + 1))
    else
      rm -f "$dest/$local"
      echo "$path" >> "$dest/MISSING"
    fi
  done
  echo "$repo $commit" > "$dest/SOURCE"
  echo "configs.sh: $name: $taken files from $repo@${commit:0:12}, $(wc -l < "$dest/MISSING") missing in the mirror" >&2
done
