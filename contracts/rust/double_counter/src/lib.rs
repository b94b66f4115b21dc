//! `double_counter`: two `i64` counters, left starting at 0xfc and right at 0xcf
//! (reference: piecrust `contracts/double_counter`; the migration target of the
//! `persistence::migration` test).
//!
//! | export                    | argument     | result                     | notes |
//! |---------------------------|--------------|----------------------------|-------|
//! | `read_values`             | `()`         | `(i64, i64)`               | (left, right), 16 bytes |
//! | `increment_left`          | `()`         | `()`                       | |
//! | `increment_right`         | `()`         | `()`                       | |
//! | `increment_left_and_call` | `ContractId` | `Result<(), ContractError>` | increments left, then calls `hello(())` on the given contract and returns the outcome (`Err(DoesNotExist)` for an unknown id) |

#![no_std]

use piecrust_uplink as uplink;
use uplink::{ContractError, ContractId};

struct DoubleCounter {
    left: i64,
    right: i64,
}

static mut STATE: DoubleCounter = DoubleCounter {
    left: 0xfc,
    right: 0xcf,
};

fn state() -> &'static mut DoubleCounter {
    // SAFETY: contracts are single-threaded and no two references are alive at once.
    unsafe { &mut *(&raw mut STATE) }
}

#[unsafe(no_mangle)]
extern "C" fn read_values(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| {
        let s = state();
        (s.left, s.right)
    })
}

#[unsafe(no_mangle)]
extern "C" fn increment_left(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| {
        let s = state();
        s.left = s.left.wrapping_add(1);
    })
}

#[unsafe(no_mangle)]
extern "C" fn increment_right(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| {
        let s = state();
        s.right = s.right.wrapping_add(1);
    })
}

#[unsafe(no_mangle)]
extern "C" fn increment_left_and_call(arg_len: u32) -> u32 {
    uplink::wrap_call(
        arg_len,
        |contract: ContractId| -> Result<(), ContractError> {
            let s = state();
            s.left = s.left.wrapping_add(1);
            uplink::call::<_, ()>(contract, "hello", &())
        },
    )
}
