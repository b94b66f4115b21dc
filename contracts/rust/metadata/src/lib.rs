//! `metadata`: reads contract metadata (reference: piecrust `contracts/metadata`).
//! The tests deploy it with 33-byte owners.
//!
//! | export                  | argument     | result             | notes |
//! |-------------------------|--------------|--------------------|-------|
//! | `read_owner`            | `()`         | `[u8; 33]`         | `self_owner::<33>()`; panics if the owner is not 33 bytes |
//! | `read_id`               | `()`         | `ContractId`       | `self_id()` |
//! | `read_owner_of`         | `ContractId` | `Option<[u8; 33]>` | `owner::<33>(id)`; `None` for an unknown contract |
//! | `read_owner_wrong_n`    | `()`         | `[u8; 32]`         | `self_owner::<32>()`: panics "self_owner: N (32) does not match host owner length (33)" for a 33-byte owner |
//! | `read_owner_of_wrong_n` | `ContractId` | `Option<[u8; 32]>` | `owner::<32>(id)`: panics "owner: N (32) does not match host owner length (33)" for a 33-byte owner |
//!
//! The two `_wrong_n` exports stand in for the reference's `owner_wrong_n_panics` test;
//! their names are ours.

#![no_std]

use piecrust_uplink as uplink;
use uplink::ContractId;

#[unsafe(no_mangle)]
extern "C" fn read_owner(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| uplink::self_owner::<33>())
}

#[unsafe(no_mangle)]
extern "C" fn read_id(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| uplink::self_id())
}

#[unsafe(no_mangle)]
extern "C" fn read_owner_of(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |id: ContractId| uplink::owner::<33>(id))
}

#[unsafe(no_mangle)]
extern "C" fn read_owner_wrong_n(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| uplink::self_owner::<32>())
}

#[unsafe(no_mangle)]
extern "C" fn read_owner_of_wrong_n(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |id: ContractId| uplink::owner::<32>(id))
}
