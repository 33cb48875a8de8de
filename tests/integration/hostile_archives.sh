#!/usr/bin/env bash
# Hostile archive corpus (docs/security.md): tests/hostile/make-corpus makes
# tarballs and .debs with .. and absolute names, symlinks out of the root written through,
# hardlinks to outside files, device nodes, setuid files, duplicates, a decompression bomb, a
# sparse members, truncated and corrupt streams and .debs, archives over the size caps (set low
# through KSIMG_MAX_MEMBER_SIZE / KSIMG_MAX_ARCHIVE_SIZE for the case). Each goes through
# `ksimg image build --layer ARCHIVE` from inside a scratch dir; the test asserts nothing was
# written outside it (a canary dir compared before/after), that refused cases exit 2 or 3 with
# one stderr line and no crash and leave no tag behind, and that accepted layers hold no
# absolute or .. member names; a case's check column adds what its stderr line must say, or
# the size and sha256 a member of the layer must have (sparse files: holes as zeros).
set -euo pipefail
: "${KSIMG:?}" "${KSIMG_SRC:?}" "${KSIMG_TESTS_TMP:?}"
for tool in python3 tar timeout; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
mkdir -p "$KSIMG_TESTS_TMP"
T=$(mktemp -d "${KSIMG_TESTS_TMP%/}/hostile.XXXXXX")
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/canary" "$T/corpus" "$T/logs"
echo "canary" >"$T/canary/canary-file"
python3 "$KSIMG_SRC/tests/hostile/make-corpus" "$T/corpus" "$T/canary" "${HOSTILE_BOMB_MIB:-256}" >/dev/null

snapshot() {  # everything under $T except the scratch dir and the corpus, plus /tmp's top level
  (cd "$T" && find . -path ./work -prune -o -path ./corpus -prune -o -path ./logs -prune -o -printf '%p %y %s %m %l\n' | sort)
  find /tmp -maxdepth 1 -name 'escape-*' -printf '%p\n'
}
bad_names() {  # member names of every tar blob in the layout that are absolute or contain ..
  local b
  for b in "$1"/blobs/sha256/*; do
    tar -tzf "$b" 2>/dev/null || tar --zstd -tf "$b" 2>/dev/null || true
  done | grep -E '^/|(^|/)\.\.(/|$)' || true
}

# check_failed CHECK LAYOUT: why the case's extra check fails ("" when it passes)
check_failed() {
  local check=$1 kind rest member size sha b got
  [[ $check == - ]] && return 0
  kind=${check%%:*} rest=${check#*:}
  if [[ $kind == err ]]; then
    grep -qE -- "$rest" "$T/logs/err" || echo "stderr does not match '$rest'"
    return 0
  fi
  IFS=: read -r member size sha <<<"$rest"
  for b in "$2"/blobs/sha256/*; do
    tar -xzOf "$b" "$member" >"$T/logs/member" 2>/dev/null || continue
    got=$(sha256sum <"$T/logs/member" | cut -c1-64)
    [[ $got == "$sha" && $(stat -c %s "$T/logs/member") == "$size" ]] && return 0
  done
  echo "no layer member $member of $size bytes with sha256 $sha"
}

cases=0 escapes=0 failures=0 refused=0 accepted=0
before=$(snapshot)
while IFS=$'\t' read -r name file expected env check; do
  cases=$((cases + 1))
  rm -rf "$T/work" && mkdir -p "$T/work"
  rc=0
  read -ra envs <<<"${env/#-/}"
  (cd "$T/work" && timeout 300 env "${envs[@]}" "$KSIMG" image build --layer "$file" --tag t --layout "$T/work/oci" \
    >"$T/logs/out" 2>"$T/logs/err") || rc=$?
  after=$(snapshot)
  if [[ $after != "$before" ]]; then
    escapes=$((escapes + 1))
    echo "ESCAPE: $name wrote outside the scratch dir:" >&2
    diff <(echo "$before") <(echo "$after") >&2 || true
    before=$after
  fi
  lines=$(grep -c . "$T/logs/err" || true)
  why=""
  if grep -qiE 'internal error|terminate called|AddressSanitizer|runtime error|std::' "$T/logs/err"; then
    why="crash text on stderr"
  elif [[ $rc -ne 0 && $rc -ne 2 && $rc -ne 3 ]]; then
    why="exit $rc (want 0, 2 or 3)"
  elif [[ $rc -ne 0 && $lines -ne 1 ]]; then
    why="$lines stderr lines (want one)"
  elif [[ $expected == refuse && $rc -eq 0 ]]; then
    why="accepted, want a refusal"
  elif [[ $expected == accept && $rc -ne 0 ]]; then
    why="refused, want it accepted"
  elif [[ $rc -ne 0 ]] && grep -qs '"t"' "$T/work/oci/index.json"; then
    why="refused, yet the tag was written to the layout"
  elif [[ $rc -eq 0 && -n $(bad_names "$T/work/oci") ]]; then
    why="layer holds absolute or .. names"
  elif grep -q 'unknown libarchive error' "$T/logs/err"; then
    why="the error names no problem"
  else
    why=$(check_failed "${check:--}" "$T/work/oci")
  fi
  [[ $rc -eq 0 ]] && accepted=$((accepted + 1)) || refused=$((refused + 1))
  if [[ -n $why ]]; then
    failures=$((failures + 1))
    echo "FAIL: $name: $why; stderr: $(head -c 400 "$T/logs/err")" >&2
  else
    printf '  %-24s exit %s  %s\n' "$name" "$rc" "$(head -1 "$T/logs/err" | cut -c1-110)"
  fi
done <"$T/corpus/cases.tsv"
echo "hostile_archives: cases $cases, refused $refused, accepted $accepted, escapes $escapes, failures $failures"
[[ $escapes -eq 0 && $failures -eq 0 ]]
