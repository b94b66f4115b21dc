//! `invalid`: a module the VM must refuse to deploy (reference: piecrust
//! `contracts/invalid`). It is a normal uplink contract module (memory, `A`, panic
//! handler) whose only export `bad_function` has the signature `(i64) -> i64` instead of
//! the required `(i32) -> i32`, so deploy fails with `InvalidFunction("bad_function")`.

#![no_std]

#[allow(unused_imports)]
use piecrust_uplink as uplink;

#[unsafe(no_mangle)]
extern "C" fn bad_function(bad_arg: i64) -> i64 {
    bad_arg
}
