//! `counter_float`: an `f64` counter starting at 252.0 (reference: piecrust
//! `contracts/counter_float`).
//!
//! | export       | argument | result | notes                       |
//! |--------------|----------|--------|-----------------------------|
//! | `read_value` | `()`     | `f64`  | 8 little-endian bytes       |
//! | `increment`  | `()`     | `()`   | adds 1.0                    |

#![no_std]

use piecrust_uplink as uplink;

struct Counter {
    value: f64,
}

static mut STATE: Counter = Counter { value: 252.0 };

fn state() -> &'static mut Counter {
    // SAFETY: contracts are single-threaded and no two references are alive at once.
    unsafe { &mut *(&raw mut STATE) }
}

#[unsafe(no_mangle)]
extern "C" fn read_value(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| state().value)
}

#[unsafe(no_mangle)]
extern "C" fn increment(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| state().value += 1.0)
}
