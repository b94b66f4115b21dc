//! `spender`: gas limit / spent reporting (reference: piecrust `contracts/spender`).
//!
//! | export                | argument | result                      | notes |
//! |-----------------------|----------|-----------------------------|-------|
//! | `get_limit_and_spent` | `()`     | `(u64, u64, u64, u64, u64)` | root call: (limit, spent before, spent after, callee limit, callee spent before) around an ICC to itself; nested call: (limit, spent, 0, 0, 0) |
//! | `spend`               | `()`     | `()`                        | panics "I like spending" (the caller is charged the whole limit it gave) |

#![no_std]

use piecrust_uplink as uplink;

#[unsafe(no_mangle)]
extern "C" fn get_limit_and_spent(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| -> (u64, u64, u64, u64, u64) {
        let self_id = uplink::self_id();
        let limit = uplink::limit();
        let spent_before = uplink::spent();

        match uplink::caller() {
            None => {
                let (called_limit, called_spent, _, _, _): (u64, u64, u64, u64, u64) =
                    uplink::call(self_id, "get_limit_and_spent", &())
                        .expect("Self query should succeed");
                let spent_after = uplink::spent();
                (limit, spent_before, spent_after, called_limit, called_spent)
            }
            Some(_) => (limit, spent_before, 0, 0, 0),
        }
    })
}

#[unsafe(no_mangle)]
extern "C" fn spend(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| -> () { panic!("I like spending") })
}
