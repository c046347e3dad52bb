//! Checking the layout against guest memory, and copying segments into it.

use crate::error::{ElfError, Place, Problem};
use crate::raw::PT_LOAD;
use crate::{Elf, ReadAt, Segment};

impl Elf {
    /// Every segment lies in [min_base, mem_size) and the entry point too.
    pub fn check_layout(&self, mem_size: u64, min_base: u64) -> Result<(), ElfError> {
        for s in &self.segments {
            let place = Place::ProgramHeader {
                index: s.phdr_index,
                p_type: PT_LOAD,
            };
            if s.start < min_base {
                return Err(ElfError::new(
                    &self.name,
                    place,
                    Problem::BelowMinBase {
                        vaddr: s.vaddr,
                        start: s.start,
                        min_base,
                    },
                ));
            }
            if s.end > mem_size {
                return Err(ElfError::new(
                    &self.name,
                    place,
                    Problem::PastMemoryEnd {
                        start: s.start,
                        end: s.end,
                        mem_size,
                    },
                ));
            }
        }
        // Implied by the checks above (the entry lies inside a segment), kept
        // so the rule holds even if the segment rules change.
        if self.entry < min_base || self.entry >= mem_size {
            return Err(ElfError::new(
                &self.name,
                Place::ElfHeader,
                Problem::EntryOutsideMemory {
                    entry: self.entry,
                    min_base,
                    mem_size,
                },
            ));
        }
        Ok(())
    }

    /// Copies each segment's file bytes to mem[vaddr..] and zeroes its BSS.
    /// `mem` is guest memory indexed by guest-physical address. Call
    /// check_layout first; load re-checks bounds and never panics.
    ///
    /// Every byte of each segment's page range `[start, end)` that does not
    /// come from the file is zeroed, so stale memory never shows through.
    pub fn load<R: ReadAt + ?Sized>(&self, file: &R, mem: &mut [u8]) -> Result<(), ElfError> {
        self.load_segments(file, mem, true)
    }

    /// Like [`Elf::load`], for memory known to be all zero (a fresh
    /// anonymous mapping): only file bytes are written, so the pages of a
    /// large BSS are not touched and stay unallocated until the guest uses
    /// them.
    pub fn load_into_zeroed<R: ReadAt + ?Sized>(
        &self,
        file: &R,
        mem: &mut [u8],
    ) -> Result<(), ElfError> {
        self.load_segments(file, mem, false)
    }

    fn load_segments<R: ReadAt + ?Sized>(
        &self,
        file: &R,
        mem: &mut [u8],
        zero: bool,
    ) -> Result<(), ElfError> {
        let mem_len = mem.len() as u64;
        for s in &self.segments {
            let err = |problem| {
                let place = Place::ProgramHeader {
                    index: s.phdr_index,
                    p_type: PT_LOAD,
                };
                ElfError::new(&self.name, place, problem)
            };
            let Some((head, bytes, tail)) = split_pages(s, mem) else {
                return Err(err(Problem::LoadOutsideMemory {
                    start: s.start,
                    end: s.end,
                    mem_len,
                }));
            };
            if !bytes.is_empty() {
                file.read_exact_at(bytes, s.offset).map_err(|source| {
                    err(Problem::Read {
                        offset: s.offset,
                        len: s.filesz,
                        source,
                    })
                })?;
            }
            if zero {
                head.fill(0);
                tail.fill(0);
            }
        }
        Ok(())
    }
}

/// Splits the segment's page range in `mem` into the bytes before p_vaddr,
/// the p_filesz bytes from the file, and the rest up to the page end; `None`
/// if the range is not inside `mem`.
fn split_pages<'m>(
    s: &Segment,
    mem: &'m mut [u8],
) -> Option<(&'m mut [u8], &'m mut [u8], &'m mut [u8])> {
    let start = usize::try_from(s.start).ok()?;
    let end = usize::try_from(s.end).ok()?;
    let file_at = usize::try_from(s.vaddr.checked_sub(s.start)?).ok()?;
    let file_len = usize::try_from(s.filesz).ok()?;
    let pages = mem.get_mut(start..end)?;
    let (head, rest) = pages.split_at_mut_checked(file_at)?;
    let (bytes, tail) = rest.split_at_mut_checked(file_len)?;
    Some((head, bytes, tail))
}
