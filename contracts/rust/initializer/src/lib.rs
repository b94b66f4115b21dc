//! `initializer`: a `u8` set by `init` at deploy time (reference: piecrust
//! `contracts/initializer`).
//!
//! | export       | argument | result | notes |
//! |--------------|----------|--------|-------|
//! | `init`       | `u8`     | `()`   | stores the argument (the VM runs it only during deploy) |
//! | `read_value` | `()`     | `u8`   | initially 0x50 if `init` never ran |
//! | `increment`  | `()`     | `()`   | wrapping add 1 |

#![no_std]

use piecrust_uplink as uplink;

struct Initializer {
    value: u8,
}

static mut STATE: Initializer = Initializer { value: 0x50 };

fn state() -> &'static mut Initializer {
    // SAFETY: contracts are single-threaded and no two references are alive at once.
    unsafe { &mut *(&raw mut STATE) }
}

#[unsafe(no_mangle)]
extern "C" fn init(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |value: u8| state().value = value)
}

#[unsafe(no_mangle)]
extern "C" fn read_value(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| state().value)
}

#[unsafe(no_mangle)]
extern "C" fn increment(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| {
        let s = state();
        s.value = s.value.wrapping_add(1);
    })
}
