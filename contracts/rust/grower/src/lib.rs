//! `grower`: a growing byte vector with a raw (non-rkyv) ABI, to exercise memory growth
//! and its rollback (reference: piecrust `contracts/grower`).
//!
//! | export             | argument bytes                      | result bytes | notes |
//! |--------------------|-------------------------------------|--------------|-------|
//! | `append`           | any bytes                           | none         | appends `A[..arg_len]` to the vector |
//! | `append_and_panic` | any bytes                           | none         | appends, then panics "isded" |
//! | `view`             | `u32` LE offset, `u32` LE len (8 B) | `len` bytes  | copies `vec[offset..offset+len]` to `A`; panics "Bad arguments" unless arg_len = 8 |
//! | `len`              | ignored                             | `u32` LE (4) | the vector's length |

#![no_std]

extern crate alloc;

use alloc::vec::Vec;

use piecrust_uplink as uplink;
use uplink::arg_buf::with_arg_buf;

static mut STATE: Vec<u8> = Vec::new();

fn state() -> &'static mut Vec<u8> {
    // SAFETY: contracts are single-threaded and no two references are alive at once.
    unsafe { &mut *(&raw mut STATE) }
}

fn append_arg(arg_len: u32) {
    with_arg_buf(|buf| state().extend_from_slice(&buf[..arg_len as usize]));
}

fn read_u32(bytes: &[u8]) -> usize {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[..4]);
    u32::from_le_bytes(b) as usize
}

#[unsafe(no_mangle)]
extern "C" fn append(arg_len: u32) -> u32 {
    append_arg(arg_len);
    0
}

#[unsafe(no_mangle)]
extern "C" fn append_and_panic(arg_len: u32) -> u32 {
    append_arg(arg_len);
    panic!("isded");
}

#[unsafe(no_mangle)]
extern "C" fn view(arg_len: u32) -> u32 {
    with_arg_buf(|buf| {
        if arg_len != 8 {
            panic!("Bad arguments");
        }
        let offset = read_u32(&buf[0..4]);
        let len = read_u32(&buf[4..8]);
        buf[..len].copy_from_slice(&state()[offset..][..len]);
        len as u32
    })
}

#[unsafe(no_mangle)]
extern "C" fn len(_arg_len: u32) -> u32 {
    with_arg_buf(|buf| {
        buf[..4].copy_from_slice(&(state().len() as u32).to_le_bytes());
        4
    })
}
