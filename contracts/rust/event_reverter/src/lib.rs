//! `event_reverter`: lets an eventer emit and mutate, then panics, so that the eventer's
//! event is reverted (reference: piecrust `contracts/event_reverter`).
//!
//! | export            | argument               | result | notes |
//! |-------------------|------------------------|--------|-------|
//! | `emit_then_panic` | `ContractId` (eventer) | `()`   | ICC `emit_and_mutate(42u32)`, then panics "event reverter panic" (or "eventer call should succeed" if the ICC failed) |

#![no_std]

use piecrust_uplink as uplink;
use uplink::ContractId;

const EVENT_VALUE: u32 = 42;

#[unsafe(no_mangle)]
extern "C" fn emit_then_panic(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |eventer: ContractId| -> () {
        if uplink::call::<_, ()>(eventer, "emit_and_mutate", &EVENT_VALUE).is_err() {
            panic!("eventer call should succeed");
        }
        panic!("event reverter panic");
    })
}
