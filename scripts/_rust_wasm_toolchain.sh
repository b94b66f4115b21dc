# Sourced by build_contracts.sh and build_blake3_wasm.sh: the options both take,
# the checks that Debian's Rust wasm toolchain is installed, and a clean,
# reproducible build environment. The caller sets SCRIPT (its name for
# messages) and USAGE_LINES (the sed range of its header that documents usage).
#
# Toolchain: Debian's rustc-web (1.96+) as
# RUSTC, its library sources from rust-web-src for -Zbuild-std, wasm-ld-22 from
# lld-22 as the linker, and any recent cargo (rustup's stable cargo works).

RUSTC_BIN=/usr/bin/rustc
LINKER=wasm-ld-22
APT_HINT="apt-get install -y --no-install-recommends rustc-web rust-web-src lld-22"

usage() {
  sed -n "${USAGE_LINES}p" "$0" | sed 's/^# \{0,1\}//'
}

die() {
  echo "$SCRIPT: error: $*" >&2
  exit 2
}

missing_pkg() {
  echo "$SCRIPT: error: $1" >&2
  echo "$SCRIPT: install the Rust wasm toolchain with:" >&2
  echo "    $APT_HINT" >&2
  exit 2
}

CHECK=0
CLEAN=0
for arg in "$@"; do
  case "$arg" in
    --check) CHECK=1 ;;
    --clean) CLEAN=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $arg" ;;
  esac
done

[[ -x "$RUSTC_BIN" ]] ||
  missing_pkg "$RUSTC_BIN not found (package rustc-web: Debian's Rust 1.96+ compiler)"
RUSTC_VERSION="$("$RUSTC_BIN" --version)" || missing_pkg "'$RUSTC_BIN --version' failed"
if ! "$RUSTC_BIN" --print target-list | grep -qx 'wasm64-unknown-unknown'; then
  missing_pkg "$RUSTC_BIN ($RUSTC_VERSION) does not know wasm64-unknown-unknown; it is not rustc-web (Debian's old 'rustc' 1.63 conflicts with rustc-web)"
fi
SYSROOT="$("$RUSTC_BIN" --print sysroot)"
[[ -f "$SYSROOT/lib/rustlib/src/rust/library/Cargo.lock" ]] ||
  missing_pkg "standard library sources not found at $SYSROOT/lib/rustlib/src/rust/library (package rust-web-src, needed for -Zbuild-std)"
command -v "$LINKER" >/dev/null 2>&1 ||
  missing_pkg "$LINKER not found on PATH (package lld-22, the wasm linker)"
command -v cargo >/dev/null 2>&1 ||
  die "cargo not found on PATH (install rustup's stable toolchain, or: apt-get install -y --no-install-recommends cargo-web)"

# Environment that would change the bytes or drop the flags in .cargo/config.toml.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS RUSTC_WRAPPER \
  RUSTC_WORKSPACE_WRAPPER CARGO_BUILD_RUSTC_WRAPPER CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS CARGO_TARGET_WASM64_UNKNOWN_UNKNOWN_RUSTFLAGS \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER CARGO_TARGET_WASM64_UNKNOWN_UNKNOWN_LINKER \
  CARGO_PROFILE_RELEASE_OPT_LEVEL CARGO_PROFILE_RELEASE_LTO CARGO_PROFILE_RELEASE_DEBUG \
  CARGO_PROFILE_RELEASE_CODEGEN_UNITS CARGO_PROFILE_RELEASE_PANIC CARGO_PROFILE_RELEASE_STRIP \
  CARGO_INCREMENTAL
export RUSTC="$RUSTC_BIN" RUSTC_BOOTSTRAP=1

TMP="$(mktemp -d "${TMPDIR:-/tmp}/$SCRIPT.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
