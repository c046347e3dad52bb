//! An N×N matrix of doubles on a 64-byte boundary: every build hands the
//! BLAS identically aligned operands, so it takes the same code paths and
//! gives the same bits.

use alloc::alloc::{alloc_zeroed, dealloc, Layout};

pub struct Matrix {
    ptr: *mut f64,
    len: usize,
    layout: Layout,
}

impl Matrix {
    /// A zeroed N×N matrix, or None when memory runs out.
    pub fn new(n: usize) -> Option<Matrix> {
        let len = n.checked_mul(n)?;
        let layout = Layout::array::<f64>(len).ok()?.align_to(64).ok()?;
        if layout.size() == 0 {
            return None;
        }
        // SAFETY: the layout has a nonzero size.
        let ptr = unsafe { alloc_zeroed(layout) }.cast::<f64>();
        (!ptr.is_null()).then_some(Matrix { ptr, len, layout })
    }

    pub fn as_slice(&self) -> &[f64] {
        // SAFETY: ptr holds len initialised (zeroed, then written) doubles.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [f64] {
        // SAFETY: as above, and &mut self makes the borrow unique.
        unsafe { core::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    pub fn as_ptr(&self) -> *const f64 {
        self.ptr
    }

    pub fn as_mut_ptr(&mut self) -> *mut f64 {
        self.ptr
    }
}

impl Drop for Matrix {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.ptr.cast(), self.layout) };
    }
}
