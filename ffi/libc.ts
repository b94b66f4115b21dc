/**
 * Declarative symbol table for the parts of glibc that the memory layer and
 * the commit store use: mappings, file I/O by descriptor, and errno.
 *
 * Every 64-bit parameter is declared so that callers pass BigInt (a JS
 * number there costs 100–230 ns more per call, measured), and
 * buffers are `"pointer"` so that hot paths hand over pointers resolved once.
 *
 * @module
 */

/** Symbols of `libc.so.6`. */
export const libcSymbols = {
  /** void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset) */
  mmap: {
    parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"],
    result: "pointer",
  },
  /** int munmap(void* addr, size_t len) */
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  /** int mprotect(void* addr, size_t len, int prot) */
  mprotect: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  /** int madvise(void* addr, size_t len, int advice) */
  madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  /** int open(const char* path, int flags, mode_t mode) */
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  /** int memfd_create(const char* name, unsigned int flags): an unnamed file in memory (glibc 2.27+) */
  memfd_create: { parameters: ["buffer", "u32"], result: "i32" },
  /** int access(const char* path, int mode); mode 0 (F_OK): whether it exists */
  access: { parameters: ["buffer", "i32"], result: "i32" },
  /** int close(int fd) */
  close: { parameters: ["i32"], result: "i32" },
  /** ssize_t pread(int fd, void* buf, size_t count, off_t offset) */
  pread: { parameters: ["i32", "pointer", "usize", "i64"], result: "isize" },
  /** ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) */
  pwrite: { parameters: ["i32", "pointer", "usize", "i64"], result: "isize" },
  /**
   * int ioctl(int fd, unsigned long request, void* arg). Variadic in C; with
   * only integer arguments the SysV call is the same as a fixed one.
   */
  ioctl: { parameters: ["i32", "u64", "pointer"], result: "i32" },
  /**
   * long syscall(long number, ...), here with one argument: used for
   * `userfaultfd(flags)`, which glibc has no wrapper for. Variadic in C;
   * glibc's is assembly that reads integer registers only, like a fixed one.
   */
  syscall: { parameters: ["i64", "i64"], result: "i64" },
  /** int kill(pid_t pid, int sig); with sig 0, whether process `pid` exists */
  kill: { parameters: ["i32", "i32"], result: "i32" },
  /** int ftruncate(int fd, off_t length) */
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  /** int fallocate(int fd, int mode, off_t offset, off_t len); mode 0 allocates and extends */
  fallocate: { parameters: ["i32", "i32", "i64", "i64"], result: "i32" },
  /** int fsync(int fd) */
  fsync: { parameters: ["i32"], result: "i32" },
  /**
   * int sync_file_range(int fd, off64_t offset, off64_t nbytes, unsigned int flags):
   * with `SYNC_FILE_RANGE_WRITE`, starts writing the range's dirty pages back and returns;
   * nbytes 0 means to the end of the file. No durability of its own.
   */
  sync_file_range: { parameters: ["i32", "i64", "i64", "u32"], result: "i32" },
  /** int statfs(const char* path, struct statfs* buf); `f_type` is the first 8 bytes */
  statfs: { parameters: ["buffer", "buffer"], result: "i32" },
  /** void* memcpy(void* dest, const void* src, size_t n) */
  memcpy: { parameters: ["pointer", "pointer", "usize"], result: "pointer" },
  /** int memcmp(const void* a, const void* b, size_t n) */
  memcmp: { parameters: ["pointer", "pointer", "usize"], result: "i32" },
  /** int* __errno_location(void): the calling thread's errno */
  __errno_location: { parameters: [], result: "pointer" },
  /** void* dlopen(const char* path, int flags) */
  dlopen: { parameters: ["buffer", "i32"], result: "pointer" },
  /** void* dlsym(void* handle, const char* symbol) */
  dlsym: { parameters: ["pointer", "buffer"], result: "pointer" },
  /** int dlclose(void* handle) */
  dlclose: { parameters: ["pointer"], result: "i32" },
  /** char* strerror(int errnum) */
  strerror: { parameters: ["i32"], result: "pointer" },
  /**
   * int getcontext(ucontext_t* ucp): the caller's registers, read here for
   * the stack pointer (there is no cheaper libc call that reveals it).
   */
  getcontext: { parameters: ["pointer"], result: "i32" },
  /** pthread_t pthread_self(void); a pthread_t is a pointer in glibc. */
  pthread_self: { parameters: [], result: "pointer" },
  /** int pthread_getattr_np(pthread_t thread, pthread_attr_t* attr) */
  pthread_getattr_np: { parameters: ["pointer", "buffer"], result: "i32" },
  /** int pthread_attr_getstack(const pthread_attr_t* attr, void** addr, size_t* size) */
  pthread_attr_getstack: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
  /** int pthread_attr_destroy(pthread_attr_t* attr) */
  pthread_attr_destroy: { parameters: ["buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded libc symbols. */
export type LibcSymbols = Deno.DynamicLibrary<typeof libcSymbols>["symbols"];

/** Memory protection flags (`<sys/mman.h>`, x86-64 Linux). */
export const ProtFlags = {
  NONE: 0,
  READ: 1,
  WRITE: 2,
} as const;

/** Mapping flags (`<sys/mman.h>`, x86-64 Linux). */
export const MapFlags = {
  SHARED: 0x01,
  PRIVATE: 0x02,
  FIXED: 0x10,
  ANONYMOUS: 0x20,
  NORESERVE: 0x4000,
} as const;

/** `madvise` advice values (`<sys/mman.h>`, Linux). */
export const Madvise = {
  DONTNEED: 4,
  NOHUGEPAGE: 15,
  /** Fault the range in as a read would (Linux 5.14+). */
  POPULATE_READ: 22,
} as const;

/** `open` flags (`<fcntl.h>`, x86-64 Linux). */
export const OpenFlags = {
  RDONLY: 0,
  WRONLY: 1,
  RDWR: 2,
  CREAT: 0o100,
  EXCL: 0o200,
  TRUNC: 0o1000,
  DIRECTORY: 0o200000,
  CLOEXEC: 0o2000000,
  /** An unnamed file in the given directory, gone when its last descriptor closes. */
  TMPFILE: 0o20200000,
} as const;

/** `sync_file_range` flags (`<fcntl.h>`). */
export const SyncFileRange = {
  /** Start writeback of the dirty pages in the range, without waiting for it. */
  WRITE: 2,
} as const;

/** Bytes of `struct statfs` on x86-64 Linux. */
export const STATFS_SIZE = 120;

/** `statfs` `f_type` values (`<linux/magic.h>`) of file systems that keep files in memory only. */
export const IN_MEMORY_FILE_SYSTEMS: ReadonlySet<bigint> = new Set([
  0x01021994n, // tmpfs
  0x858458f6n, // ramfs
]);

/** `memfd_create` flags (`<sys/mman.h>`). */
export const MemfdFlags = {
  CLOEXEC: 1,
} as const;

/**
 * `PAGEMAP_SCAN` (Linux 6.7+, `<linux/fs.h>`): `_IOWR('f', 16, struct
 * pm_scan_arg)`, an ioctl on `/proc/self/pagemap` that walks page tables and
 * returns only the ranges whose page categories match.
 */
export const PAGEMAP_SCAN = 0xc060_6610n;

/** `struct pm_scan_arg` is twelve u64 fields: size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted, category_mask, category_anyof_mask, return_mask. */
export const PM_SCAN_ARG_SIZE = 96;

/** `struct page_region` is three u64 fields: start, end, categories. */
export const PAGE_REGION_SIZE = 24;

/** Page categories of `PAGEMAP_SCAN` (`<linux/fs.h>`). */
export const PageCategory = {
  /** Written since last write-protected (ranges registered with userfaultfd only). */
  WRITTEN: 1n << 1n,
  FILE: 1n << 2n,
  PRESENT: 1n << 3n,
  SWAPPED: 1n << 4n,
  PFNZERO: 1n << 5n,
} as const;

/**
 * `ucontext_t` (x86-64 glibc): 968 bytes, rounded up. The saved stack
 * pointer is `uc_mcontext.gregs[REG_RSP]`: after `uc_flags`, `uc_link` and
 * the 24-byte `uc_stack` come the 8-byte general registers, RSP being the
 * 16th, so byte 40 + 15 × 8.
 */
export const UCONTEXT_SIZE = 1024;
/** Byte offset of the saved RSP in a `ucontext_t` (x86-64 glibc). */
export const UCONTEXT_RSP_OFFSET = 160;
/** `sizeof(pthread_attr_t)` on x86-64 glibc. */
export const PTHREAD_ATTR_SIZE = 56;

/** `mmap`'s failure value, `(void*)-1`. */
export const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

/** `userfaultfd(2)`'s system call number on x86-64. */
export const SYS_USERFAULTFD = 323n;

/**
 * `userfaultfd` flags: `USER_MODE_ONLY` (Linux 5.11+) is what unprivileged
 * processes may open when `vm.unprivileged_userfaultfd` is 0; with
 * asynchronous write protection no fault ever reaches the descriptor, so
 * kernel-mode faults need not either.
 */
export const UserfaultfdFlags = {
  USER_MODE_ONLY: 1n,
  NONBLOCK: 0o4000n,
  CLOEXEC: 0o2000000n,
} as const;

/** `UFFDIO_API`: `_IOWR(0xAA, 0x3F, struct uffdio_api)`, three u64 fields: api, features, ioctls. */
export const UFFDIO_API = 0xc018_aa3fn;

/** `UFFD_API`, the protocol version `UFFDIO_API` expects. */
export const UFFD_API = 0xaan;

/**
 * `UFFD_FEATURE_WP_ASYNC` (Linux 6.7+): a write to a write-protected page
 * just clears its protection, in the kernel, and `PAGEMAP_SCAN` reports it
 * as written; the descriptor never receives the fault.
 */
export const UFFD_FEATURE_WP_ASYNC = 1n << 15n;

/** `UFFDIO_REGISTER`: `_IOWR(0xAA, 0x00, struct uffdio_register)`, four u64 fields: start, len, mode, ioctls. */
export const UFFDIO_REGISTER = 0xc020_aa00n;

/** `UFFDIO_REGISTER_MODE_WP`. */
export const UFFDIO_REGISTER_MODE_WP = 2n;

/** `UFFDIO_WRITEPROTECT`: `_IOWR(0xAA, 0x06, struct uffdio_writeprotect)`, three u64 fields: start, len, mode. */
export const UFFDIO_WRITEPROTECT = 0xc018_aa06n;

/** `UFFDIO_WRITEPROTECT_MODE_WP`: protect (without it, unprotect). */
export const UFFDIO_WRITEPROTECT_MODE_WP = 1n;
