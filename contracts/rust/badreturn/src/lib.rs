//! `badreturn`: misbehaves at the ABI boundary (reference: piecrust
//! `contracts/badreturn`, including the release-branch exports `counter` and
//! `raw_return_len`).
//!
//! | export           | argument            | result              | notes |
//! |------------------|---------------------|---------------------|-------|
//! | `valid_bool`     | `()`                | `bool`              | `true`, through `wrap_call` |
//! | `garbage_value`  | ignored             | 16 raw bytes        | `DE AD BE EF CA FE BA D0 FF FF FF FF 99 99 99 99`: not a valid archive of `bool` |
//! | `counter`        | `()`                | `u32`               | a counter starting at 72 |
//! | `raw_return_len` | 4 raw bytes, `i32` LE | that `i32` as the return length | increments the counter first; lets a test return a negative or > 65536 length |

#![no_std]

use piecrust_uplink as uplink;
use uplink::arg_buf::with_arg_buf;

struct BadReturn {
    counter: u32,
}

static mut STATE: BadReturn = BadReturn { counter: 72 };

fn state() -> &'static mut BadReturn {
    // SAFETY: contracts are single-threaded and no two references are alive at once.
    unsafe { &mut *(&raw mut STATE) }
}

const GARBAGE: [u8; 16] = [
    0xDE, 0xAD, 0xBE, 0xEF, 0xCA, 0xFE, 0xBA, 0xD0, 0xFF, 0xFF, 0xFF, 0xFF, 0x99, 0x99, 0x99, 0x99,
];

#[unsafe(no_mangle)]
extern "C" fn valid_bool(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| true)
}

#[unsafe(no_mangle)]
extern "C" fn garbage_value(_arg_len: u32) -> u32 {
    with_arg_buf(|buf| {
        buf[..GARBAGE.len()].copy_from_slice(&GARBAGE);
        GARBAGE.len() as u32
    })
}

#[unsafe(no_mangle)]
extern "C" fn counter(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| state().counter)
}

#[unsafe(no_mangle)]
extern "C" fn raw_return_len(_arg_len: u32) -> i32 {
    let s = state();
    s.counter = s.counter.wrapping_add(1);
    with_arg_buf(|buf| {
        let mut len = [0u8; 4];
        len.copy_from_slice(&buf[..4]);
        i32::from_le_bytes(len)
    })
}
