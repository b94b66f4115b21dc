//! `callcenter`: the inter-contract-call hub of the reference test suite (reference:
//! piecrust `contracts/callcenter`). It has no `init`.
//!
//! | export                      | argument                          | result                              | notes |
//! |-----------------------------|-----------------------------------|-------------------------------------|-------|
//! | `query_counter`             | `ContractId`                      | `i64`                               | ICC `read_value(())`; panics on error |
//! | `increment_counter`         | `ContractId`                      | `()`                                | ICC `increment(())`; panics on error |
//! | `call_init`                 | `ContractId`                      | `()`                                | ICC `init(())`; panics on error (the VM refuses ICCs to `init`) |
//! | `delegate_query`            | `(ContractId, String, Vec<u8>)`   | `Result<Vec<u8>, ContractError>`    | raw ICC (`call_raw`), `debug!` before |
//! | `delegate_query_with_event` | `(ContractId, String, Vec<u8>)`   | `Result<Vec<u8>, ContractError>`    | emits "callcenter-before", raw ICC, emits "callcenter-after" (event data: the callee id) |
//! | `delegate_transaction`      | `(ContractId, String, Vec<u8>)`   | `Vec<u8>`                           | raw ICC; panics on error |
//! | `query_passthrough`         | `(String, Vec<u8>)`               | `(String, Vec<u8>)`                 | echo, `debug!` |
//! | `calling_self`              | `ContractId`                      | `bool`                              | `self_id() == arg` |
//! | `call_self`                 | `()`                              | `Result<bool, ContractError>`       | root call: ICC to itself; nested: `caller() == self_id()` |
//! | `call_self_n_times`         | `u32`                             | `Vec<ContractId>`                   | recurses n times through ICCs, returns the innermost `callstack()` |
//! | `call_spend_with_limit`     | `(ContractId, u64)`               | `Result<(), ContractError>`         | ICC `spend(())` with an explicit gas limit, `debug!` of the result |
//! | `return_self_id`            | `()`                              | `ContractId`                        | |
//! | `return_caller`             | `()`                              | `Option<ContractId>`                | |
//! | `return_callstack`          | `()`                              | `Vec<ContractId>`                   | |
//! | `panik`                     | `()`                              | `()`                                | panics with "panik" |
//! | `try_query_bool`            | `(ContractId, String)`            | `Result<bool, ContractError>`       | typed ICC `fn(())` expecting a `bool`; an invalid return archive becomes `Err(Panic("Callee return value failed validation: …"))` |

#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

use piecrust_uplink as uplink;
use uplink::{ContractError, ContractId};

#[unsafe(no_mangle)]
extern "C" fn query_counter(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |counter: ContractId| -> i64 {
        uplink::call(counter, "read_value", &()).unwrap()
    })
}

#[unsafe(no_mangle)]
extern "C" fn increment_counter(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |counter: ContractId| {
        uplink::call::<_, ()>(counter, "increment", &()).unwrap()
    })
}

#[unsafe(no_mangle)]
extern "C" fn call_init(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |contract: ContractId| {
        uplink::call::<_, ()>(contract, "init", &()).unwrap()
    })
}

#[unsafe(no_mangle)]
extern "C" fn delegate_query(arg_len: u32) -> u32 {
    uplink::wrap_call(
        arg_len,
        |(contract, fn_name, fn_arg): (ContractId, String, Vec<u8>)| {
            uplink::debug!("raw query {fn_name} at {contract:?}");
            uplink::call_raw(contract, &fn_name, &fn_arg)
        },
    )
}

#[unsafe(no_mangle)]
extern "C" fn delegate_query_with_event(arg_len: u32) -> u32 {
    uplink::wrap_call(
        arg_len,
        |(contract, fn_name, fn_arg): (ContractId, String, Vec<u8>)| {
            uplink::emit("callcenter-before", contract);
            let result = uplink::call_raw(contract, &fn_name, &fn_arg);
            uplink::emit("callcenter-after", contract);
            result
        },
    )
}

#[unsafe(no_mangle)]
extern "C" fn delegate_transaction(arg_len: u32) -> u32 {
    uplink::wrap_call(
        arg_len,
        |(contract, fn_name, fn_arg): (ContractId, String, Vec<u8>)| {
            uplink::call_raw(contract, &fn_name, &fn_arg).unwrap()
        },
    )
}

#[unsafe(no_mangle)]
extern "C" fn query_passthrough(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(fn_name, fn_arg): (String, Vec<u8>)| {
        uplink::debug!("q passthrough {fn_name}");
        (fn_name, fn_arg)
    })
}

#[unsafe(no_mangle)]
extern "C" fn calling_self(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |id: ContractId| uplink::self_id() == id)
}

#[unsafe(no_mangle)]
extern "C" fn call_self(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| -> Result<bool, ContractError> {
        let self_id = uplink::self_id();
        match uplink::caller() {
            None => uplink::call(self_id, "call_self", &()).expect("querying self should succeed"),
            Some(caller) => Ok(caller == self_id),
        }
    })
}

#[unsafe(no_mangle)]
extern "C" fn call_self_n_times(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |n: u32| -> Vec<ContractId> {
        if n == 0 {
            uplink::callstack()
        } else {
            uplink::call(uplink::self_id(), "call_self_n_times", &(n - 1))
                .expect("calling self should succeed")
        }
    })
}

#[unsafe(no_mangle)]
extern "C" fn call_spend_with_limit(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(contract, gas_limit): (ContractId, u64)| {
        let result = uplink::call_with_limit::<_, ()>(contract, "spend", &(), gas_limit);
        uplink::debug!("spend call: {result:?}");
        result
    })
}

#[unsafe(no_mangle)]
extern "C" fn return_self_id(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| uplink::self_id())
}

#[unsafe(no_mangle)]
extern "C" fn return_caller(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| uplink::caller())
}

#[unsafe(no_mangle)]
extern "C" fn return_callstack(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| uplink::callstack())
}

#[unsafe(no_mangle)]
extern "C" fn panik(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| -> () { panic!("panik") })
}

#[unsafe(no_mangle)]
extern "C" fn try_query_bool(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(contract, fn_name): (ContractId, String)| {
        uplink::call::<_, bool>(contract, &fn_name, &())
    })
}
