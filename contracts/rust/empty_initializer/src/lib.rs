//! `empty_initializer`: `init` takes no argument and sets 0x10 (reference: piecrust
//! `contracts/empty_initializer`).
//!
//! | export       | argument | result | notes |
//! |--------------|----------|--------|-------|
//! | `init`       | `()`     | `()`   | sets 0x10 (deploy runs it with an empty argument) |
//! | `read_value` | `()`     | `u8`   | initially 0x00 if `init` never ran |
//! | `increment`  | `()`     | `()`   | wrapping add 1 |

#![no_std]

use piecrust_uplink as uplink;

struct EmptyInitializer {
    value: u8,
}

static mut STATE: EmptyInitializer = EmptyInitializer { value: 0x00 };

fn state() -> &'static mut EmptyInitializer {
    // SAFETY: contracts are single-threaded and no two references are alive at once.
    unsafe { &mut *(&raw mut STATE) }
}

#[unsafe(no_mangle)]
extern "C" fn init(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| state().value = 0x10)
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
