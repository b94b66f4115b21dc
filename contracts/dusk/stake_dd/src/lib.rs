//! The stake contract's data driver as a wasm module: `dusk-stake-contract-dd`
//! exports everything (`init`, `encode_input_fn`, `decode_input_fn`,
//! `decode_output_fn`, `decode_event`, `get_schema`, `get_version`, `alloc`,
//! `dealloc`, `get_last_error`); this crate only links it into a cdylib.

#![no_std]

extern crate dusk_stake_contract_dd;
