//! The C runtime surface (cargo feature `libc`, x86_64): what C static
//! libraries compiled for x86_64 Linux (Debian's ATLAS archives, say) need
//! from a C library, so they can be linked into a Corten unikernel.
//!
//! | header | symbols |
//! | --- | --- |
//! | `<stdlib.h>` | `malloc calloc realloc free posix_memalign aligned_alloc memalign exit _exit abort atexit strtol strtoul strtoll strtoull atoi atol getenv` (no environment: NULL) |
//! | `<string.h>` | `memcpy memmove memset memcmp bcmp` (always), `strlen strnlen strcmp strncmp strcasecmp strncasecmp strcpy strncpy strcat strchr strrchr strstr memchr strdup strndup` |
//! | `<stdio.h>` | `stdout stderr printf fprintf sprintf snprintf vprintf vfprintf vsprintf vsnprintf fwrite fputs puts fputc putc putchar fflush` |
//! | fortify (glibc) | `__printf_chk __fprintf_chk __sprintf_chk __snprintf_chk __vprintf_chk __vfprintf_chk __vsprintf_chk __vsnprintf_chk __chk_fail` |
//! | `<errno.h>`, `<assert.h>`, `<string.h>` | `__errno_location __assert_fail strerror perror` |
//! | POSIX | `mmap munmap` (private anonymous maps from the heap), `sched_yield` (returns at once), `syscall` (-1, ENOSYS: there is no kernel) |
//! | start-up | `.init_array` constructors before `main`, `.fini_array` destructors at exit |
//! | stack protector | `__stack_chk_guard __stack_chk_fail` (always), `%fs:0x28` canary |
//!
//! Anything else is deliberately absent: a library that needs it fails to
//! link with "undefined symbol: NAME", never runs into a stub. See
//! `docs/guest-runtime.md` ("Linking C libraries") for how to add one.

#[cfg(not(target_arch = "x86_64"))]
compile_error!("corten-rt: the `libc` feature exists for x86_64 only so far (its variadic entry points are x86_64 assembly)");

#[cfg(not(test))]
mod ctors;
pub(crate) mod format;
#[cfg(not(test))]
mod malloc;
#[cfg(not(test))]
mod posix;
#[cfg(not(test))]
pub(crate) mod process;
#[cfg(not(test))]
pub(crate) mod stdio;
mod stdlib;
#[cfg(not(test))]
mod string;
#[cfg(not(test))]
pub(crate) mod tcb;
pub(crate) mod va;

/// Boot-time set-up, before the application's `main`.
#[cfg(not(test))]
pub(crate) fn init() {
    tcb::install();
    ctors::run_constructors();
}

/// What C's `exit` does before the unikernel ends (atexit handlers,
/// destructors, stdout flushed).
#[cfg(not(test))]
pub(crate) fn at_exit() {
    process::at_exit();
    ctors::run_destructors();
    stdio::flush_stdout();
}
