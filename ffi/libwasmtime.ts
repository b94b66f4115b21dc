/**
 * Declarative symbol table for the wasmtime 49.0.0 C API.
 *
 * Each entry is annotated with its C prototype. Hot-path symbols take
 * `"pointer"` parameters (resolved once by the caller) and `"usize"` counts
 * that callers pass as BigInt: measured here, a JS number for a 64-bit
 * parameter costs 100–230 ns more per call, a `"buffer"` about 10 ns more
 * than a `"pointer"`.
 *
 * Re-entrancy. Deno runs these symbols as V8 fast API calls, and Deno 2
 * removed the `callback: true` opt-out (denoland/deno#24367). V8 aborts the
 * process ("Lazy deopt after a fast API call with return value is
 * unsupported", denoland/deno#31122) when JS that runs inside such a call
 * deoptimizes the calling function, and the fast call returns a value. So:
 *
 * - a symbol that re-enters JS on the hot path returns `void`:
 *   `wasmtime_func_call_unchecked` reports failures only through its trap
 *   out-parameter, because every host function fails with
 *   `wasmtime_trap_new_code` (a trap, never an error) and call_unchecked
 *   returns an error only for non-trap host failures;
 * - the other symbols that re-enter JS and return a value are in
 *   {@linkcode wasmtimeReentrantSymbols} and are called through
 *   `Deno.UnsafeFnPointer`, which never uses the fast path (~1 µs a call).
 *
 * @module
 */

