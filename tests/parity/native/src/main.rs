// This Source Code Form is subject to the terms of the Mozilla Public
// License, v. 2.0. If a copy of the MPL was not distributed with this
// file, You can obtain one at http://mozilla.org/MPL/2.0/.

//! Runs a parity script on the reference piecrust VM and prints one line per
//! step, in the format `tests/parity/run_ours.ts` prints for our VM.
//!
//! The script is JSON lines on stdin; see `tests/parity/script.ts` for the
//! steps and the output format. Contracts are named by the labels their
//! `deploy` step gives them, so that both VMs print the same lines.

use std::any::Any;
use std::collections::HashMap;
use std::io::{self, BufRead, Write};
use std::sync::mpsc;
use std::time::Instant;

use piecrust::{CallReceipt, ContractId, Error, HostQuery, Session, SessionData, VM};
use serde_json::Value;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).expect("script hex"))
        .collect()
}

/// The host queries both VMs register, as piecrust's `host.rs` test does.
/// `hash`: BLAKE3 of an rkyv `Vec<u8>` (archived root: relative offset, length).
fn hash(buf: &mut [u8], len: u32) -> u32 {
    let len = len as usize;
    let root = len - 8;
    let offset = i32::from_le_bytes(buf[root..root + 4].try_into().unwrap());
    let count = u32::from_le_bytes(buf[root + 4..root + 8].try_into().unwrap()) as usize;
    let start = (root as i64 + offset as i64) as usize;
    let digest = blake3::hash(&buf[start..start + count]);
    buf[..32].copy_from_slice(digest.as_bytes());
    32
}

struct VeryExpensiveQuery;

impl HostQuery for VeryExpensiveQuery {
    fn deserialize_and_price(&self, _arg_buf: &[u8], _arg: &mut Box<dyn Any>) -> u64 {
        u64::MAX
    }

    fn execute(&self, _arg: &Box<dyn Any>, _arg_buf: &mut [u8]) -> u32 {
        unreachable!("never executed: its price is above any limit")
    }
}

/// Error kinds by the names our VM uses (`PiecrustError.kind`).
fn describe(error: &Error) -> String {
    match error {
        // One line per step: the message's own line breaks are escaped.
        Error::Panic(message) => format!("Panic {}", message.replace('\n', "\\n")),
        Error::OutOfGas => "OutOfGas".into(),
        Error::ContractDoesNotExist(_) => "ContractDoesNotExist".into(),
        Error::InitalizationError(_) => "InitializationError".into(),
        Error::InvalidArgumentBuffer => "InvalidArgumentBuffer".into(),
        Error::InvalidFunction(_) => "InvalidFunction".into(),
        Error::InvalidMemory => "InvalidMemory".into(),
        Error::MemoryAccessOutOfBounds { .. } => "MemoryAccessOutOfBounds".into(),
        Error::MissingFeed => "MissingFeed".into(),
        Error::MissingHostData(_) => "MissingHostData".into(),
        Error::MissingHostQuery(_) => "MissingHostQuery".into(),
        Error::SessionError(_) => "SessionError".into(),
        Error::TooManyMemories(_) => "TooManyMemories".into(),
        Error::Utf8(_) => "Utf8".into(),
        Error::ValidationError => "ValidationError".into(),
        Error::PersistenceError(_) => "PersistenceError".into(),
        Error::RuntimeError(error) => match error.downcast_ref::<dusk_wasmtime::Trap>() {
            Some(trap) => format!("RuntimeError {trap:?}"),
            None => "RuntimeError".into(),
        },
        other => format!("Other {other}"),
    }
}

struct Runner {
    vm: Option<VM>,
    session: Option<Session>,
    labels: HashMap<ContractId, String>,
    ids: HashMap<String, ContractId>,
    last_commit: Option<[u8; 32]>,
}

impl Runner {
    fn label(&self, id: &ContractId) -> String {
        self.labels.get(id).cloned().unwrap_or_else(|| hex(id.as_bytes()))
    }

    fn receipt(&self, receipt: &CallReceipt<Vec<u8>>) -> String {
        let events: Vec<String> = receipt
            .events
            .iter()
            .map(|event| {
                format!("{}/{}/{}/{}", self.label(&event.source), event.topic, hex(&event.data), event.reverted)
            })
            .collect();
        let tree: Vec<String> = receipt
            .call_tree
            .iter()
            .map(|call| {
                format!("{}:{}:{}:{}", self.label(&call.contract_id), call.limit, call.spent, call.mem_len)
            })
            .collect();
        format!(
            "spent={} data={} events=[{}] tree=[{}]",
            receipt.gas_spent,
            hex(&receipt.data),
            events.join(","),
            tree.join(",")
        )
    }

    fn session(&mut self) -> &mut Session {
        self.session.as_mut().expect("the script opens a session first")
    }

