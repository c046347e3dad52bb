//! Thread-local storage blocks, for applications (or language runtimes on
//! top) that use `%fs`-relative (x86_64) thread-local variables.
//!
//! The linker collects `.tdata` (initialised) and `.tbss` (zeroed)
//! thread-local variables into a template (the PT_TLS segment). A TLS block
//! is a copy of that template plus a small control block; [`init`] builds
//! one in memory the application provides, and [`set_base`] makes the CPU's
//! thread pointer point at it. At boot the thread pointer is 0, so any TLS
//! access before a base is set faults.
//!
//! Stable Rust has no `#[thread_local]`; thread-local variables come from
//! assembly or C code linked into the unikernel (see the `tls` test).

use crate::arch::{TLS_TCB_SIZE, TLS_VARIANT_II};
use crate::{platform, Error};

/// Required alignment of a TLS block (the linker script pads the template
/// to this and refuses variables aligned beyond it).
pub const ALIGN: usize = 64;

/// The TLS template: initialised data, size of the zeroed part, and the
/// segment's alignment.
#[cfg(not(test))]
fn template() -> (&'static [u8], usize, usize) {
    extern "C" {
        static __corten_tdata_start: u8;
        static __corten_tdata_end: u8;
        static __corten_tbss_start: u8;
        static __corten_tbss_end: u8;
        static __corten_tls_align: u8;
    }
    let align = (core::ptr::addr_of!(__corten_tls_align) as usize).max(1);
    let tdata = core::ptr::addr_of!(__corten_tdata_start);
    let tdata_len = core::ptr::addr_of!(__corten_tdata_end) as usize - tdata as usize;
    let tbss_len = core::ptr::addr_of!(__corten_tbss_end) as usize
        - core::ptr::addr_of!(__corten_tbss_start) as usize;
    // SAFETY: the linker script defines these symbols around the .tdata
    // output section, which is loaded and never written (the application
    // writes only its copies).
    let tdata = unsafe { core::slice::from_raw_parts(tdata, tdata_len) };
    (tdata, tbss_len, align)
}

#[cfg(test)]
fn template() -> (&'static [u8], usize, usize) {
    (&[0xee; 64], 128, 8)
}

/// Where the data and the thread pointer sit in a block: (offset of the
/// data, offset of the thread pointer, block size).
fn layout(tdata_len: usize, tbss_len: usize, align: usize) -> (usize, usize, usize) {
    if TLS_VARIANT_II {
        // [data][bss][tcb]; the linker addresses variables at negative
        // offsets from the thread pointer.
        let tp = tdata_len + tbss_len;
        (0, tp, tp + TLS_TCB_SIZE)
    } else {
        // [tcb][pad to the segment alignment][data][bss].
        let data = TLS_TCB_SIZE.next_multiple_of(align.max(1));
        (data, 0, data + tdata_len + tbss_len)
    }
}

/// Bytes of a TLS block.
pub fn size() -> usize {
    let (tdata, tbss_len, align) = template();
    layout(tdata.len(), tbss_len, align).2
}

/// Offset of the thread pointer from the start of a TLS block.
pub fn tp_offset() -> usize {
    let (tdata, tbss_len, align) = template();
    layout(tdata.len(), tbss_len, align).1
}

fn init_with(
    block: &mut [u8],
    tdata: &[u8],
    tbss_len: usize,
    align: usize,
) -> Result<usize, Error> {
    let (data_at, tp_at, size) = layout(tdata.len(), tbss_len, align);
    if block.len() < size || !(block.as_ptr() as usize).is_multiple_of(ALIGN) {
        return Err(Error::Invalid);
    }
    let (data, rest) = block
        .get_mut(data_at..)
        .ok_or(Error::Invalid)?
        .split_at_mut(tdata.len());
    data.copy_from_slice(tdata);
    rest.get_mut(..tbss_len).ok_or(Error::Invalid)?.fill(0);
    let tp = block.as_ptr() as usize + tp_at;
    if TLS_VARIANT_II {
        let tcb = block
            .get_mut(tp_at..tp_at + TLS_TCB_SIZE)
            .ok_or(Error::Invalid)?;
        fill_tcb(tcb, tp as u64);
    } else {
        // Control block and padding before the data: zero.
        block.get_mut(..data_at).ok_or(Error::Invalid)?.fill(0);
    }
    Ok(tp)
}

/// Offset of the stack-protector canary in an x86_64 control block
/// (glibc's `stack_guard`, read by C code as `%fs:0x28`).
pub const CANARY_OFFSET: usize = 0x28;

/// Fills an x86_64 (variant II) control block: zero, its own address at
/// offset 0 (so that `mov %fs:0, reg` yields the thread pointer), and the
/// runtime's stack guard at [`CANARY_OFFSET`], where C code compiled with
/// `-fstack-protector` for Linux reads it.
pub(crate) fn fill_tcb(tcb: &mut [u8], self_addr: u64) {
    tcb.fill(0);
    if let Some(w) = tcb.get_mut(..8) {
        w.copy_from_slice(&self_addr.to_le_bytes());
    }
    let guard = crate::ssp::guard() as u64;
    if let Some(w) = tcb.get_mut(CANARY_OFFSET..CANARY_OFFSET + 8) {
        w.copy_from_slice(&guard.to_le_bytes());
    }
}

/// Builds a TLS block in `block` (at least [`size`] bytes, aligned to
/// [`ALIGN`]) and returns the thread pointer value for [`set_base`].
pub fn init(block: &mut [u8]) -> Result<usize, Error> {
    let (tdata, tbss_len, align) = template();
    init_with(block, tdata, tbss_len, align)
}

/// Sets the CPU's thread pointer (`%fs` base on x86_64).
///
/// # Safety
/// From now on every thread-local access goes through `tp`: it must be a
/// value [`init`] returned for a block that stays alive and is not used
/// otherwise for as long as it is the base (or 0, to make TLS accesses
/// fault).
pub unsafe fn set_base(tp: usize) -> Result<(), Error> {
    platform::set_tls_base(tp as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[repr(C, align(64))]
    struct Block([u8; 256]);

    #[test]
    fn builds_variant_ii_block() {
        let mut b = Box::new(Block([0x55; 256]));
        let tdata = [1u8, 2, 3, 4];
        let tp = init_with(&mut b.0, &tdata, 12, 8).unwrap();
        let base = b.0.as_ptr() as usize;
        assert_eq!(tp, base + 16);
        assert_eq!(&b.0[..4], &tdata);
        assert!(b.0[4..16].iter().all(|&x| x == 0));
        assert_eq!(&b.0[16..24], &(tp as u64).to_le_bytes());
        let canary = &b.0[16 + CANARY_OFFSET..16 + CANARY_OFFSET + 8];
        assert_eq!(canary, &(crate::ssp::guard() as u64).to_le_bytes());
        assert_eq!(b.0[16 + 64], 0x55, "nothing past the block is written");
        assert_eq!(size(), 64 + 128 + 64);
        assert_eq!(tp_offset(), 192);
    }

    #[test]
    fn rejects_small_or_misaligned_blocks() {
        let mut b = Box::new(Block([0; 256]));
        assert_eq!(
            init_with(&mut b.0[..79], &[1; 4], 12, 8),
            Err(Error::Invalid)
        );
        assert_eq!(
            init_with(&mut b.0[1..], &[1; 4], 12, 8),
            Err(Error::Invalid)
        );
        assert!(init(&mut b.0[..256]).is_ok());
    }
}
