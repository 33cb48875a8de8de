#!/usr/bin/env bash
# Bad CLI input across every subcommand, table-driven: each case must exit with
# the documented code (README "Exit codes": 2 usage, 3 integrity, 4 project data, 1 runtime)
# and print exactly one non-empty stderr line starting "ksimg" ("ksimg: " or "ksimg SUBCOMMAND: ") -- no stack trace, no
# "internal error", no sanitizer report. HOME points into the scratch dir, so nothing real is read
# or written; no case reaches the network (registries are 127.0.0.1 ports nothing listens on).
set -euo pipefail
: "${KSIMG:?}" "${KSIMG_SRC:?}" "${KSIMG_TESTS_TMP:?}"
mkdir -p "$KSIMG_TESTS_TMP"
T=$(mktemp -d "${KSIMG_TESTS_TMP%/}/cli_bad_input.XXXXXX")
trap 'rm -rf "$T"' EXIT
export HOME=$T/home XDG_CONFIG_HOME=$T/home/.config XDG_DATA_HOME=$T/home/.local/share \
  XDG_CACHE_HOME=$T/home/.cache XDG_RUNTIME_DIR=$T/run REGISTRY_AUTH_FILE=$T/auth.json
unset KSIMG_DATA_DIR
# No kbuild program: `build` must report a bad --cell, lock or source before it looks for one.
export KSIMG_KBUILD=$T/no-such-kbuild
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" "$T/empty" "$T/notlayout/x" "$T/baddata/matrix"
"$KSIMG" image build --layer "$T/empty" --tag other --layout "$T/layout" >/dev/null 2>&1
echo '{"not": "json"' >"$T/bad.json"
echo 'garbage' >"$T/notalock.json"
printf 'not an archive' >"$T/junk.tar"
printf '\x7fELF garbage' >"$T/vmlinux"
cp -r "$KSIMG_SRC/matrix/." "$T/baddata/matrix/"
cp -r "$KSIMG_SRC/recipes" "$T/baddata/recipes"
echo '{ broken' >"$T/baddata/matrix/arches.json"
DEAD=127.0.0.1:9

# expected exit | arguments (word-split by eval) | extended regex the stderr line must match
CASES=$(cat <<TABLE
2|--no-such-flag|
2|no-such-command|
2|resolve|
2|resolve 7.x|kernel version
2|resolve 5.10 --arch nosucharch|arch
2|resolve 2.6.31 --arch arm64|arm64
2|resolve 5.10 --bogus|bogus
4|--data-dir $T/baddata resolve 5.10|arches.json
2|--data-dir $T/nonexistent resolve 5.10|nonexistent
2|matrix --era k99|k99
2|matrix --arch nosucharch|nosucharch
2|image|
2|image build --tag t --layout $T/o|layer
2|image build --layer $T/missing --tag t --layout $T/o|missing
2|image build --layer $T/empty --tag 'bad tag!' --layout $T/o|tag
2|image build --layer $T/junk.tar --tag t --layout $T/o|junk.tar
2|image index --layout $T/o --tag t|manifest
2|kbuild 5.10.1 --arch mipsel --platform linux/s390x|unsupported platform 'linux/s390x'
2|kbuild 5.10.1 --arch mipsel --platform linux/arm64/v9|unsupported platform 'linux/arm64/v9'
2|pull $DEAD/ns/kernelsmith:t --platform linux/arm|unsupported platform 'linux/arm'
2|load --tag t --platform linux/s390x --layout $T/o|unsupported platform
2|image build --layer $T/empty --tag t --layout $T/o --env NOEQUALS|NOEQUALS
2|image build --layer $T/empty --tag t --layout $T/o --platform x|platform
2|image build --layer $T/empty --tag t --layout $T/o --source-date-epoch yesterday|yesterday
2|image build --layer $T/empty --tag t --layout $T/o --compression lz4|lz4
2|image build --layer $T/empty --tag t --layout $T/notlayout|notlayout
2|inspect|
2|inspect $T/nonexistent:t|nonexistent
2|inspect $T/notlayout:t|notlayout
2|inspect --json --bogus x|bogus
2|lock --lock $T/l.json --cell k99/mipsel|k99
2|lock --lock $T/l.json --bogus|bogus
4|build --lock $T/notalock.json --cell k4/mipsel --layout $T/o|notalock.json
2|build --lock $T/nonexistent.json --cell k4/mipsel --layout $T/o|nonexistent
2|build --cell k4/nosucharch --layout $T/o|nosucharch
2|build --cell k4/mipsel --cell k99/x --layout $T/o|k99
2|build --cell k4/mipsel --source nosuchsource --layout $T/o|nosuchsource
2|check --cell k99/mipsel --layout $T/layout|k99
2|check --cell k4/mipsel --layout $T/notlayout|notlayout
2|load --cell k4/nosucharch --layout $T/layout|nosucharch
2|load --layout $T/layout|cell
2|toolchain-layer --recipe no-such-recipe --layout $T/o --tag t|no-such-recipe
2|toolchain-layer --recipe no-such-recipe --layout $T/o|tag
2|push --to 'bad destination!!' --cell k4/mipsel --layout $T/o|destination
2|push --to $DEAD/ns --cell k99/mipsel --layout $T/o|k99
2|pull 'UPPER/Case:tag' --layout $T/o|UPPER
2|pull $DEAD/ns/kernelsmith:bad@tag --layout $T/o|tag
2|login|
2|push --cell k4/mipsel --layout $T/layout|
2|pull|
2|logout|
2|login 'not a registry' --username u --password-stdin|registry
2|logout 'not a registry'|registry
2|kbuild|
2|kbuild 5.10 --arch mipsel --source $T/nonexistent --out $T/out|nonexistent
2|kbuild 7.x --arch mipsel --source $T/empty --out $T/out|7.x
2|kbuild 5.10 --arch nosucharch --out $T/out|nosucharch
2|boot-test|
2|boot-test $T/nonexistent|nonexistent
2|boot-test --kernel $T/vmlinux --cell k99/mipsel|k99
2|boot-test --kernel $T/vmlinux --cell k4/mipsel --timeout soon|soon
TABLE
)

cases=0 failures=0 crashes=0
while IFS='|' read -r want args pattern; do
  [[ -z $want ]] && continue
  cases=$((cases + 1))
  eval "argv=($args)"
  rc=0
  (cd "$T" && timeout 60 "$KSIMG" "${argv[@]}" </dev/null >"$T/stdout" 2>"$T/stderr") || rc=$?
  lines=$(grep -c . "$T/stderr" || true)
  line=$(grep -m1 . "$T/stderr" || true)
  why=""
  if grep -qiE 'internal error|terminate called|Sanitizer|runtime error: |std::|what\(\)' "$T/stderr"; then
    why="crash or internal text"
    crashes=$((crashes + 1))
  elif [[ $rc -ne $want ]]; then
    why="exit $rc, want $want"
  elif [[ $lines -ne 1 ]]; then
    why="$lines stderr lines, want 1"
  elif [[ $line != ksimg* ]]; then
    why="stderr line does not start with 'ksimg'"
  elif [[ -n $pattern ]] && ! grep -qE -- "$pattern" <<<"$line"; then
    why="stderr line does not name '$pattern'"
  fi
  if [[ -n $why ]]; then
    failures=$((failures + 1))
    echo "FAIL: ksimg $args: $why" >&2
    sed 's/^/    stderr: /' "$T/stderr" | head -5 >&2
  fi
done <<<"$CASES"
echo "cli_bad_input: cases $cases, crashes $crashes, failures $failures"
[[ $failures -eq 0 ]]
