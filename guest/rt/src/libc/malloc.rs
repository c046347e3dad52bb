//! `malloc` and friends over the runtime's global allocator.
//!
//! Rust's allocator needs the size and alignment back on free; C's `free`
//! gives only the pointer. So every block carries a 16-byte header just
//! below the pointer returned: the alignment and the total size of the
//! underlying allocation. Blocks are 16-byte aligned (glibc's guarantee on
//! x86_64) or more for `posix_memalign`/`aligned_alloc`/`memalign`.
//! Allocation failure returns NULL (with `errno` = ENOMEM), never aborts.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr;

use super::process::{set_errno, EINVAL, ENOMEM};
use crate::heap;

const HEADER: usize = 16;
const MIN_ALIGN: usize = 16;

/// Allocates `size` bytes aligned to `align` (a power of two ≥ 16).
fn alloc_aligned(size: usize, align: usize, zeroed: bool) -> *mut u8 {
    // The header needs 16 bytes below the pointer; with a larger alignment
    // the pointer sits `align` bytes in, keeping both aligned.
    let lead = align.max(HEADER);
    let Some(total) = size.checked_add(lead) else {
        set_errno(ENOMEM);
        return ptr::null_mut();
    };
    let Ok(layout) = Layout::from_size_align(total, align) else {
        set_errno(ENOMEM);
        return ptr::null_mut();
    };
    // SAFETY: the layout has a nonzero size (lead ≥ 16).
    let base = unsafe {
        if zeroed {
            heap::allocator().alloc_zeroed(layout)
        } else {
            heap::allocator().alloc(layout)
        }
    };
    if base.is_null() {
        set_errno(ENOMEM);
        return ptr::null_mut();
    }
    // SAFETY: base..base+total is ours; lead ≥ 16 leaves room for the
    // header right below the returned pointer.
    unsafe {
        let p = base.add(lead);
        p.sub(HEADER).cast::<usize>().write(align);
        p.sub(HEADER - 8).cast::<usize>().write(total);
        p
    }
}

/// The layout and base of a block `alloc_aligned` returned.
///
/// # Safety
/// `p` came from `alloc_aligned` and was not freed.
unsafe fn block_of(p: *mut u8) -> (*mut u8, Layout) {
    // SAFETY: the header written by alloc_aligned.
    let (align, total) = unsafe {
        (
            p.sub(HEADER).cast::<usize>().read(),
            p.sub(HEADER - 8).cast::<usize>().read(),
        )
    };
    let lead = align.max(HEADER);
    // SAFETY: these are the values alloc_aligned used, which formed a
    // valid layout.
    unsafe { (p.sub(lead), Layout::from_size_align_unchecked(total, align)) }
}

#[no_mangle]
pub extern "C" fn malloc(size: usize) -> *mut u8 {
    alloc_aligned(size, MIN_ALIGN, false)
}

#[no_mangle]
pub extern "C" fn calloc(n: usize, size: usize) -> *mut u8 {
    match n.checked_mul(size) {
        Some(total) => alloc_aligned(total, MIN_ALIGN, true),
        None => {
            set_errno(ENOMEM);
            ptr::null_mut()
        }
    }
}

/// # Safety
/// C `free` contract: NULL or a live block from this allocator.
#[no_mangle]
pub unsafe extern "C" fn free(p: *mut u8) {
    if p.is_null() {
        return;
    }
    // SAFETY: C contract.
    unsafe {
        let (base, layout) = block_of(p);
        heap::allocator().dealloc(base, layout);
    }
}

/// # Safety
/// C `realloc` contract.
#[no_mangle]
pub unsafe extern "C" fn realloc(p: *mut u8, size: usize) -> *mut u8 {
    if p.is_null() {
        return malloc(size);
    }
    // SAFETY: C contract: p is a live block.
    let (_, layout) = unsafe { block_of(p) };
    let lead = layout.align().max(HEADER);
    let old = layout.size() - lead;
    let new = alloc_aligned(size, layout.align(), false);
    if new.is_null() {
        return new; // the old block stays valid, as C requires
    }
    // SAFETY: both blocks are live and distinct; copy what both hold.
    unsafe {
        ptr::copy_nonoverlapping(p, new, old.min(size));
        free(p);
    }
    new
}

/// # Safety
/// C `posix_memalign` contract: `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn posix_memalign(out: *mut *mut u8, align: usize, size: usize) -> i32 {
    if !align.is_power_of_two() || !align.is_multiple_of(core::mem::size_of::<usize>()) {
        return EINVAL;
    }
    let p = alloc_aligned(size, align.max(MIN_ALIGN), false);
    if p.is_null() {
        return ENOMEM;
    }
    // SAFETY: C contract.
    unsafe { out.write(p) };
    0
}

#[no_mangle]
pub extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut u8 {
    if !align.is_power_of_two() {
        set_errno(EINVAL);
        return ptr::null_mut();
    }
    alloc_aligned(size, align.max(MIN_ALIGN), false)
}

#[no_mangle]
pub extern "C" fn memalign(align: usize, size: usize) -> *mut u8 {
    aligned_alloc(align, size)
}
