//! BLAKE3 for the JS side of src/merkle: one 64 KiB input buffer and one 32-byte output
//! buffer in linear memory, so a call passes only a length and never allocates.
//!
//! Exports: `input_ptr()` and `output_ptr()` (buffer addresses), `hash(len)` (one-shot hash of
//! `input[..len]` into `output`), and `update(len)` / `finalize()` for longer data fed
//! through the input buffer in pieces.
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
