//! `c_example`: a wasm64 (memory64) contract using the raw ABI, standing in for the
//! reference's `c-example` (which is built with Dusk's `duskc` toolchain; this one is
//! `no_std` Rust, wasm64 only: see `[package.metadata.piecrust]` in Cargo.toml).
//!
//! No SDK: its own argument buffer `A: [u8; 65536]` (exported as an `i64` global) and its
//! own `env` imports, whose pointer parameters are `i64` in a wasm64 module.
//!
//! | export               | argument               | result           | notes |
//! |----------------------|------------------------|------------------|-------|
//! | `increment_and_read` | `ContractId` (counter) | `i64` (8 bytes)  | raw `c(id, "increment", 0 arg bytes, gas 0)`, then raw `c(id, "read_value", …)`; returns the counter's 8 result bytes from `A` |
//! | `out_of_bounds`      | ignored                | none             | `hd(2^42 - 1, 2)`: a name pointer past the 4 TiB wasm64 mapping, which the host must reject (the call errors) |
//! | `not_out_of_bounds`  | ignored                | none             | `hd(0xFFFF_FFFF, 2)`: a pointer inside the mapping, which the host must accept (returns 0 for the absent name) |

#![no_std]
// `core::arch::wasm64` is still unstable (rust-lang/rust#90599); RUSTC_BOOTSTRAP permits it.
#![cfg_attr(target_arch = "wasm64", feature(simd_wasm64))]

use core::ptr;

/// The argument buffer, like the reference C example's `uint8_t A[65536]`.
#[unsafe(no_mangle)]
static mut A: [u8; 65536] = [0; 65536];

mod ext {
    #[link(wasm_import_module = "env")]
    unsafe extern "C" {
        pub fn c(
            contract_id: *const u8,
            fn_name: *const u8,
            fn_name_len: u32,
            fn_arg_len: u32,
            gas_limit: u64,
        ) -> i32;
        pub fn hd(name: *const u8, name_len: u32) -> u32;
    }
}

fn arg_buf() -> *mut u8 {
    (&raw mut A).cast()
}

/// Calls `fn_name` on `contract` with an empty argument and the default gas limit.
fn call(contract: &[u8; 32], fn_name: &[u8]) -> i32 {
    // SAFETY: both pointers point to live memory of the stated lengths.
    unsafe {
        ext::c(
            contract.as_ptr(),
            fn_name.as_ptr(),
            fn_name.len() as u32,
            0,
            0,
        )
    }
}

#[unsafe(no_mangle)]
extern "C" fn increment_and_read(_arg_len: u32) -> u32 {
    let mut counter = [0u8; 32];
    // SAFETY: `A` is 65536 bytes long and does not overlap `counter`.
    unsafe { ptr::copy_nonoverlapping(arg_buf(), counter.as_mut_ptr(), 32) };

    call(&counter, b"increment");
    call(&counter, b"read_value");

    // The host copied the callee's 8 result bytes (an `i64`) to `A[0..8]`.
    8
}

/// 2^42 - 1: beyond the 4 TiB (2^42 bytes) that a wasm64 memory may map.
const OUT_OF_BOUNDS: u64 = (1 << 42) - 1;

#[unsafe(no_mangle)]
extern "C" fn out_of_bounds(_arg_len: u32) -> u32 {
    // SAFETY: the host checks the pointer; the call is expected to fail.
    unsafe { ext::hd(OUT_OF_BOUNDS as usize as *const u8, 2) };
    0
}

#[unsafe(no_mangle)]
extern "C" fn not_out_of_bounds(_arg_len: u32) -> u32 {
    // SAFETY: the host checks the pointer; this one is inside the mapping.
    unsafe { ext::hd(0xFFFF_FFFFusize as *const u8, 2) };
    0
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    #[cfg(target_arch = "wasm64")]
    core::arch::wasm64::unreachable();
    #[cfg(not(target_arch = "wasm64"))]
    loop {}
}
