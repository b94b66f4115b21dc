//! `feeder`: streams numbers to the host through `feed` (reference: piecrust
//! `contracts/feeder`). Only works inside a feeder call.
//!
//! | export         | argument | result | notes |
//! |----------------|----------|--------|-------|
//! | `feed_num`     | `u32` n  | `()`   | feeds rkyv `u32` i (4 LE bytes) for i in 0..n |
//! | `feed_num_raw` | `u32` n  | `()`   | the same through `feed_raw(i.to_le_bytes())` |

#![no_std]

use piecrust_uplink as uplink;

#[unsafe(no_mangle)]
extern "C" fn feed_num(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |n: u32| {
        for i in 0..n {
            uplink::feed(i);
        }
    })
}

#[unsafe(no_mangle)]
extern "C" fn feed_num_raw(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |n: u32| {
        for i in 0..n {
            uplink::feed_raw(i.to_le_bytes());
        }
    })
}
