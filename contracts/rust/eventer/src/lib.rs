//! `eventer`: emits events (reference: piecrust `contracts/eventer`).
//!
//! | export            | argument  | result       | notes |
//! |-------------------|-----------|--------------|-------|
//! | `emit_events`     | `u32` n   | `()`         | n events "number" with data = rkyv `u32` i (4 LE bytes), i in 0..n |
//! | `emit_events_raw` | `u32` n   | `()`         | the same through `emit_raw(i.to_le_bytes())` |
//! | `emit_input`      | `Vec<u8>` | `(u64, u64)` | (spent before, spent after) emitting event "input" with the rkyv `Vec<u8>` |
//! | `emit_and_mutate` | `u32`     | `()`         | emits "number" with the value, then stores it |
//! | `read_value`      | `()`      | `u32`        | the stored value (initially 0) |

#![no_std]

extern crate alloc;

use alloc::vec::Vec;

use piecrust_uplink as uplink;

struct Eventer {
    value: u32,
}

static mut STATE: Eventer = Eventer { value: 0 };

fn state() -> &'static mut Eventer {
    // SAFETY: contracts are single-threaded and no two references are alive at once.
    unsafe { &mut *(&raw mut STATE) }
}

#[unsafe(no_mangle)]
extern "C" fn emit_events(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |n: u32| {
        for i in 0..n {
            uplink::emit("number", i);
        }
    })
}

#[unsafe(no_mangle)]
extern "C" fn emit_events_raw(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |n: u32| {
        for i in 0..n {
            uplink::emit_raw("number", i.to_le_bytes());
        }
    })
}

#[unsafe(no_mangle)]
extern "C" fn emit_input(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |input: Vec<u8>| {
        let before = uplink::spent();
        uplink::emit("input", input);
        let after = uplink::spent();
        (before, after)
    })
}

#[unsafe(no_mangle)]
extern "C" fn emit_and_mutate(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |value: u32| {
        uplink::emit("number", value);
        state().value = value;
    })
}

#[unsafe(no_mangle)]
extern "C" fn read_value(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| state().value)
}
