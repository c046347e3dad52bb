//! The `<string.h>` functions C libraries commonly use, beyond the
//! `mem*` ones the runtime always has (`memfns`). Plain byte loops: C
//! libraries call these on short strings (names, messages), not on bulk
//! data.

use core::ffi::c_char;

type S = *const c_char;

/// # Safety
/// `s` is a C string.
unsafe fn at(s: S, i: usize) -> u8 {
    // SAFETY: caller: i is at most the index of the NUL.
    unsafe { s.add(i).cast::<u8>().read() }
}

/// # Safety
/// C `strlen` contract.
#[no_mangle]
pub unsafe extern "C" fn strlen(s: S) -> usize {
    let mut n = 0;
    // SAFETY: C contract: readable up to its NUL.
    while unsafe { at(s, n) } != 0 {
        n += 1;
    }
    n
}

/// # Safety
/// C `strnlen` contract.
#[no_mangle]
pub unsafe extern "C" fn strnlen(s: S, max: usize) -> usize {
    let mut n = 0;
    // SAFETY: C contract: readable up to its NUL or max bytes.
    while n < max && unsafe { at(s, n) } != 0 {
        n += 1;
    }
    n
}

/// Compares at most `n` bytes, optionally folding ASCII case.
///
/// # Safety
/// Both are C strings.
unsafe fn compare(a: S, b: S, n: usize, fold: bool) -> i32 {
    for i in 0..n {
        // SAFETY: C contract; we stop at the first NUL.
        let (mut x, mut y) = unsafe { (at(a, i), at(b, i)) };
        if fold {
            x = x.to_ascii_lowercase();
            y = y.to_ascii_lowercase();
        }
        if x != y || x == 0 {
            return i32::from(x) - i32::from(y);
        }
    }
    0
}

/// # Safety
/// C `strcmp` contract.
#[no_mangle]
pub unsafe extern "C" fn strcmp(a: S, b: S) -> i32 {
    // SAFETY: C contract.
    unsafe { compare(a, b, usize::MAX, false) }
}

/// # Safety
/// C `strncmp` contract.
#[no_mangle]
pub unsafe extern "C" fn strncmp(a: S, b: S, n: usize) -> i32 {
    // SAFETY: C contract.
    unsafe { compare(a, b, n, false) }
}

/// # Safety
/// C `strcasecmp` contract.
#[no_mangle]
pub unsafe extern "C" fn strcasecmp(a: S, b: S) -> i32 {
    // SAFETY: C contract.
    unsafe { compare(a, b, usize::MAX, true) }
}

/// # Safety
/// C `strncasecmp` contract.
#[no_mangle]
pub unsafe extern "C" fn strncasecmp(a: S, b: S, n: usize) -> i32 {
    // SAFETY: C contract.
    unsafe { compare(a, b, n, true) }
}

/// # Safety
/// C `strcpy` contract.
#[no_mangle]
pub unsafe extern "C" fn strcpy(d: *mut c_char, s: S) -> *mut c_char {
    // SAFETY: C contract: d holds strlen(s) + 1 bytes.
    unsafe {
        let n = strlen(s);
        core::ptr::copy_nonoverlapping(s, d, n + 1);
    }
    d
}

/// # Safety
/// C `strncpy` contract (pads with NULs, may leave `d` unterminated).
#[no_mangle]
pub unsafe extern "C" fn strncpy(d: *mut c_char, s: S, n: usize) -> *mut c_char {
    // SAFETY: C contract: d holds n bytes.
    unsafe {
        let k = strnlen(s, n);
        core::ptr::copy_nonoverlapping(s, d, k);
        core::ptr::write_bytes(d.add(k), 0, n - k);
    }
    d
}

/// # Safety
/// C `strcat` contract.
#[no_mangle]
pub unsafe extern "C" fn strcat(d: *mut c_char, s: S) -> *mut c_char {
    // SAFETY: C contract.
    unsafe {
        strcpy(d.add(strlen(d)), s);
    }
    d
}

/// # Safety
/// C `strchr` contract.
#[no_mangle]
pub unsafe extern "C" fn strchr(s: S, c: i32) -> *mut c_char {
    let c = c as u8;
    let mut i = 0;
    loop {
        // SAFETY: C contract; we stop at the NUL.
        let b = unsafe { at(s, i) };
        if b == c {
            return s.wrapping_add(i).cast_mut();
        }
        if b == 0 {
            return core::ptr::null_mut();
        }
        i += 1;
    }
}

/// # Safety
/// C `strrchr` contract.
#[no_mangle]
pub unsafe extern "C" fn strrchr(s: S, c: i32) -> *mut c_char {
    let c = c as u8;
    let mut found = core::ptr::null_mut();
    let mut i = 0;
    loop {
        // SAFETY: C contract; we stop at the NUL.
        let b = unsafe { at(s, i) };
        if b == c {
            found = s.wrapping_add(i).cast_mut();
        }
        if b == 0 {
            return found;
        }
        i += 1;
    }
}

/// # Safety
/// C `strstr` contract.
#[no_mangle]
pub unsafe extern "C" fn strstr(h: S, n: S) -> *mut c_char {
    // SAFETY: C contract: both are C strings.
    unsafe {
        let nl = strlen(n);
        let hl = strlen(h);
        let hay = core::slice::from_raw_parts(h.cast::<u8>(), hl);
        let needle = core::slice::from_raw_parts(n.cast::<u8>(), nl);
        if nl == 0 {
            return h.cast_mut();
        }
        match hay.windows(nl).position(|w| w == needle) {
            Some(i) => h.add(i).cast_mut(),
            None => core::ptr::null_mut(),
        }
    }
}

/// # Safety
/// C `memchr` contract.
#[no_mangle]
pub unsafe extern "C" fn memchr(s: *const u8, c: i32, n: usize) -> *mut u8 {
    // SAFETY: C contract: s valid for n bytes.
    let b = unsafe { core::slice::from_raw_parts(s, n) };
    match b.iter().position(|&x| x == c as u8) {
        Some(i) => s.wrapping_add(i).cast_mut(),
        None => core::ptr::null_mut(),
    }
}

/// # Safety
/// C `strdup` contract.
#[no_mangle]
pub unsafe extern "C" fn strdup(s: S) -> *mut c_char {
    // SAFETY: C contract.
    unsafe { strndup(s, usize::MAX) }
}

/// # Safety
/// C `strndup` contract.
#[no_mangle]
pub unsafe extern "C" fn strndup(s: S, n: usize) -> *mut c_char {
    // SAFETY: C contract.
    unsafe {
        let k = strnlen(s, n);
        let d = super::malloc::malloc(k + 1).cast::<c_char>();
        if !d.is_null() {
            core::ptr::copy_nonoverlapping(s, d, k);
            d.add(k).write(0);
        }
        d
    }
}
