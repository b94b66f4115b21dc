//! Counter contract using the piecrust ABI directly (no SDK).
//!
//! - `A`: 64 KiB argument buffer, exported as the immutable global `A`.
//! - `read_value(arg_len) -> 8`: writes the i64 counter as 8 little-endian bytes at `A[0..8]`
//!   (the rkyv 0.7 encoding of an `i64`).
//! - `increment(arg_len) -> 0`: wrapping add 1, returns the empty (`()`) result.
//!
//! The counter starts at 0xfc, like piecrust's own `counter` contract.

#![no_std]
// `core::arch::wasm64` is still unstable (rust-lang/rust#90599); RUSTC_BOOTSTRAP permits it.
#![cfg_attr(target_arch = "wasm64", feature(simd_wasm64))]

/// The argument buffer (`ARGBUF_LEN` = 65536 bytes), as in piecrust-uplink.
#[unsafe(no_mangle)]
static mut A: [u64; 8192] = [0; 8192];

/// Contract state; lives in linear memory and is persisted by the VM.
static mut VALUE: i64 = 0xfc;

#[unsafe(no_mangle)]
unsafe extern "C" fn read_value(_arg_len: u32) -> u32 {
    unsafe {
        let bytes = (*(&raw const VALUE)).to_le_bytes();
        let buf = &raw mut A as *mut u8;
        core::ptr::copy_nonoverlapping(bytes.as_ptr(), buf, bytes.len());
    }
    8
}

#[unsafe(no_mangle)]
unsafe extern "C" fn increment(_arg_len: u32) -> u32 {
    unsafe {
        let v = &raw mut VALUE;
        *v = (*v).wrapping_add(1);
    }
    0
}

/// Any panic traps. (Uplink instead reports the message through `env.panic`.)
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(target_arch = "wasm64")]
    core::arch::wasm64::unreachable();
}
