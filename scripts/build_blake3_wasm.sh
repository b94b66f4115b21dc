#!/usr/bin/env bash
# Build the wasm SIMD BLAKE3 hasher (crate contracts/blake3_simd/) used by src/merkle/blake3.ts.
#
#   scripts/build_blake3_wasm.sh            build and update src/merkle/blake3_simd.wasm
#   scripts/build_blake3_wasm.sh --check    build into a temporary directory and compare
#                                           with the committed src/merkle/blake3_simd.wasm (CI)
#   scripts/build_blake3_wasm.sh --clean    (with or without --check) use a fresh
#                                           temporary cargo target directory (cold build)
#
# Toolchain: the one of scripts/build_contracts.sh (Debian's rustc-web with rust-web-src
# for -Zbuild-std, wasm-ld-22 from lld-22, any recent cargo). The crate pins blake3 and
# enables its `wasm32_simd` backend; .cargo/config.toml adds `+simd128`.
#
# The cargo target directory lives outside the repository (under XDG_CACHE_HOME) so that
# `deno fmt` and `deno lint` never see cargo's JSON files.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CRATE="$ROOT/contracts/blake3_simd"
OUT="$ROOT/src/merkle/blake3_simd.wasm"
TARGET=wasm32-unknown-unknown
SCRIPT=build_blake3_wasm
USAGE_LINES=2,9
# shellcheck source=scripts/_rust_wasm_toolchain.sh
source "$ROOT/scripts/_rust_wasm_toolchain.sh"

if ((CLEAN)); then
  TARGET_DIR="$TMP/target"
else
  TARGET_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/piecrust-deno/blake3_simd-target"
fi

# --- build -----------------------------------------------------------------------------
echo "build_blake3_wasm: $RUSTC_VERSION; $(cargo --version); target: $TARGET" >&2
CARGO_ARGS=(
  build --release
  --manifest-path "$CRATE/Cargo.toml"
  --target-dir "$TARGET_DIR"
  --target "$TARGET"
  -Zbuild-std=core,panic_abort
  -Zbuild-std-features=compiler-builtins-mem
  -Ztrim-paths --config 'profile.release.trim-paths="all"'
)
((CHECK)) && CARGO_ARGS+=(--locked) # CI: Cargo.lock must be committed and current
if ! (cd "$CRATE" && cargo "${CARGO_ARGS[@]}"); then
  die "cargo build failed; command (run in $CRATE): RUSTC=$RUSTC_BIN RUSTC_BOOTSTRAP=1 cargo ${CARGO_ARGS[*]@Q}"
fi
BUILT="$TARGET_DIR/$TARGET/release/blake3_simd.wasm"
[[ -f "$BUILT" ]] || die "cargo did not produce $BUILT"

if ((!CHECK)); then
  install -m 0644 "$BUILT" "$OUT"
  printf 'build_blake3_wasm: wrote src/merkle/blake3_simd.wasm (%d B, %s)\n' \
    "$(stat -c %s "$OUT")" "$(sha256sum "$OUT" | cut -c1-16)" >&2
  exit 0
fi

# --- check -----------------------------------------------------------------------------
[[ -f "$OUT" ]] || {
  echo "build_blake3_wasm: missing: src/merkle/blake3_simd.wasm" >&2
  exit 1
}
if ! cmp -s "$BUILT" "$OUT"; then
  echo "build_blake3_wasm: src/merkle/blake3_simd.wasm is stale ($(stat -c %s "$OUT") B committed, $(stat -c %s "$BUILT") B built)" >&2
  echo "build_blake3_wasm: run scripts/build_blake3_wasm.sh and commit the result" >&2
  exit 1
fi
echo "build_blake3_wasm: src/merkle/blake3_simd.wasm is up to date" >&2
