#!/usr/bin/env bash
# Build the wasm made from Dusk's crates (workspace contracts/dusk/): the stake contract's
# data driver and the stake_mirror test contract, both for wasm32.
#
#   scripts/build_dusk_wasm.sh            build and update contracts/build/dusk/
#   scripts/build_dusk_wasm.sh --check    build and compare with the committed
#                                         contracts/build/dusk/ (CI)
#   scripts/build_dusk_wasm.sh --clean    (with or without --check) use fresh temporary
#                                         cargo target directories (cold builds)
#
# Toolchain: the one of scripts/build_contracts.sh. The contract is built as the other
# contracts are (no_std, -Zbuild-std=core,alloc, the same link flags); the driver needs
# std (serde_json), so it gets -Zbuild-std=std and only --strip-all. The two builds use
# separate target directories outside the repository (under XDG_CACHE_HOME), kept
# between runs: dusk-core and its cryptography take minutes to compile cold.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WS="$ROOT/contracts/dusk"
OUT="$ROOT/contracts/build/dusk"
TARGET=wasm32-unknown-unknown
SCRIPT=build_dusk_wasm
USAGE_LINES=2,9
# shellcheck source=scripts/_rust_wasm_toolchain.sh
source "$ROOT/scripts/_rust_wasm_toolchain.sh"

if ((CLEAN)); then
  TARGET_BASE="$TMP/target"
else
  TARGET_BASE="${XDG_CACHE_HOME:-$HOME/.cache}/piecrust-deno/dusk-target"
fi
DEST="$OUT"
((CHECK)) && DEST="$TMP/out"
mkdir -p "$DEST"

# build PACKAGE KIND BUILD_STD RUSTFLAGS-TOML
build() {
  local package="$1" kind="$2" std="$3" flags="$4"
  local args=(
    build --release -p "$package"
    --manifest-path "$WS/Cargo.toml"
    --target-dir "$TARGET_BASE-$kind"
    --target "$TARGET"
    "-Zbuild-std=$std"
    -Ztrim-paths --config 'profile.release.trim-paths="all"'
    --config "target.$TARGET.rustflags=$flags"
  )
  [[ "$std" == *alloc* ]] && args+=(-Zbuild-std-features=compiler-builtins-mem)
  ((CHECK)) && args+=(--locked) # CI: Cargo.lock must be committed and current
  if ! (cd "$WS" && cargo "${args[@]}"); then
    die "cargo build failed; command (run in $WS): RUSTC=$RUSTC_BIN RUSTC_BOOTSTRAP=1 cargo ${args[*]@Q}"
  fi
  local built="$TARGET_BASE-$kind/$TARGET/release/$package.wasm"
  [[ -f "$built" ]] || die "cargo did not produce $built"
  install -m 0644 "$built" "$DEST/$package.wasm"
}

echo "build_dusk_wasm: $RUSTC_VERSION; $(cargo --version); target: $TARGET" >&2
# The contract's link flags of contracts/rust/.cargo/config.toml (the imports file is
# relative to the workspace root, the linker's working directory).
build stake_mirror contract core,alloc,panic_abort \
  '["-C", "link-arg=--export=A", "-C", "link-arg=--strip-all", "-C", "link-arg=-zstack-size=65536", "-C", "link-arg=--allow-undefined-file=piecrust-imports.txt"]'
build stake_dd driver std,panic_abort '["-C", "link-arg=--strip-all"]'
PRODUCED=(stake_mirror.wasm stake_dd.wasm)

if ((!CHECK)); then
  for f in "${PRODUCED[@]}"; do
    printf '  contracts/build/dusk/%-20s %7d B\n' "$f" "$(stat -c %s "$OUT/$f")" >&2
  done
  # The package ships the builds inside src/testing/_bundled.ts.
  npx --yes deno@2.9.6 run --allow-read --allow-write "$ROOT/scripts/bundle_contracts.ts"
  exit 0
fi

# --- check -----------------------------------------------------------------------------
COMMITTED_VERSION="$(cat "$ROOT/contracts/build/TOOLCHAIN" 2>/dev/null || true)"
BAD=()
for f in "${PRODUCED[@]}"; do
  if [[ ! -f "$OUT/$f" ]]; then
    BAD+=("missing: contracts/build/dusk/$f")
  elif [[ "$COMMITTED_VERSION" == "$RUSTC_VERSION" ]] && ! cmp -s "$DEST/$f" "$OUT/$f"; then
    BAD+=("stale:   contracts/build/dusk/$f ($(stat -c %s "$OUT/$f") B committed, $(stat -c %s "$DEST/$f") B built)")
  fi
done
if ((${#BAD[@]})); then
  echo "build_dusk_wasm: contracts/build/dusk is out of date:" >&2
  printf '  %s\n' "${BAD[@]}" >&2
  echo "build_dusk_wasm: run scripts/build_dusk_wasm.sh and commit contracts/build/dusk/" >&2
  exit 1
fi
echo "build_dusk_wasm: contracts/build/dusk is up to date (${#PRODUCED[@]} files)" >&2
