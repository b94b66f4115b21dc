//! `box`: an optional heap-allocated `i16` (reference: piecrust `contracts/box`).
//!
//! | export | argument | result        | notes                                      |
//! |--------|----------|---------------|--------------------------------------------|
//! | `set`  | `i16`    | `()`          | allocates the `Box` on first use           |
//! | `get`  | `()`     | `Option<i16>` | `None` until the first `set` (4 bytes)     |

#![no_std]

extern crate alloc;

use alloc::boxed::Box;

use piecrust_uplink as uplink;

struct Boxen {
    a: Option<Box<i16>>,
}

static mut STATE: Boxen = Boxen { a: None };

fn state() -> &'static mut Boxen {
    // SAFETY: contracts are single-threaded and no two references are alive at once.
    unsafe { &mut *(&raw mut STATE) }
}

#[unsafe(no_mangle)]
extern "C" fn set(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |x: i16| {
        let s = state();
        match s.a.as_mut() {
            Some(b) => **b = x,
            None => s.a = Some(Box::new(x)),
        }
    })
}

#[unsafe(no_mangle)]
extern "C" fn get(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| state().a.as_deref().copied())
}
