//! The global allocator, over the heap region between the end of the kernel
//! image and the stack.
//!
//! Two tiers, both O(1) for the common case and with no metadata headers:
//! - small blocks (up to 2 KiB, in eight power-of-two size classes from 16
//!   bytes) come from per-class free lists; a class that runs dry takes one
//!   4 KiB page and cuts it into blocks, which are naturally aligned to
//!   their size. Small-block pages are never given back to the page tier.
//! - everything larger takes whole pages, first fit, from an address-sorted
//!   list of free page runs that coalesces neighbours on free.
//!
//! The free-list links live in the free memory itself.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr;

/// Page size of the page tier.
pub const PAGE_SIZE: usize = 4096;
const MIN_CLASS_SHIFT: u32 = 4;
const CLASSES: usize = 8;
/// Largest block served by the small tier.
pub const SMALL_MAX: usize = 1 << (MIN_CLASS_SHIFT as usize + CLASSES - 1);

/// A free run of pages (stored at its own start).
struct Run {
    pages: usize,
    next: *mut Run,
}

/// A free small block (stored at its own start).
struct Block {
    next: *mut Block,
}

/// Allocator state. All pointers point into `[start, end)`.
pub struct Heap {
    runs: *mut Run,
    small: [*mut Block; CLASSES],
    start: usize,
    end: usize,
}

fn align_up(x: usize, align: usize) -> Option<usize> {
    Some(x.checked_add(align - 1)? & !(align - 1))
}

/// Size class of a layout, or None for the page tier.
fn class_of(layout: Layout) -> Option<usize> {
    let size = layout.size().max(layout.align()).max(1 << MIN_CLASS_SHIFT);
    if size > SMALL_MAX {
        return None;
    }
    let shift = usize::BITS - (size - 1).leading_zeros();
    Some((shift - MIN_CLASS_SHIFT) as usize)
}

fn class_size(class: usize) -> usize {
    1 << (class + MIN_CLASS_SHIFT as usize)
}

fn pages_for(size: usize) -> Option<usize> {
    Some(align_up(size.max(1), PAGE_SIZE)? / PAGE_SIZE)
}

impl Heap {
    /// A heap with no memory: every allocation fails.
    pub const fn empty() -> Heap {
        Heap {
            runs: ptr::null_mut(),
            small: [ptr::null_mut(); CLASSES],
            start: 0,
            end: 0,
        }
    }

    /// Hands `[start, end)` to the heap (shrunk to whole pages).
    ///
    /// # Safety
    /// The region must be memory nothing else uses for as long as the heap
    /// lives, and the heap must be empty.
    pub unsafe fn init(&mut self, start: usize, end: usize) {
        let (Some(s), e) = (align_up(start, PAGE_SIZE), end & !(PAGE_SIZE - 1)) else {
            return;
        };
        if s >= e {
            return;
        }
        self.start = s;
        self.end = e;
        let run = s as *mut Run;
        // SAFETY: the caller gives us the page-aligned region [s, e).
        unsafe {
            run.write(Run {
                pages: (e - s) / PAGE_SIZE,
                next: ptr::null_mut(),
            })
        };
        self.runs = run;
    }

    /// The region the heap manages.
    pub fn region(&self) -> core::ops::Range<usize> {
        self.start..self.end
    }

    /// Bytes in free page runs (not counting free small blocks).
    pub fn free_page_bytes(&self) -> usize {
        let mut total = 0;
        let mut r = self.runs;
        while !r.is_null() {
            // SAFETY: every run in the list is a valid Run we wrote.
            let run = unsafe { &*r };
            total += run.pages * PAGE_SIZE;
            r = run.next;
        }
        total
    }

