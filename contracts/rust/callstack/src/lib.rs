//! `callstack`: returns the call stack (reference: piecrust `contracts/callstack`).
//!
//! | export             | argument | result            | notes |
//! |--------------------|----------|-------------------|-------|
//! | `return_callstack` | `()`     | `Vec<ContractId>` | `callstack()`: callers only, immediate caller first |

#![no_std]

use piecrust_uplink as uplink;

#[unsafe(no_mangle)]
extern "C" fn return_callstack(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| uplink::callstack())
}
