//! `vector`: a `Vec<i16>` (reference: piecrust `contracts/vector`).
//!
//! | export | argument | result        | notes |
//! |--------|----------|---------------|-------|
//! | `push` | `i16`    | `()`          | |
//! | `pop`  | `()`     | `Option<i16>` | 4 bytes |

#![no_std]

extern crate alloc;

use alloc::vec::Vec;

use piecrust_uplink as uplink;

static mut STATE: Vec<i16> = Vec::new();

fn state() -> &'static mut Vec<i16> {
    // SAFETY: contracts are single-threaded and no two references are alive at once.
    unsafe { &mut *(&raw mut STATE) }
}

#[unsafe(no_mangle)]
extern "C" fn push(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |x: i16| state().push(x))
}

#[unsafe(no_mangle)]
extern "C" fn pop(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| state().pop())
}