    /// Allocates `pages` pages aligned to `align` (a power of two, at least
    /// a page). First fit.
    fn alloc_pages(&mut self, pages: usize, align: usize) -> *mut u8 {
        let Some(need) = pages.checked_mul(PAGE_SIZE) else {
            return ptr::null_mut();
        };
        let mut link: *mut *mut Run = &mut self.runs;
        // SAFETY: `link` always points at `self.runs` or at the `next` field
        // of a run in the list; runs are valid, page-aligned, and disjoint.
        unsafe {
            while !(*link).is_null() {
                let run = *link;
                let start = run as usize;
                let end = start + (*run).pages * PAGE_SIZE;
                let next = (*run).next;
                if let Some(at) = align_up(start, align) {
                    if at <= end && end - at >= need {
                        // Unlink, then give back what is left on each side.
                        *link = next;
                        let tail = at + need;
                        if tail < end {
                            let t = tail as *mut Run;
                            t.write(Run {
                                pages: (end - tail) / PAGE_SIZE,
                                next,
                            });
                            *link = t;
                        }
                        if at > start {
                            run.write(Run {
                                pages: (at - start) / PAGE_SIZE,
                                next: *link,
                            });
                            *link = run;
                        }
                        return at as *mut u8;
                    }
                }
                link = &mut (*run).next;
            }
        }
        ptr::null_mut()
    }

    /// Returns `pages` pages at `addr` to the free list, merging with free
    /// neighbours.
    ///
    /// # Safety
    /// The pages must have come from `alloc_pages` and not be free already.
    unsafe fn free_pages(&mut self, addr: usize, pages: usize) {
        let mut prev: *mut Run = ptr::null_mut();
        let mut next = self.runs;
        // SAFETY: walking valid runs; the freed pages are ours again, so we
        // may write a Run header at `addr`.
        unsafe {
            while !next.is_null() && (next as usize) < addr {
                prev = next;
                next = (*next).next;
            }
            let node = addr as *mut Run;
            node.write(Run { pages, next });
            if !next.is_null() && addr + pages * PAGE_SIZE == next as usize {
                (*node).pages += (*next).pages;
                (*node).next = (*next).next;
            }
            if prev.is_null() {
                self.runs = node;
            } else if prev as usize + (*prev).pages * PAGE_SIZE == addr {
                (*prev).pages += (*node).pages;
                (*prev).next = (*node).next;
            } else {
                (*prev).next = node;
            }
        }
    }

    /// Allocates memory for `layout`, or returns null.
    pub fn alloc(&mut self, layout: Layout) -> *mut u8 {
        match class_of(layout) {
            Some(class) => self.alloc_small(class),
            None => match pages_for(layout.size()) {
                Some(pages) => self.alloc_pages(pages, layout.align().max(PAGE_SIZE)),
                None => ptr::null_mut(),
            },
        }
    }

    fn alloc_small(&mut self, class: usize) -> *mut u8 {
        let Some(head) = self.small.get_mut(class) else {
            return ptr::null_mut();
        };
        if head.is_null() {
            let page = self.alloc_pages(1, PAGE_SIZE);
            if page.is_null() {
                return ptr::null_mut();
            }
            let size = class_size(class);
            let mut list: *mut Block = ptr::null_mut();
            // Thread the page's blocks, highest first, so the list hands
            // them out in address order.
            for i in (0..PAGE_SIZE / size).rev() {
                // SAFETY: block i lies inside the page we just took.
                unsafe {
                    let b = page.add(i * size) as *mut Block;
                    b.write(Block { next: list });
                    list = b;
                }
            }
            let Some(head) = self.small.get_mut(class) else {
                return ptr::null_mut();
            };
            *head = list;
        }
        let Some(head) = self.small.get_mut(class) else {
            return ptr::null_mut();
        };
        let b = *head;
        // SAFETY: b is a free block of this class (non-null here).
        *head = unsafe { (*b).next };
        b as *mut u8
    }

    /// Frees memory from [`Heap::alloc`].
    ///
    /// # Safety
    /// `ptr` must have been returned by `alloc` of this heap with the same
    /// `layout` and not freed since.
    pub unsafe fn dealloc(&mut self, ptr: *mut u8, layout: Layout) {
        match class_of(layout) {
            Some(class) => {
                if let Some(head) = self.small.get_mut(class) {
                    let b = ptr as *mut Block;
                    // SAFETY: the block is ours again; it is at least 16
                    // bytes and 16-aligned, room for a Block.
                    unsafe { b.write(Block { next: *head }) };
                    *head = b;
                }
            }
            None => {
                if let Some(pages) = pages_for(layout.size()) {
                    // SAFETY: forwarded caller guarantee.
                    unsafe { self.free_pages(ptr as usize, pages) };
                }
            }
        }
    }

