//! `everest`: reads the session metadata "height" (reference: piecrust
//! `contracts/everest`).
//!
//! | export       | argument | result        | notes |
//! |--------------|----------|---------------|-------|
//! | `get_height` | `()`     | `Option<u64>` | `meta_data::<u64>("height")` through `hd`; `None` when absent (16 bytes) |

#![no_std]

use piecrust_uplink as uplink;

#[unsafe(no_mangle)]
extern "C" fn get_height(arg_len: u32) -> u32 {
    uplink::wrap_call(arg_len, |(): ()| uplink::meta_data::<u64>("height"))
}
