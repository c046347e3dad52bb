//! The guest memory layout.
//!
//! ```text
//! 0                 reserved (page 0 unmapped; boot info, manifest and
//!                   command line below 0x100000)
//! 0x100000          text    (R+X)
//!                   rodata  (R)      notes, constants
//!                   data    (R+W)    TLS template, data, bss
//! end of image      heap    (R+W)    the global allocator's
//! mem_size - stack  stack   (R+W)    grows down from mem_size
//! mem_size
//! ```

use core::ops::Range;

/// Largest stack the runtime sets aside.
pub const STACK_MAX: u64 = 1 << 20;
/// Least memory the runtime needs above the kernel image (heap + stack).
pub const MIN_FREE: u64 = 256 << 10;
const PAGE: u64 = 4096;

/// Where the image, heap and stack are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub text: Range<u64>,
    pub rodata: Range<u64>,
    pub data: Range<u64>,
    pub heap: Range<u64>,
    pub stack: Range<u64>,
}

/// Splits the memory above the image between heap and stack: the stack
/// gets half, at most [`STACK_MAX`], rounded to pages.
pub fn plan(
    mem_size: u64,
    text: Range<u64>,
    rodata_end: u64,
    image_end: u64,
) -> Result<Layout, u64> {
    let heap_start = image_end.div_ceil(PAGE) * PAGE;
    let free = mem_size.checked_sub(heap_start).ok_or(0u64)?;
    if free < MIN_FREE {
        return Err(free);
    }
    let stack = ((free / 2) & !(PAGE - 1)).min(STACK_MAX);
    let stack_bottom = (mem_size - stack) & !(PAGE - 1);
    Ok(Layout {
        rodata: text.end..rodata_end,
        data: rodata_end..image_end,
        text,
        heap: heap_start..stack_bottom,
        stack: stack_bottom..mem_size,
    })
}

/// The image's own extent, from the linker script's symbols.
#[cfg(not(test))]
pub(crate) fn image() -> (Range<u64>, u64, u64) {
    extern "C" {
        static __corten_text_start: u8;
        static __corten_text_end: u8;
        static __corten_rodata_end: u8;
        static __corten_end: u8;
    }
    let a = |p: *const u8| p as u64;
    (
        a(core::ptr::addr_of!(__corten_text_start))..a(core::ptr::addr_of!(__corten_text_end)),
        a(core::ptr::addr_of!(__corten_rodata_end)),
        a(core::ptr::addr_of!(__corten_end)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_spt_memory() {
        // --mem=2 on spt: 2 MiB, a 200 KiB image at 1 MiB.
        let l = plan(2 << 20, 0x100000..0x120000, 0x128000, 0x132000).unwrap();
        assert_eq!(l.heap.start, 0x132000);
        assert_eq!(l.stack.end, 2 << 20);
        assert_eq!(l.heap.end, l.stack.start);
        let stack = l.stack.end - l.stack.start;
        assert!(((400 << 10)..=STACK_MAX).contains(&stack));
        assert_eq!(l.stack.start % 4096, 0);
    }

    #[test]
    fn large_memory_caps_stack() {
        let l = plan(512 << 20, 0x100000..0x110000, 0x118000, 0x120000).unwrap();
        assert_eq!(l.stack.end - l.stack.start, STACK_MAX);
        assert_eq!(l.heap.end, (512 << 20) - STACK_MAX);
    }

    #[test]
    fn too_little_memory() {
        assert_eq!(
            plan(0x110000, 0x100000..0x101000, 0x102000, 0x103000),
            Err(0xd000)
        );
        assert_eq!(
            plan(0x100000, 0x100000..0x101000, 0x102000, 0x103000),
            Err(0)
        );
    }
}
