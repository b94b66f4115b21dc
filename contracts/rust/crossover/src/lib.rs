//! `crossover`: two instances call each other and one panics, to check that the panicking
//! side's writes (its own and the ones it made in its caller) are rolled back while the
//! caller's own writes survive (reference: piecrust `contracts/crossover`).
//!
//! | export                             | argument                        | result | notes |
//! |------------------------------------|---------------------------------|--------|-------|
//! | `crossover`                        | `()`                            | `i32`  | the stored value (initially 0) |
//! | `set_crossover`                    | `i32`                           | `i32`  | stores the value, returns the old one |
//! | `set_back_and_panic`               | `(i32, i32)`                    | `()`   | (forward, back): stores `forward`, ICC `set_crossover(back)` on its caller, then panics "OH NOES" |
//! | `check_consistent_state_on_errors` | `(ContractId, i32, i32, i32)`   | `()`   | (other, value, forward, back): ICC `set_back_and_panic(forward, back)` on `other` (must fail), asserts both values are still 0, then stores `value` |

#![no_std]

use piecrust_uplink as uplink;
use uplink::ContractId;

const INITIAL_VALUE: i32 = 0;

struct Crossover {
    value: i32,
}

static mut STATE: Crossover = Crossover {
    value: INITIAL_VALUE,
};

fn state() -> &'static mut Crossover {
    // SAFETY: contracts are single-threaded; no reference is held across an ICC.
    unsafe { &mut *(&raw mut STATE) }
}

fn set_value(to: i32) -> i32 {
    let s = state();
    let old = s.value;
    uplink::debug!("setting crossover from {old} to {to}");
    s.value = to;
    old
}

#[unsafe(no_mangle)]
extern "C" fn crossover(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| {
        let value = state().value;
        uplink::debug!("returning crossover: {value}");
        value
    })
}

#[unsafe(no_mangle)]
extern "C" fn set_crossover(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |to: i32| set_value(to))
}

#[unsafe(no_mangle)]
extern "C" fn set_back_and_panic(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(forward, back): (i32, i32)| -> () {
        set_value(forward);

        let caller = uplink::caller().expect("Should be called by another contract");
        uplink::debug!("calling back {caller:?}");
        uplink::call::<_, i32>(caller, "set_crossover", &back).unwrap();

        uplink::debug!("panicking after setting the crossover");
        panic!("OH NOES");
    })
}

#[unsafe(no_mangle)]
extern "C" fn check_consistent_state_on_errors(arg_len: u32) -> u32 {
    uplink::wrap_call(
        arg_len,
        |(other, value, forward, back): (ContractId, i32, i32, i32)| {
            uplink::debug!("calling panicking contract {other:?}");
            uplink::call::<_, ()>(other, "set_back_and_panic", &(forward, back))
                .expect_err("should give an error on a panic");

            assert_eq!(
                state().value,
                INITIAL_VALUE,
                "Our value should not be set due to the panicked call"
            );

            uplink::debug!("querying contract {other:?} for their state");
            let theirs: i32 = uplink::call(other, "crossover", &()).unwrap();
            assert_eq!(
                theirs, INITIAL_VALUE,
                "The other contract's value should also not be set due to their panic"
            );

            set_value(value);
        },
    )
}
