//! `stake_mirror`: a test contract with part of the interface of Dusk's stake
//! contract, its argument, return and event types those of `dusk-core`, so
//! that the stake contract's data driver can encode its inputs and decode its
//! outputs and events. It keeps stakes by account, checks no signature and
//! moves no funds.
//!
//! | function       | argument         | returns             | |
//! |----------------|------------------|---------------------|-|
//! | `stake`        | `Stake`          | `()`                | adds the value to the account's stake, emits `stake` (`StakeEvent`) |
//! | `get_stake`    | `BlsPublicKey`   | `Option<StakeData>` | |
//! | `burnt_amount` | `()`             | `u64`               | the sum of all stakes |
//! | `get_config`   | `()`             | `StakeConfig`       | the default configuration |
//! | `sample_stake` | `(u64, u64)`     | `Stake`             | a `Stake` of the value (second), signed by the secret key of the scalar (first) |

#![no_std]

extern crate alloc;

use alloc::vec::Vec;

use dusk_core::BlsScalar;
use dusk_core::abi;
use dusk_core::signatures::bls::{PublicKey as BlsPublicKey, SecretKey as BlsSecretKey};
use dusk_core::stake::{Stake, StakeConfig, StakeData, StakeEvent};

/// Stakes by account, in the order they first staked.
static mut STAKES: Vec<(BlsPublicKey, StakeData)> = Vec::new();

#[allow(static_mut_refs)]
fn stakes() -> &'static mut Vec<(BlsPublicKey, StakeData)> {
    // SAFETY: a contract runs one call at a time, single-threaded.
    unsafe { &mut STAKES }
}

#[unsafe(no_mangle)]
unsafe extern "C" fn stake(arg_len: u32) -> u32 {
    abi::wrap_call(arg_len, |stake: Stake| {
        let account = *stake.account();
        let value = stake.value();
        let stakes = stakes();
        match stakes.iter_mut().find(|(key, _)| *key == account) {
            Some((_, data)) => match data.amount.as_mut() {
                Some(amount) => amount.value += value,
                None => *data = StakeData::with_eligibility(value, 0, 0),
            },
            None => stakes.push((account, StakeData::with_eligibility(value, 0, 0))),
        }
        abi::emit("stake", StakeEvent::new(*stake.keys(), value));
    })
}

#[unsafe(no_mangle)]
unsafe extern "C" fn get_stake(arg_len: u32) -> u32 {
    abi::wrap_call(arg_len, |account: BlsPublicKey| -> Option<StakeData> {
        stakes().iter().find(|(key, _)| *key == account).map(|(_, data)| *data)
    })
}

#[unsafe(no_mangle)]
unsafe extern "C" fn burnt_amount(arg_len: u32) -> u32 {
    abi::wrap_call(arg_len, |(): ()| -> u64 {
        stakes().iter().filter_map(|(_, data)| data.amount).map(|amount| amount.value).sum()
    })
}

#[unsafe(no_mangle)]
unsafe extern "C" fn get_config(arg_len: u32) -> u32 {
    abi::wrap_call(arg_len, |(): ()| StakeConfig::new())
}

#[unsafe(no_mangle)]
unsafe extern "C" fn sample_stake(arg_len: u32) -> u32 {
    abi::wrap_call(arg_len, |(scalar, value): (u64, u64)| -> Stake {
        let secret = BlsSecretKey::from(BlsScalar::from(scalar));
        Stake::new(&secret, &secret, value, 1)
    })
}
