//! `debugger`: sends a debug message to the host (reference: piecrust
//! `contracts/debugger`). Imports `hdebug`, so only a VM with debug support accepts it.
//!
//! | export  | argument | result | notes |
//! |---------|----------|--------|-------|
//! | `debug` | `String` | `()`   | `debug!("What a string! {s}")` → `hdebug` |

#![no_std]

extern crate alloc;

use alloc::string::String;

use piecrust_uplink as uplink;

#[unsafe(no_mangle)]
extern "C" fn debug(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |s: String| {
        uplink::debug!("What a string! {}", s);
    })
}