    fn contract(&self, step: &Value) -> ContractId {
        let label = step["to"].as_str().expect("to");
        match self.ids.get(label) {
            Some(id) => *id,
            // A hex id, or the label of a deploy that failed: no such contract.
            None if label.len() == 64 => ContractId::from_bytes(unhex(label).try_into().expect("hex")),
            None => ContractId::from_bytes([0; 32]),
        }
    }

    fn step(&mut self, step: &Value) -> String {
        let op = step["op"].as_str().expect("op");
        match op {
            "open" | "ephemeral" => {
                self.session = None;
                self.vm = None;
                let mut vm = if op == "open" {
                    VM::new(step["dir"].as_str().expect("dir")).expect("VM::new")
                } else {
                    VM::ephemeral().expect("VM::ephemeral")
                };
                vm.register_host_query("hash", hash);
                vm.register_host_query("very_expensive", VeryExpensiveQuery);
                let mut commits: Vec<String> = vm.commits().iter().map(|root| hex(root)).collect();
                commits.sort();
                self.vm = Some(vm);
                format!("{op} commits=[{}]", commits.join(","))
            }
            "session" => {
                let mut data = SessionData::builder();
                match step["base"].as_str() {
                    Some("last") => data = data.base(self.last_commit.expect("a commit before")),
                    Some(base) => data = data.base(unhex(base).try_into().expect("32 bytes")),
                    None => {}
                }
                if let Some(meta) = step["meta"].as_object() {
                    for (name, value) in meta {
                        data = data.insert(name.clone(), value.as_u64().expect("u64 meta")).expect("meta");
                    }
                }
                match self.vm.as_ref().expect("a VM").session(data) {
                    Ok(session) => {
                        self.session = Some(session);
                        "session ok".into()
                    }
                    Err(error) => format!("session err {}", describe(&error)),
                }
            }
            "deploy" => {
                let label = step["as"].as_str().expect("as").to_string();
                let bytecode = std::fs::read(step["wasm"].as_str().expect("wasm")).expect("wasm file");
                let owner = unhex(step["owner"].as_str().unwrap_or(""));
                let init = step["init"].as_str().map(unhex);
                let id = step["id"].as_str().map(|id| ContractId::from_bytes(unhex(id).try_into().expect("32 bytes")));
                let gas = step["gas"].as_u64().expect("gas");
                match self.session().deploy_raw(id, &bytecode, init, owner, gas) {
                    Ok((id, receipt)) => {
                        self.labels.insert(id, label.clone());
                        self.ids.insert(label.clone(), id);
                        let init = match receipt {
                            Some(receipt) => self.receipt(&receipt),
                            None => "-".into(),
                        };
                        format!("deploy {label} ok id={} init {init}", hex(id.as_bytes()))
                    }
                    Err(error) => format!("deploy {label} err {}", describe(&error)),
                }
            }
            "call" | "feed" => {
                let contract = self.contract(step);
                let name = step["fn"].as_str().expect("fn").to_string();
                let arg = unhex(step["arg"].as_str().unwrap_or(""));
                let gas = step["gas"].as_u64().expect("gas");
                let head = format!("{op} {}.{name}", self.label(&contract));
                let (result, feeds) = if op == "feed" {
                    let (sender, receiver) = mpsc::channel();
                    let result = self.session().feeder_call_raw(contract, &name, arg, gas, sender);
                    let feeds: Vec<String> = receiver.try_iter().map(|bytes| hex(&bytes)).collect();
                    (result, format!(" feeds=[{}]", feeds.join(",")))
                } else {
                    (self.session().call_raw(contract, &name, arg, gas), String::new())
                };
                match result {
                    Ok(receipt) => format!("{head} ok {}{feeds}", self.receipt(&receipt)),
                    Err(error) => format!("{head} err {}", describe(&error)),
                }
            }
            "commit" => match self.session.take().expect("a session").commit() {
                Ok(root) => {
                    self.last_commit = Some(root);
                    format!("commit {}", hex(&root))
                }
                Err(error) => format!("commit err {}", describe(&error)),
            },
            "root" => format!("root {}", hex(&self.session().root())),
            // Timing, for `deno task bench:native`: `iterations` calls after
            // `warmup` untimed ones; prints the nanoseconds per call. The
            // other timing steps below take `warmup` too.
            "time" => {
                let contract = self.contract(step);
                let name = step["fn"].as_str().expect("fn").to_string();
                let arg = unhex(step["arg"].as_str().unwrap_or(""));
                let gas = step["gas"].as_u64().expect("gas");
                let iterations = step["iterations"].as_u64().expect("iterations");
                let session = self.session();
                for _ in 0..step["warmup"].as_u64().unwrap_or(0) {
                    session.call_raw(contract, &name, arg.clone(), gas).expect("the timed call succeeds");
                }
                let started = Instant::now();
                for _ in 0..iterations {
                    session.call_raw(contract, &name, arg.clone(), gas).expect("the timed call succeeds");
                }
                format!("time {}", started.elapsed().as_nanos() / u128::from(iterations))
            }
            // Deploys of `wasm`, each under a new id; with `distinct`, each
            // with a custom section of its own, so no two bytecodes are alike.
            "time_deploy" => {
                let bytecode = std::fs::read(step["wasm"].as_str().expect("wasm")).expect("wasm file");
                let iterations = step["iterations"].as_u64().expect("iterations");
                let distinct = step["distinct"].as_bool().unwrap_or(false);
                let gas = step["gas"].as_u64().expect("gas");
                let warmup = step["warmup"].as_u64().unwrap_or(0);
                let session = self.session();
                let mut started = Instant::now();
                for i in 0..warmup + iterations {
                    if i == warmup {
                        started = Instant::now();
                    }
                    let mut id = [0xd0u8; 32];
                    id[..8].copy_from_slice(&i.to_le_bytes());
                    let mut bytes = bytecode.clone();
                    if distinct {
                        bytes.extend_from_slice(&[0, 10, 1, b'p']);
                        bytes.extend_from_slice(&i.to_le_bytes());
                    }
                    session
                        .deploy_raw(Some(ContractId::from_bytes(id)), &bytes, None, vec![0; 32], gas)
                        .expect("the timed deploy succeeds");
                }
                format!("time {}", started.elapsed().as_nanos() / u128::from(iterations))
            }
            // Sessions on the last commit, each with one call and a commit.
            "time_commit" => {
                let contract = self.contract(step);
                let name = step["fn"].as_str().expect("fn").to_string();
                let gas = step["gas"].as_u64().expect("gas");
                let iterations = step["iterations"].as_u64().expect("iterations");
                let warmup = step["warmup"].as_u64().unwrap_or(0);
                let mut started = Instant::now();
                for i in 0..warmup + iterations {
                    if i == warmup {
                        started = Instant::now();
                    }
                    let base = self.last_commit.expect("a commit before");
                    let vm = self.vm.as_ref().expect("a VM");
                    let mut session = vm.session(SessionData::builder().base(base)).expect("session");
                    session.call_raw(contract, &name, Vec::new(), gas).expect("the timed call succeeds");
                    self.last_commit = Some(session.commit().expect("commit"));
                }
                format!("time {}", started.elapsed().as_nanos() / u128::from(iterations))
            }
            // The commit of the open session, timed.
            "time_commit_once" => {
                let session = self.session.take().expect("a session");
                let started = Instant::now();
                let root = session.commit().expect("commit");
                let elapsed = started.elapsed().as_nanos();
                self.last_commit = Some(root);
                format!("time {elapsed}")
            }
            // Sessions on the last commit, each with one call, dropped without a commit.
            "time_session" => {
                let contract = self.contract(step);
                let name = step["fn"].as_str().expect("fn").to_string();
                let gas = step["gas"].as_u64().expect("gas");
                let iterations = step["iterations"].as_u64().expect("iterations");
                let base = self.last_commit.expect("a commit before");
                let vm = self.vm.as_ref().expect("a VM");
                let warmup = step["warmup"].as_u64().unwrap_or(0);
                let mut started = Instant::now();
                for i in 0..warmup + iterations {
                    if i == warmup {
                        started = Instant::now();
                    }
                    let mut session = vm.session(SessionData::builder().base(base)).expect("session");
                    session.call_raw(contract, &name, Vec::new(), gas).expect("the timed call succeeds");
                }
                format!("time {}", started.elapsed().as_nanos() / u128::from(iterations))
            }
            // Opening the VM directory `dir` again (the open VM closed first), timed.
            "time_open" => {
                self.session = None;
                self.vm = None;
                let started = Instant::now();
                let vm = VM::new(step["dir"].as_str().expect("dir")).expect("VM::new");
                let elapsed = started.elapsed().as_nanos();
                self.vm = Some(vm);
                format!("time {elapsed}")
            }
            "memlen" => {
                let contract = self.contract(step);
                let label = self.label(&contract);
                match self.session().memory_len(contract) {
                    Ok(Some(length)) => format!("memlen {label} {length}"),
                    Ok(None) => format!("memlen {label} none"),
                    Err(error) => format!("memlen {label} err {}", describe(&error)),
                }
            }
            other => panic!("unknown step {other}"),
        }
    }
}

fn main() {
    let mut runner = Runner { vm: None, session: None, labels: HashMap::new(), ids: HashMap::new(), last_commit: None };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    for line in io::stdin().lock().lines() {
        let line = line.expect("stdin");
        if line.trim().is_empty() {
            continue;
        }
        let step: Value = serde_json::from_str(&line).expect("a JSON step");
        writeln!(out, "{}", runner.step(&step)).expect("stdout");
    }
}
