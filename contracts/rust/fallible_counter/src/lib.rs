//! `fallible_counter`: an `i64` counter starting at 0xfc whose increment can panic
//! (reference: piecrust `contracts/fallible_counter`).
//!
//! | export       | argument | result | notes                                               |
//! |--------------|----------|--------|-----------------------------------------------------|
//! | `read_value` | `()`     | `i64`  |                                                     |
//! | `increment`  | `bool`   | `()`   | adds 1, then panics with "Incremental panic" if true |

#![no_std]

use piecrust_uplink as uplink;

struct FallibleCounter {
    value: i64,
}

static mut STATE: FallibleCounter = FallibleCounter { value: 0xfc };

fn state() -> &'static mut FallibleCounter {
    // SAFETY: contracts are single-threaded and no two references are alive at once.
    unsafe { &mut *(&raw mut STATE) }
}

#[unsafe(no_mangle)]
extern "C" fn read_value(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| state().value)
}

#[unsafe(no_mangle)]
extern "C" fn increment(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |panic: bool| {
        let s = state();
        s.value = s.value.wrapping_add(1);
        if panic {
            panic!("Incremental panic");
        }
    })
}
