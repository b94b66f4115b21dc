//! `stack`: an `nstack` (dusk-network's arity-4 stack) of `i32` with a cardinality
//! annotation (reference: piecrust `contracts/stack`, also used by the `stack` bench).
//!
//! | export | argument | result        | notes |
//! |--------|----------|---------------|-------|
//! | `push` | `i32`    | `()`          | |
//! | `pop`  | `()`     | `Option<i32>` | 8 bytes |
//! | `len`  | `()`     | `u32`         | number of elements (the cardinality annotation of the root) |

#![no_std]

use nstack::NStack;
use nstack::annotation::Cardinality;
use piecrust_uplink as uplink;
use ranno::Annotation;

static mut STATE: NStack<i32, Cardinality> = NStack::new();

fn state() -> &'static mut NStack<i32, Cardinality> {
    // SAFETY: contracts are single-threaded and no two references are alive at once.
    unsafe { &mut *(&raw mut STATE) }
}

#[unsafe(no_mangle)]
extern "C" fn push(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |elem: i32| state().push(elem))
}

#[unsafe(no_mangle)]
extern "C" fn pop(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| state().pop())
}

#[unsafe(no_mangle)]
extern "C" fn len(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| *Cardinality::from_child(state()) as u32)
}