    /// Whether an allocation of `old` can be resized to `new_size` in place.
    pub fn fits_in_place(old: Layout, new_size: usize) -> bool {
        let Ok(new) = Layout::from_size_align(new_size, old.align()) else {
            return false;
        };
        match (class_of(old), class_of(new)) {
            (Some(a), Some(b)) => a == b,
            (None, None) => pages_for(old.size()) == pages_for(new_size),
            _ => false,
        }
    }
}

/// The runtime's `#[global_allocator]`.
pub struct RuntimeAllocator(UnsafeCell<Heap>);

// SAFETY: a Solo5 unikernel has one CPU, no interrupts and no signal
// handlers, and the allocator never calls out to other code, so two
// allocator calls can never overlap.
unsafe impl Sync for RuntimeAllocator {}

impl RuntimeAllocator {
    /// An allocator with no memory yet.
    pub const fn new() -> Self {
        RuntimeAllocator(UnsafeCell::new(Heap::empty()))
    }

    /// Hands the heap region to the allocator.
    ///
    /// # Safety
    /// As [`Heap::init`]; call once, before any allocation.
    pub(crate) unsafe fn init(&self, start: usize, end: usize) {
        // SAFETY: boot time, no allocation in progress (see Sync impl).
        unsafe { (*self.0.get()).init(start, end) }
    }

    /// The heap region.
    pub fn region(&self) -> core::ops::Range<usize> {
        // SAFETY: no allocator call can be in progress (see Sync impl).
        unsafe { (*self.0.get()).region() }
    }

    /// Bytes in free page runs.
    pub fn free_page_bytes(&self) -> usize {
        // SAFETY: as in `region`.
        unsafe { (*self.0.get()).free_page_bytes() }
    }
}

impl Default for RuntimeAllocator {
    fn default() -> Self {
        RuntimeAllocator::new()
    }
}

