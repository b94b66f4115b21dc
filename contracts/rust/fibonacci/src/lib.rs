//! `fibonacci`: naive recursive Fibonacci (reference: piecrust `contracts/fibonacci`).
//!
//! | export | argument | result | notes |
//! |--------|----------|--------|-------|
//! | `nth`  | `u32` n  | `u64`  | nth(0) = nth(1) = 1, nth(n) = nth(n-1) + nth(n-2) (wrapping) |

#![no_std]

use piecrust_uplink as uplink;

fn fib(n: u32) -> u64 {
    match n {
        0 | 1 => 1,
        n => fib(n - 1).wrapping_add(fib(n - 2)),
    }
}

#[unsafe(no_mangle)]
extern "C" fn nth(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, fib)
}
