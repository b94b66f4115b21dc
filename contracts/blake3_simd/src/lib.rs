//! BLAKE3 for the JS side of src/merkle: one 64 KiB input buffer and one 32-byte output
//! buffer in linear memory, so a call passes only a length and never allocates.
//!
//! Exports: `input_ptr()` and `output_ptr()` (buffer addresses), `hash(len)` (one-shot hash of
//! `input[..len]` into `output`), and `update(len)` / `finalize()` for longer data fed
//! through the input buffer in pieces; `subtree(len, offset)` and `merge(count)` for hashes rebuilt
//! from the chaining values of their parts.
#![no_std]

const INPUT_LEN: usize = 65536;

static mut INPUT: [u8; INPUT_LEN] = [0; INPUT_LEN];
static mut OUTPUT: [u8; blake3::OUT_LEN] = [0; blake3::OUT_LEN];
static mut HASHER: Option<blake3::Hasher> = None;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// The first `len` bytes of the input buffer; traps rather than read past it.
fn input(len: usize) -> &'static [u8] {
    // SAFETY: wasm instances are single-threaded and nothing holds another reference.
    let buffer: &'static [u8; INPUT_LEN] = unsafe { &*(&raw const INPUT) };
    &buffer[..len]
}

fn set_output(hash: blake3::Hash) {
    // SAFETY: as above.
    unsafe { *(&raw mut OUTPUT) = *hash.as_bytes() }
}

/// Address of the 64 KiB input buffer.
#[unsafe(no_mangle)]
pub extern "C" fn input_ptr() -> *mut u8 {
    (&raw mut INPUT).cast()
}

/// Address of the 32-byte output buffer.
#[unsafe(no_mangle)]
pub extern "C" fn output_ptr() -> *const u8 {
    (&raw const OUTPUT).cast()
}

/// Hashes the first `len` bytes of the input buffer into the output buffer.
#[unsafe(no_mangle)]
pub extern "C" fn hash(len: usize) {
    set_output(blake3::hash(input(len)));
}

/// Appends the first `len` bytes of the input buffer to the running hash.
#[unsafe(no_mangle)]
pub extern "C" fn update(len: usize) {
    // SAFETY: as above.
    let hasher = unsafe { &mut *(&raw mut HASHER) };
    hasher.get_or_insert_with(blake3::Hasher::new).update(input(len));
}

/// Writes the running hash to the output buffer and starts a new one.
#[unsafe(no_mangle)]
pub extern "C" fn finalize() {
    // SAFETY: as above.
    let hasher = unsafe { &mut *(&raw mut HASHER) };
    set_output(hasher.take().unwrap_or_default().finalize());
}

/// Writes the chaining value of `input[..len]` as the subtree that starts at byte `offset`
/// of a longer input (a multiple of `len`, itself a power of two of at least 1 KiB), into the
/// output buffer: a page's hash can then be rebuilt from its parts with `merge`.
#[unsafe(no_mangle)]
pub extern "C" fn subtree(len: usize, offset: u32) {
    use blake3::hazmat::HasherExt;
    let mut hasher = blake3::Hasher::new();
    hasher.set_input_offset(u64::from(offset));
    hasher.update(input(len));
    // SAFETY: as in `set_output`.
    unsafe { *(&raw mut OUTPUT) = hasher.finalize_non_root() }
}

/// Hashes an input from the chaining values of its `count` equal subtrees, left to right, in
/// `input[..32 * count]` (`count` a power of two, at least 2): merges them pair by pair, level by
/// level, and writes the root's hash into the output buffer. Traps on any other `count`.
#[unsafe(no_mangle)]
pub extern "C" fn merge(count: usize) {
    use blake3::hazmat::{Mode, merge_subtrees_non_root, merge_subtrees_root};
    if count < 2 || !count.is_power_of_two() || count * 32 > INPUT_LEN {
        core::arch::wasm32::unreachable()
    }
    // SAFETY: as in `input`.
    let cvs: &mut [u8; INPUT_LEN] = unsafe { &mut *(&raw mut INPUT) };
    let cv = |cvs: &[u8; INPUT_LEN], i: usize| -> [u8; 32] {
        let mut value = [0; 32];
        value.copy_from_slice(&cvs[32 * i..32 * (i + 1)]);
        value
    };
    let mut level = count;
    while level > 2 {
        for i in 0..level / 2 {
            let parent = merge_subtrees_non_root(&cv(cvs, 2 * i), &cv(cvs, 2 * i + 1), Mode::Hash);
            cvs[32 * i..32 * (i + 1)].copy_from_slice(&parent);
        }
        level /= 2;
    }
    set_output(merge_subtrees_root(&cv(cvs, 0), &cv(cvs, 1), Mode::Hash));
}
