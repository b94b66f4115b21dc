#!/usr/bin/env bash
# Build the Rust test contracts (workspace contracts/rust/) for wasm32 and wasm64, each
# with the compiler's default wasm features and without bulk memory ("nobulk").
#
#   scripts/build_contracts.sh            build and update contracts/build/
#   scripts/build_contracts.sh --check    build into a temporary directory and compare
#                                         with the committed contracts/build/ (CI)
#   scripts/build_contracts.sh --clean    (with or without --check) use a fresh
#                                         temporary cargo target directory (cold build)
#
# Outputs: contracts/build/{wasm32,wasm64}/<name>.wasm, the same built without bulk
# memory in contracts/build/{wasm32,wasm64}-nobulk/ (Rust >= 1.87 turns memcpy/memset
# into memory.copy/memory.fill; Dusk's pinned Rust 1.85 did not, and the parity tests
# run both), contracts/build/TOOLCHAIN (the exact `/usr/bin/rustc --version` used) and,
# through scripts/bundle_contracts.ts, src/testing/_bundled.ts (the default builds
# only). The script owns those four folders: .wasm files there that the workspace no
# longer produces are removed by a build and reported by --check.
#
# Every workspace member is built for every target, unless its Cargo.toml restricts it:
#   [package.metadata.piecrust]
#   targets = ["wasm64-unknown-unknown"]
# (one cargo invocation per target; members not meant for that target are --exclude'd).
#
# Toolchain: Debian's rustc-web (1.96+) as
# RUSTC, its library sources from rust-web-src for -Zbuild-std, wasm-ld-22 from lld-22
# as the linker, and any recent cargo (rustup's stable cargo works). rustup cannot
# provide wasm targets or rust-src on the project machines. -Zbuild-std resolves the
# standard library's own dependencies from crates.io.
#
# Reproducibility: -Ztrim-paths (profile trim-paths = "all") remaps the workspace, the
# target directory, dependency sources and the library sources, so the bytes do not
# depend on where the repository, CARGO_HOME or the target directory live.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WS="$ROOT/contracts/rust"
OUT="$ROOT/contracts/build"
TARGETS=(wasm32-unknown-unknown wasm64-unknown-unknown)
SCRIPT=build_contracts
USAGE_LINES=2,9
# shellcheck source=scripts/_rust_wasm_toolchain.sh
source "$ROOT/scripts/_rust_wasm_toolchain.sh"

if ((CLEAN)); then
  TARGET_DIR="$TMP/target"
else
  TARGET_DIR="$WS/target"
fi
if ((CHECK)); then
  DEST="$TMP/out"
else
  DEST="$OUT"
fi

# --- per-member target restrictions ---------------------------------------------------
# "<package> <target>..." for each member whose Cargo.toml has
# [package.metadata.piecrust] targets = [...] (a one-line array).
LOCKED=()
((CHECK)) && LOCKED=(--locked) # CI: Cargo.lock must be committed and current
METADATA="$(cd "$WS" && cargo metadata --no-deps --format-version 1 "${LOCKED[@]}")" ||
  die "cargo metadata failed in $WS"