// SAFETY: Heap::alloc returns null or a block of at least layout.size()
// bytes aligned to layout.align(), not overlapping any live block;
// dealloc/realloc forward the GlobalAlloc caller's guarantees.
unsafe impl GlobalAlloc for RuntimeAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: calls never overlap (see Sync impl).
        unsafe { (*self.0.get()).alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded caller guarantee; calls never overlap.
        unsafe { (*self.0.get()).dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if Heap::fits_in_place(layout, new_size) {
            return ptr;
        }
        // SAFETY: GlobalAlloc's realloc contract: new_size is non-zero and
        // valid for layout.align(); the old block is live.
        unsafe {
            let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
            let new = self.alloc(new_layout);
            if !new.is_null() {
                ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}

#[cfg(not(test))]
#[global_allocator]
static ALLOCATOR: RuntimeAllocator = RuntimeAllocator::new();

/// The global allocator (for its statistics).
#[cfg(not(test))]
pub fn allocator() -> &'static RuntimeAllocator {
    &ALLOCATOR
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Region {
        mem: Vec<u8>,
        heap: Heap,
    }

    fn region(pages: usize) -> Region {
        let mem = vec![0u8; (pages + 1) * PAGE_SIZE];
        let mut heap = Heap::empty();
        let start = mem.as_ptr() as usize;
        // SAFETY: `mem` outlives `heap` inside Region and is used by nothing else.
        unsafe { heap.init(start, start + mem.len()) };
        Region { mem, heap }
    }

    #[test]
    fn classes() {
        let l = |s, a| Layout::from_size_align(s, a).unwrap();
        assert_eq!(class_of(l(1, 1)), Some(0));
        assert_eq!(class_of(l(16, 8)), Some(0));
        assert_eq!(class_of(l(17, 1)), Some(1));
        assert_eq!(class_of(l(8, 64)), Some(2));
        assert_eq!(class_of(l(2048, 8)), Some(7));
        assert_eq!(class_of(l(2049, 8)), None);
        assert_eq!(class_of(l(8, 4096)), None);
    }

    #[test]
    fn empty_heap_fails() {
        let mut h = Heap::empty();
        assert!(h.alloc(Layout::new::<u64>()).is_null());
        assert!(h
            .alloc(Layout::from_size_align(10000, 8).unwrap())
            .is_null());
    }

    #[test]
    fn large_blocks_coalesce_back() {
        let mut r = region(64);
        let total = r.heap.free_page_bytes();
        assert_eq!(total, 64 * PAGE_SIZE);
        let l1 = Layout::from_size_align(3 * PAGE_SIZE, 8).unwrap();
        let l2 = Layout::from_size_align(5000, 16384).unwrap();
        let a = r.heap.alloc(l1);
        let b = r.heap.alloc(l2);
        let c = r.heap.alloc(l1);
        assert!(!a.is_null() && !b.is_null() && !c.is_null());
        assert_eq!(b as usize % 16384, 0);
        assert_eq!(r.heap.free_page_bytes(), total - 8 * PAGE_SIZE);
        // SAFETY: each pointer came from alloc with that layout.
        unsafe {
            r.heap.dealloc(b, l2);
            r.heap.dealloc(a, l1);
            r.heap.dealloc(c, l1);
        }
        assert_eq!(r.heap.free_page_bytes(), total);
        // One run again: the whole region fits one allocation.
        let all = Layout::from_size_align(total, 8).unwrap();
        let p = r.heap.alloc(all);
        assert!(!p.is_null());
        assert!(r.heap.alloc(Layout::new::<u8>()).is_null());
        drop(r.mem);
    }

    #[test]
    fn random_workload_never_overlaps() {
        let mut r = region(256);
        let range = r.heap.region();
        let mut live: Vec<(usize, Layout, u8)> = Vec::new();
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut rand = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for step in 0..20_000u32 {
            if live.len() < 200 && rand() % 3 != 0 {
                let size = match rand() % 10 {
                    0 => (rand() % 20_000) as usize + 1,
                    1..=3 => (rand() % 2048) as usize + 1,
                    _ => (rand() % 128) as usize + 1,
                };
                let align = 1usize << (rand() % 7);
                let layout = Layout::from_size_align(size, align).unwrap();
                let p = r.heap.alloc(layout);
                if p.is_null() {
                    continue;
                }
                let a = p as usize;
                assert_eq!(a % align, 0);
                assert!(range.contains(&a) && a + size <= range.end);
                for &(b, l, _) in &live {
                    assert!(a + size <= b || b + l.size() <= a, "overlap at step {step}");
                }
                let tag = step as u8;
                // SAFETY: p points to `size` fresh bytes.
                unsafe { ptr::write_bytes(p, tag, size) };
                live.push((a, layout, tag));
            } else if !live.is_empty() {
                let i = (rand() as usize) % live.len();
                let (a, l, tag) = live.swap_remove(i);
                // SAFETY: the block is live and `l.size()` bytes long.
                let bytes = unsafe { core::slice::from_raw_parts(a as *const u8, l.size()) };
                assert!(bytes.iter().all(|&b| b == tag), "block corrupted");
                // SAFETY: allocated with this layout, freed once.
                unsafe { r.heap.dealloc(a as *mut u8, l) };
            }
        }
        drop(r.mem);
    }

    #[test]
    fn in_place_resizing() {
        let l = Layout::from_size_align(100, 8).unwrap();
        assert!(Heap::fits_in_place(l, 128));
        assert!(!Heap::fits_in_place(l, 129));
        let big = Layout::from_size_align(5000, 8).unwrap();
        assert!(Heap::fits_in_place(big, 8192));
        assert!(!Heap::fits_in_place(big, 8193));
        assert!(!Heap::fits_in_place(big, 100));
    }
}
