//! `host`: calls host queries (reference: piecrust `contracts/host`).
//!
//! The reference contract also has `host_verify((Proof, Vec<BlsScalar>)) -> String`
//! (PLONK proof verification through the "verify_proof" query). It is left out: it needs
//! `dusk-plonk` in the contract and in the test. The rest is kept, plus two generic
//! helpers so that tests of host-query panics can use any query name, directly or
//! through an inter-contract call.
//!
//! | export                | argument                         | result                           | notes |
//! |-----------------------|----------------------------------|----------------------------------|-------|
//! | `host_hash`           | `Vec<u8>`                        | `[u8; 32]`                       | query "hash" with the rkyv `Vec<u8>`; the result must be a 32-byte archive |
//! | `host_very_expensive` | `()`                             | `()`                             | query "very_expensive" with `()` (0 bytes); the test prices it at u64::MAX |
//! | `host_get_counter`    | `()`                             | `i64`                            | query "get_counter" with `()` (older reference tests) |
//! | `host_query_raw`      | `(String, Vec<u8>)`              | `Vec<u8>`                        | query `name` with the raw argument bytes; returns the raw result bytes |
//! | `delegate_query`      | `(ContractId, String, Vec<u8>)`  | `Result<Vec<u8>, ContractError>` | raw ICC, as in callcenter (e.g. into another `host`'s `host_hash`) |

#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

use piecrust_uplink as uplink;
use uplink::{ContractError, ContractId};

mod ext {
    #[link(wasm_import_module = "env")]
    unsafe extern "C" {
        pub fn hq(name: *const u8, name_len: u32, arg_len: u32) -> u32;
    }
}

#[unsafe(no_mangle)]
extern "C" fn host_hash(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |bytes: Vec<u8>| -> [u8; 32] {
        uplink::host_query("hash", bytes)
    })
}

#[unsafe(no_mangle)]
extern "C" fn host_very_expensive(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| {
        uplink::host_query::<_, ()>("very_expensive", ())
    })
}

#[unsafe(no_mangle)]
extern "C" fn host_get_counter(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| -> i64 {
        uplink::host_query("get_counter", ())
    })
}

#[unsafe(no_mangle)]
extern "C" fn host_query_raw(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(name, arg): (String, Vec<u8>)| -> Vec<u8> {
        let ret_len = uplink::arg_buf::with_arg_buf(|buf| {
            buf[..arg.len()].copy_from_slice(&arg);
            // SAFETY: the host reads the name and A[..arg_len], writes the result to A.
            unsafe { ext::hq(name.as_ptr(), name.len() as u32, arg.len() as u32) }
        });
        uplink::arg_buf::with_arg_buf(|buf| buf[..ret_len as usize].to_vec())
    })
}

#[unsafe(no_mangle)]
extern "C" fn delegate_query(arg_len: u32) -> u32 {
    uplink::wrap_call(
        arg_len,
        |(contract, fn_name, fn_arg): (ContractId, String, Vec<u8>)| {
            let result: Result<Vec<u8>, ContractError> =
                uplink::call_raw(contract, &fn_name, &fn_arg);
            result
        },
    )
}