mapfile -t MANIFESTS < <(grep -o '"manifest_path":"[^"]*"' <<<"$METADATA" | cut -d'"' -f4)
((${#MANIFESTS[@]} > 0)) || die "no workspace members found in $WS"
declare -A ONLY_TARGETS=()
for m in "${MANIFESTS[@]}"; do
  read -r pkg targets < <(awk '
    /^\[/ { sec = $0 }
    sec == "[package]" && /^name *=/ { gsub(/.*= *"|".*/, ""); name = $0 }
    sec == "[package.metadata.piecrust]" && /^targets *=/ {
      sub(/^[^[]*\[/, ""); sub(/\].*/, ""); gsub(/[", ]+/, " "); targets = $0 }
    END { print name, targets }' "$m")
  [[ -n "$pkg" ]] || die "cannot read the package name in $m"
  if [[ -n "${targets// /}" ]]; then
    for t in $targets; do
      [[ " ${TARGETS[*]} " == *" $t "* ]] || die "$m: unknown target '$t' in [package.metadata.piecrust]"
    done
    ONLY_TARGETS["$pkg"]="$targets"
  fi
done

# --- build -----------------------------------------------------------------------------
# The nobulk flavour: the wasm features LLVM >= 20 turns on by default, off (its own
# target directory, as -Zbuild-std rebuilds the standard library with them).
FLAVOURS=("" -nobulk)
NOBULK_FEATURES="-bulk-memory,-bulk-memory-opt,-nontrapping-fptoint,-call-indirect-overlong"
echo "build_contracts: $RUSTC_VERSION; $(cargo --version); targets: ${TARGETS[*]}" >&2
for flavour in "${FLAVOURS[@]}"; do
for t in "${TARGETS[@]}"; do
  CARGO_ARGS=(
    build --release --workspace
    --manifest-path "$WS/Cargo.toml"
    --target-dir "$TARGET_DIR$flavour"
    --target "$t"
    -Zbuild-std=core,alloc,panic_abort
    -Zbuild-std-features=compiler-builtins-mem
    -Ztrim-paths --config 'profile.release.trim-paths="all"'
    --message-format=json-render-diagnostics
    "${LOCKED[@]}"
  )
  [[ -n "$flavour" ]] && CARGO_ARGS+=(--config "target.$t.rustflags=[\"-C\", \"target-feature=$NOBULK_FEATURES\"]")
  for pkg in "${!ONLY_TARGETS[@]}"; do
    [[ " ${ONLY_TARGETS[$pkg]} " == *" $t "* ]] || CARGO_ARGS+=(--exclude "$pkg")
  done
  # stdout: JSON messages; stderr: progress and rendered diagnostics.
  if ! (cd "$WS" && cargo "${CARGO_ARGS[@]}") >>"$TMP/cargo$flavour.json"; then
    die "cargo build failed; command (run in $WS): RUSTC=$RUSTC_BIN RUSTC_BOOTSTRAP=1 cargo ${CARGO_ARGS[*]@Q}"
  fi
done
done

declare -A PRODUCED=()
for flavour in "${FLAVOURS[@]}"; do
  # Artifacts: every .wasm listed in a compiler-artifact message.
  mapfile -t ARTIFACTS < <(grep '"reason":"compiler-artifact"' "$TMP/cargo$flavour.json" |
    grep -o '"[^"]*\.wasm"' | tr -d '"' | sort -u)
  ((${#ARTIFACTS[@]} > 0)) || die "cargo produced no .wasm files (no cdylib members in $WS?)"
  mkdir -p "$DEST/wasm32$flavour" "$DEST/wasm64$flavour"
  for f in "${ARTIFACTS[@]}"; do
    case "$f" in
      */wasm32-unknown-unknown/release/*) arch=wasm32 ;;
      */wasm64-unknown-unknown/release/*) arch=wasm64 ;;
      *) die "unexpected artifact path: $f" ;;
    esac
    rel="$arch$flavour/$(basename "$f")"
    install -m 0644 "$f" "$DEST/$rel"
    PRODUCED["$rel"]=1
  done
done
OWNED=(wasm32 wasm64 wasm32-nobulk wasm64-nobulk)

# The .wasm files in the folders this script owns.
owned_wasm() {
  local dir f
  for dir in "${OWNED[@]}"; do
    for f in "$OUT/$dir"/*.wasm; do
      [[ -e "$f" ]] && printf '%s\n' "$f"
    done
  done
  return 0
}
printf '%s\n' "$RUSTC_VERSION" >"$DEST/TOOLCHAIN"

if ((!CHECK)); then
  while read -r f; do
    rel="${f#"$OUT"/}"
    if [[ -z "${PRODUCED[$rel]:-}" ]]; then
      echo "build_contracts: removing contracts/build/$rel (no longer produced)" >&2
      rm -f "$f"
    fi
  done < <(owned_wasm)
  for rel in $(printf '%s\n' "${!PRODUCED[@]}" | sort); do
    printf '  contracts/build/%-28s %6d B\n' "$rel" "$(stat -c %s "$OUT/$rel")" >&2
  done
  echo "build_contracts: wrote ${#PRODUCED[@]} files and contracts/build/TOOLCHAIN" >&2
  # The package ships the builds inside src/testing/_bundled.ts.
  npx --yes deno@2.9.6 run --allow-read --allow-write "$ROOT/scripts/bundle_contracts.ts"
  exit 0
fi

# --- check -----------------------------------------------------------------------------
COMMITTED_VERSION="$(cat "$OUT/TOOLCHAIN" 2>/dev/null || true)"
COMPARE_BYTES=1
if [[ -n "$COMMITTED_VERSION" && "$COMMITTED_VERSION" != "$RUSTC_VERSION" ]]; then
  echo "build_contracts: notice: installed compiler '$RUSTC_VERSION' differs from" \
    "contracts/build/TOOLCHAIN '$COMMITTED_VERSION': the contracts compiled, but their" \
    "bytes are not compared (only missing/extra files are checked)." >&2
  COMPARE_BYTES=0
fi

BAD=()
[[ -n "$COMMITTED_VERSION" ]] || BAD+=("missing: contracts/build/TOOLCHAIN")
for rel in $(printf '%s\n' "${!PRODUCED[@]}" | sort); do
  if [[ ! -f "$OUT/$rel" ]]; then
    BAD+=("missing: contracts/build/$rel")
  elif ((COMPARE_BYTES)) && ! cmp -s "$DEST/$rel" "$OUT/$rel"; then
    BAD+=("stale:   contracts/build/$rel ($(stat -c %s "$OUT/$rel") B committed, $(stat -c %s "$DEST/$rel") B built)")
  fi
done
while read -r f; do
  rel="${f#"$OUT"/}"
  [[ -n "${PRODUCED[$rel]:-}" ]] || BAD+=("extra:   contracts/build/$rel (not produced by the workspace)")
done < <(owned_wasm)

if ((${#BAD[@]})); then
  echo "build_contracts: contracts/build is out of date:" >&2
  printf '  %s\n' "${BAD[@]}" >&2
  echo "build_contracts: run scripts/build_contracts.sh and commit contracts/build/" >&2
  exit 1
fi
if ((COMPARE_BYTES)); then
  echo "build_contracts: contracts/build is up to date (${#PRODUCED[@]} files)" >&2
else
  echo "build_contracts: contracts/build has all ${#PRODUCED[@]} files (bytes not compared)" >&2
fi