/** Symbols of libwasmtime used by the engine layer. */
export const wasmtimeSymbols = {
  // --- config and engine ---------------------------------------------------
  /** wasm_config_t* wasm_config_new(void) */
  wasm_config_new: { parameters: [], result: "pointer" },
  /** void wasm_config_delete(wasm_config_t*) */
  wasm_config_delete: { parameters: ["pointer"], result: "void" },
  /** wasm_engine_t* wasm_engine_new_with_config(wasm_config_t*): takes the config */
  wasm_engine_new_with_config: { parameters: ["pointer"], result: "pointer" },
  /** void wasm_engine_delete(wasm_engine_t*) */
  wasm_engine_delete: { parameters: ["pointer"], result: "void" },
  /** void wasmtime_config_consume_fuel_set(wasm_config_t*, bool) */
  wasmtime_config_consume_fuel_set: {
    parameters: ["pointer", "bool"],
    result: "void",
  },
  /** void wasmtime_config_wasm_memory64_set(wasm_config_t*, bool) */
  wasmtime_config_wasm_memory64_set: {
    parameters: ["pointer", "bool"],
    result: "void",
  },
  /** void wasmtime_config_memory_init_cow_set(wasm_config_t*, bool) */
  wasmtime_config_memory_init_cow_set: {
    parameters: ["pointer", "bool"],
    result: "void",
  },
  /** void wasmtime_config_memory_may_move_set(wasm_config_t*, bool) */
  wasmtime_config_memory_may_move_set: {
    parameters: ["pointer", "bool"],
    result: "void",
  },
  /** void wasmtime_config_native_unwind_info_set(wasm_config_t*, bool) */
  wasmtime_config_native_unwind_info_set: {
    parameters: ["pointer", "bool"],
    result: "void",
  },
  /** void wasmtime_config_parallel_compilation_set(wasm_config_t*, bool) */
  wasmtime_config_parallel_compilation_set: {
    parameters: ["pointer", "bool"],
    result: "void",
  },
  /** void wasmtime_config_wasm_multi_memory_set(wasm_config_t*, bool) */
  wasmtime_config_wasm_multi_memory_set: { parameters: ["pointer", "bool"], result: "void" },
  /** void wasmtime_config_wasm_relaxed_simd_set(wasm_config_t*, bool) */
  wasmtime_config_wasm_relaxed_simd_set: { parameters: ["pointer", "bool"], result: "void" },
  /** void wasmtime_config_wasm_relaxed_simd_deterministic_set(wasm_config_t*, bool) */
  wasmtime_config_wasm_relaxed_simd_deterministic_set: {
    parameters: ["pointer", "bool"],
    result: "void",
  },
  /** void wasmtime_config_wasm_threads_set(wasm_config_t*, bool) */
  wasmtime_config_wasm_threads_set: { parameters: ["pointer", "bool"], result: "void" },
  /** void wasmtime_config_wasm_gc_set(wasm_config_t*, bool) */
  wasmtime_config_wasm_gc_set: { parameters: ["pointer", "bool"], result: "void" },
  /** void wasmtime_config_wasm_function_references_set(wasm_config_t*, bool) */
  wasmtime_config_wasm_function_references_set: {
    parameters: ["pointer", "bool"],
    result: "void",
  },
  /** void wasmtime_config_wasm_exceptions_set(wasm_config_t*, bool) */
  wasmtime_config_wasm_exceptions_set: { parameters: ["pointer", "bool"], result: "void" },
  /** void wasmtime_config_wasm_tail_call_set(wasm_config_t*, bool) */
  wasmtime_config_wasm_tail_call_set: { parameters: ["pointer", "bool"], result: "void" },
  /** void wasmtime_config_gc_support_set(wasm_config_t*, bool) */
  wasmtime_config_gc_support_set: { parameters: ["pointer", "bool"], result: "void" },
  /** void wasmtime_config_wasm_wide_arithmetic_set(wasm_config_t*, bool) */
  wasmtime_config_wasm_wide_arithmetic_set: { parameters: ["pointer", "bool"], result: "void" },
  /** void wasmtime_config_wasm_custom_page_sizes_set(wasm_config_t*, bool) */
  wasmtime_config_wasm_custom_page_sizes_set: {
    parameters: ["pointer", "bool"],
    result: "void",
  },
  /** void wasmtime_config_wasm_stack_switching_set(wasm_config_t*, bool) */
  wasmtime_config_wasm_stack_switching_set: { parameters: ["pointer", "bool"], result: "void" },
  /** void wasmtime_config_cranelift_nan_canonicalization_set(wasm_config_t*, bool) */
  wasmtime_config_cranelift_nan_canonicalization_set: {
    parameters: ["pointer", "bool"],
    result: "void",
  },
  /** void wasmtime_config_cranelift_opt_level_set(wasm_config_t*, wasmtime_opt_level_t) */
  wasmtime_config_cranelift_opt_level_set: { parameters: ["pointer", "u8"], result: "void" },
  /** void wasmtime_config_max_wasm_stack_set(wasm_config_t*, size_t) */
  wasmtime_config_max_wasm_stack_set: {
    parameters: ["pointer", "usize"],
    result: "void",
  },
  /** void wasmtime_config_memory_reservation_set(wasm_config_t*, uint64_t) */
  wasmtime_config_memory_reservation_set: {
    parameters: ["pointer", "u64"],
    result: "void",
  },
  /** void wasmtime_config_memory_guard_size_set(wasm_config_t*, uint64_t) */
  wasmtime_config_memory_guard_size_set: {
    parameters: ["pointer", "u64"],
    result: "void",
  },
  /** void wasmtime_config_memory_reservation_for_growth_set(wasm_config_t*, uint64_t) */
  wasmtime_config_memory_reservation_for_growth_set: {
    parameters: ["pointer", "u64"],
    result: "void",
  },
  /** void wasmtime_config_host_memory_creator_set(wasm_config_t*, wasmtime_memory_creator_t*): copies the struct */
  wasmtime_config_host_memory_creator_set: {
    parameters: ["pointer", "buffer"],
    result: "void",
  },

  // --- store ---------------------------------------------------------------
  /** wasmtime_store_t* wasmtime_store_new(wasm_engine_t*, void* data, void (*finalizer)(void*)) */
  wasmtime_store_new: {
    parameters: ["pointer", "pointer", "function"],
    result: "pointer",
  },
  /** wasmtime_context_t* wasmtime_store_context(wasmtime_store_t*) */
  wasmtime_store_context: { parameters: ["pointer"], result: "pointer" },
  /** void wasmtime_store_delete(wasmtime_store_t*). Re-enters JS: memory and host-function finalizers. */
  wasmtime_store_delete: {
    parameters: ["pointer"],
    result: "void",
  },
  /**
   * void wasmtime_store_limiter(wasmtime_store_t*, int64_t memory_size, int64_t table_elements,
   * int64_t instances, int64_t tables, int64_t memories); a negative value leaves that unlimited.
   */
  wasmtime_store_limiter: {
    parameters: ["pointer", "i64", "i64", "i64", "i64", "i64"],
    result: "void",
  },
  /** wasmtime_error_t* wasmtime_context_set_fuel(wasmtime_context_t*, uint64_t) */
  wasmtime_context_set_fuel: {
    parameters: ["pointer", "u64"],
    result: "pointer",
  },
  /** wasmtime_error_t* wasmtime_context_get_fuel(const wasmtime_context_t*, uint64_t* out) */
  wasmtime_context_get_fuel: {
    parameters: ["pointer", "pointer"],
    result: "pointer",
  },

  // --- modules -------------------------------------------------------------
  /** wasmtime_error_t* wasmtime_module_new(wasm_engine_t*, const uint8_t* wasm, size_t len, wasmtime_module_t** out) */
  wasmtime_module_new: {
    parameters: ["pointer", "buffer", "usize", "pointer"],
    result: "pointer",
  },
  /** wasmtime_error_t* wasmtime_module_validate(wasm_engine_t*, const uint8_t* wasm, size_t len) */
  wasmtime_module_validate: {
    parameters: ["pointer", "buffer", "usize"],
    result: "pointer",
  },
  /** wasmtime_module_t* wasmtime_module_clone(wasmtime_module_t*): another handle on the same compiled code */
  wasmtime_module_clone: { parameters: ["pointer"], result: "pointer" },
  /** void wasmtime_module_delete(wasmtime_module_t*) */
  wasmtime_module_delete: { parameters: ["pointer"], result: "void" },
  /** wasmtime_error_t* wasmtime_module_serialize(wasmtime_module_t*, wasm_byte_vec_t* out) */
  wasmtime_module_serialize: {
    parameters: ["pointer", "pointer"],
    result: "pointer",
  },
  /** wasmtime_error_t* wasmtime_module_deserialize(wasm_engine_t*, const uint8_t*, size_t, wasmtime_module_t** out) */
  wasmtime_module_deserialize: {
    parameters: ["pointer", "buffer", "usize", "pointer"],
    result: "pointer",
  },
  /** wasmtime_error_t* wasmtime_module_deserialize_file(wasm_engine_t*, const char* path, wasmtime_module_t** out) */
  wasmtime_module_deserialize_file: {
    parameters: ["pointer", "buffer", "pointer"],
    result: "pointer",
  },

  // --- linker and instances ------------------------------------------------
  /** wasmtime_linker_t* wasmtime_linker_new(wasm_engine_t*) */
  wasmtime_linker_new: { parameters: ["pointer"], result: "pointer" },
  /** void wasmtime_linker_delete(wasmtime_linker_t*). Re-enters JS: host-function finalizers. */
  wasmtime_linker_delete: { parameters: ["pointer"], result: "void" },
  /** bool wasmtime_instance_export_get(wasmtime_context_t*, const wasmtime_instance_t*, const char* name, size_t len, wasmtime_extern_t* out) */
  wasmtime_instance_export_get: {
    parameters: ["pointer", "pointer", "buffer", "usize", "pointer"],
    result: "bool",
  },

  // --- functions -----------------------------------------------------------
  /** wasmtime_error_t* wasmtime_func_call_unchecked(wasmtime_context_t*, const wasmtime_func_t*, wasmtime_val_raw_t* args_and_results, size_t len, wasm_trap_t** trap). Re-enters JS: host functions, memory growth. */
  wasmtime_func_call_unchecked: {
    parameters: ["pointer", "pointer", "pointer", "usize", "pointer"],
    // The wasmtime_error_t* result is deliberately not read: see the module comment.
    result: "void",
  },
  /** wasm_functype_t* wasmtime_func_type(const wasmtime_context_t*, const wasmtime_func_t*): caller owns the result */
  wasmtime_func_type: {
    parameters: ["pointer", "pointer"],
    result: "pointer",
  },
  /** wasm_functype_t* wasm_functype_new(wasm_valtype_vec_t* params, wasm_valtype_vec_t* results): takes the valtypes */
  wasm_functype_new: {
    parameters: ["pointer", "pointer"],
    result: "pointer",
  },
  /** void wasm_functype_delete(wasm_functype_t*) */
  wasm_functype_delete: { parameters: ["pointer"], result: "void" },
  /** const wasm_valtype_vec_t* wasm_functype_params(const wasm_functype_t*) */
  wasm_functype_params: { parameters: ["pointer"], result: "pointer" },
  /** const wasm_valtype_vec_t* wasm_functype_results(const wasm_functype_t*) */
  wasm_functype_results: { parameters: ["pointer"], result: "pointer" },
  /** wasm_valtype_t* wasm_valtype_new(wasm_valkind_t) */
  wasm_valtype_new: { parameters: ["u8"], result: "pointer" },
  /** wasm_valkind_t wasm_valtype_kind(const wasm_valtype_t*) */
  wasm_valtype_kind: { parameters: ["pointer"], result: "u8" },
  /** void wasm_valtype_vec_new(wasm_valtype_vec_t* out, size_t, wasm_valtype_t* const[]) */
  wasm_valtype_vec_new: {
    parameters: ["pointer", "usize", "pointer"],
    result: "void",
  },

  // --- globals and memories ------------------------------------------------
  /** void wasmtime_global_get(wasmtime_context_t*, const wasmtime_global_t*, wasmtime_val_t* out) */
  wasmtime_global_get: {
    parameters: ["pointer", "pointer", "pointer"],
    result: "void",
  },
  /**
   * wasmtime_error_t* wasmtime_global_set(wasmtime_context_t*, const wasmtime_global_t*,
   * const wasmtime_val_t*): an error for an immutable global or a value of the wrong type
   */
  wasmtime_global_set: {
    parameters: ["pointer", "pointer", "pointer"],
    result: "pointer",
  },

  // --- errors and traps ----------------------------------------------------
  /** wasmtime_error_t* wasmtime_error_new(const char* nul_terminated_message) */
  wasmtime_error_new: { parameters: ["buffer"], result: "pointer" },
  /** void wasmtime_error_message(const wasmtime_error_t*, wasm_name_t* out): not NUL-terminated */
  wasmtime_error_message: {
    parameters: ["pointer", "pointer"],
    result: "void",
  },
  /** void wasmtime_error_delete(wasmtime_error_t*) */
  wasmtime_error_delete: { parameters: ["pointer"], result: "void" },
  /**
   * wasm_trap_t* wasmtime_trap_new_code(wasmtime_trap_code_t): an invalid
   * code aborts the process
   */
  wasmtime_trap_new_code: { parameters: ["u8"], result: "pointer" },
  /** bool wasmtime_trap_code(const wasm_trap_t*, wasmtime_trap_code_t* out) */
  wasmtime_trap_code: { parameters: ["pointer", "pointer"], result: "bool" },
  /** void wasm_trap_message(const wasm_trap_t*, wasm_message_t* out): NUL-terminated */
  wasm_trap_message: { parameters: ["pointer", "pointer"], result: "void" },
  /** void wasm_trap_delete(wasm_trap_t*) */
  wasm_trap_delete: { parameters: ["pointer"], result: "void" },
  /** void wasm_byte_vec_delete(wasm_byte_vec_t*) */
  wasm_byte_vec_delete: { parameters: ["pointer"], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * Symbols that return a value and can re-enter JS (memory creator, start
 * function, finalizers). Called through `Deno.UnsafeFnPointer` so that they
 * never take V8's fast path; see the module comment.
 */
export const wasmtimeReentrantSymbols = {
  /**
   * wasmtime_error_t* wasmtime_linker_define_func_unchecked(wasmtime_linker_t*,
   *   const char* module, size_t module_len, const char* name, size_t name_len,
   *   const wasm_functype_t* ty, wasmtime_func_unchecked_callback_t cb,
   *   void* env, void (*finalizer)(void*))
   */
  wasmtime_linker_define_func_unchecked: {
    parameters: [
      "pointer",
      "buffer",
      "usize",
      "buffer",
      "usize",
      "pointer",
      "function",
      "pointer",
      "function",
    ],
    result: "pointer",
    // Re-enters JS: on failure the host function's finalizer runs before this returns.
  },
  /** wasmtime_error_t* wasmtime_linker_instantiate(const wasmtime_linker_t*, wasmtime_context_t*, const wasmtime_module_t*, wasmtime_instance_t* out, wasm_trap_t** trap). Re-enters JS: memory creator, start function. */
  wasmtime_linker_instantiate: {
    parameters: ["pointer", "pointer", "pointer", "pointer", "pointer"],
    result: "pointer",
  },
  /** uint8_t* wasmtime_memory_data(const wasmtime_context_t*, const wasmtime_memory_t*). Re-enters JS: a host memory's get_memory. */
  wasmtime_memory_data: {
    parameters: ["pointer", "pointer"],
    result: "pointer",
  },
  /** size_t wasmtime_memory_data_size(const wasmtime_context_t*, const wasmtime_memory_t*). Re-enters JS: a host memory's get_memory. */
  wasmtime_memory_data_size: {
    parameters: ["pointer", "pointer"],
    result: "usize",
  },
  /** wasmtime_error_t* wasmtime_memory_grow(wasmtime_context_t*, const wasmtime_memory_t*, uint64_t delta, uint64_t* prev_size). Re-enters JS: a host memory's grow_memory. */
  wasmtime_memory_grow: {
    parameters: ["pointer", "pointer", "u64", "pointer"],
    result: "pointer",
  },
} as const satisfies Record<string, Deno.ForeignFunction>;

/** The loaded libwasmtime symbols. */
export type WasmtimeSymbols = Deno.DynamicLibrary<
  typeof wasmtimeSymbols
>["symbols"];

/** `wasm_valkind_t` values (`wasm.h`). */
export const ValKind = {
  I32: 0,
  I64: 1,
  F32: 2,
  F64: 3,
} as const;

/** `wasmtime_extern_kind_t` values (`wasmtime/extern.h`). */
export const ExternKind = {
  FUNC: 0,
  GLOBAL: 1,
  TABLE: 2,
  MEMORY: 3,
} as const;

/** `wasmtime_trap_code_t` values used by the engine (`wasmtime/trap.h`). */
export const TrapCode = {
  STACK_OVERFLOW: 0,
  MEMORY_OUT_OF_BOUNDS: 1,
  HEAP_MISALIGNED: 2,
  TABLE_OUT_OF_BOUNDS: 3,
  INDIRECT_CALL_TO_NULL: 4,
  BAD_SIGNATURE: 5,
  INTEGER_OVERFLOW: 6,
  INTEGER_DIVISION_BY_ZERO: 7,
  BAD_CONVERSION_TO_INTEGER: 8,
  UNREACHABLE_CODE_REACHED: 9,
  INTERRUPT: 10,
  OUT_OF_FUEL: 11,
} as const;

/** `wasmtime_opt_level_t` values (`wasmtime/config.h`). */
export const OptLevel = {
  NONE: 0,
  SPEED: 1,
  SPEED_AND_SIZE: 2,
} as const;

/** Struct sizes in bytes on x86-64, from the wasmtime 49 C headers. */
export const StructSize = {
  /** `wasm_byte_vec_t`: `size_t size` @0, `uint8_t* data` @8 */
  BYTE_VEC: 16,
  /** `wasmtime_extern_t`: `u8 kind` @0, union @8 */
  EXTERN: 32,
  /** `wasmtime_instance_t` */
  INSTANCE: 16,
  /** `wasmtime_global_t`: `u64 store_id` @0, three private u32 words, padded */
  GLOBAL: 24,
  /** `wasmtime_val_t`: `u8 kind` @0, union @8 */
  VAL: 32,
  /** `wasmtime_val_raw_t`: one argument or result slot of an unchecked call */
  VAL_RAW: 16,
  /** `wasmtime_linear_memory_t`: env, get_memory, grow_memory, finalizer */
  LINEAR_MEMORY: 32,
  /** `wasmtime_memory_creator_t`: env, new_memory, finalizer */
  MEMORY_CREATOR: 24,
} as const;

/**
 * `wasmtime_func_unchecked_callback_t`, declared with trimmed parameters.
 *
 * The C type is `wasm_trap_t* (void* env, wasmtime_caller_t*,
 * wasmtime_val_raw_t* args_and_results, size_t n)`. Declaring `env` and the
 * caller as `i32` and the slot pointer as a number is ABI-safe on x86-64 SysV
 * (the callee just reads fewer registers) and avoids allocating pointer
 * objects on every call (about 170 ns per call, against 204–237 ns with the
 * full declaration, measured). `env` carries a small
 * integer id, never a real pointer. The result is a `wasm_trap_t*` as a
 * number, 0 for success.
 */
export const hostFuncCallbackDefinition = {
  parameters: ["i32", "i32", "usize"],
  result: "usize",
} as const satisfies Deno.UnsafeCallbackDefinition;

/**
 * `wasmtime_new_memory_callback_t` (v49 form): `wasmtime_error_t* (void* env,
 * const wasm_memorytype_t* ty, size_t minimum, size_t maximum,
 * size_t reserved_size_in_bytes, size_t guard_size_in_bytes,
 * wasmtime_linear_memory_t* ret)`.
 */
export const newMemoryCallbackDefinition = {
  parameters: ["pointer", "pointer", "usize", "usize", "usize", "usize", "pointer"],
  result: "pointer",
} as const satisfies Deno.UnsafeCallbackDefinition;

/**
 * `wasmtime_memory_get_callback_t`: `uint8_t* (void* env, size_t* byte_size,
 * size_t* byte_capacity)`.
 */
export const getMemoryCallbackDefinition = {
  parameters: ["pointer", "pointer", "pointer"],
  result: "pointer",
} as const satisfies Deno.UnsafeCallbackDefinition;

/** `wasmtime_memory_grow_callback_t`: `wasmtime_error_t* (void* env, size_t new_size)`. */
export const growMemoryCallbackDefinition = {
  parameters: ["pointer", "usize"],
  result: "pointer",
} as const satisfies Deno.UnsafeCallbackDefinition;

/** A finalizer: `void (void* env)`. */
export const finalizerCallbackDefinition = {
  parameters: ["pointer"],
  result: "void",
} as const satisfies Deno.UnsafeCallbackDefinition;
