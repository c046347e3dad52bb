//! PT_LOAD segments: the checks each one must pass on its own, the
//! page-aligned range and protection a tender applies to it.

use crate::error::Problem;
use crate::limits::PAGE_SIZE;
use crate::raw::{Phdr, PF_R, PF_W, PF_X};
use std::fmt;

/// Page protection of a loaded segment, from its `p_flags`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct Prot {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl Prot {
    /// The protection `p_flags` asks for (other bits are ignored).
    pub const fn from_flags(p_flags: u32) -> Prot {
        Prot {
            read: p_flags & PF_R != 0,
            write: p_flags & PF_W != 0,
            exec: p_flags & PF_X != 0,
        }
    }

    /// The `PROT_*` bits of mmap(2)/mprotect(2) (`PROT_READ` = 1,
    /// `PROT_WRITE` = 2, `PROT_EXEC` = 4 on Linux).
    pub const fn to_mmap_prot(self) -> i32 {
        (self.read as i32) | ((self.write as i32) << 1) | ((self.exec as i32) << 2)
    }
}

impl fmt::Display for Prot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = if self.read { "R" } else { "-" };
        let w = if self.write { "W" } else { "-" };
        let x = if self.exec { "X" } else { "-" };
        write!(f, "{r}{w}{x}")
    }
}

/// One PT_LOAD segment that occupies memory (`p_memsz` > 0), validated.
///
/// The guest bytes `[vaddr, vaddr + filesz)` come from the file at `offset`;
/// `[vaddr + filesz, vaddr + memsz)` is BSS (zero). `[start, end)` is the
/// range rounded out to `p_align` and then checked to be whole pages: the
/// range to protect with `prot`. Ranges of different segments never share a
/// page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Index of the program header this segment comes from.
    pub phdr_index: usize,
    pub vaddr: u64,
    pub offset: u64,
    pub filesz: u64,
    pub memsz: u64,
    /// Page-aligned start (p_vaddr rounded down to p_align).
    pub start: u64,
    /// Page-aligned end (p_vaddr + p_memsz rounded up to p_align).
    pub end: u64,
    pub prot: Prot,
}

impl Segment {
    /// Checks one PT_LOAD against every rule that needs no other segment and
    /// no memory size. `Ok(None)` for a segment that occupies no memory
    /// (`p_memsz` = 0, so also `p_filesz` = 0), which is skipped.
    pub(crate) fn from_phdr(
        phdr_index: usize,
        ph: &Phdr,
        file_size: u64,
    ) -> Result<Option<Segment>, Problem> {
        if ph.p_memsz < ph.p_filesz {
            return Err(Problem::MemszBelowFilesz {
                memsz: ph.p_memsz,
                filesz: ph.p_filesz,
            });
        }
        if ph.p_memsz == 0 {
            return Ok(None);
        }
        if ph.p_filesz > 0 {
            check_file_range(ph, file_size)?;
        }
        let align = ph.p_align;
        if !align.is_power_of_two() {
            return Err(Problem::Align { align });
        }
        let mem_end = ph
            .p_vaddr
            .checked_add(ph.p_memsz)
            .ok_or(Problem::MemRangeOverflow {
                vaddr: ph.p_vaddr,
                memsz: ph.p_memsz,
            })?;
        let start = ph.p_vaddr & !(align - 1);
        let end = mem_end
            .checked_add(align - 1)
            .map(|e| e & !(align - 1))
            .ok_or(Problem::AlignUpOverflow {
                end: mem_end,
                align,
            })?;
        if start & (PAGE_SIZE - 1) != 0 {
            return Err(Problem::StartNotPageAligned {
                vaddr: ph.p_vaddr,
                align,
                start,
            });
        }
        if end & (PAGE_SIZE - 1) != 0 {
            return Err(Problem::EndNotPageAligned {
                mem_end,
                align,
                end,
            });
        }
        if ph.p_flags & PF_W != 0 && ph.p_flags & PF_X != 0 {
            return Err(Problem::WriteExec { flags: ph.p_flags });
        }
        Ok(Some(Segment {
            phdr_index,
            vaddr: ph.p_vaddr,
            offset: ph.p_offset,
            filesz: ph.p_filesz,
            memsz: ph.p_memsz,
            start,
            end,
            prot: Prot::from_flags(ph.p_flags),
        }))
    }

    /// Whether `addr` lies in the segment's bytes `[vaddr, vaddr + memsz)`.
    pub fn contains(&self, addr: u64) -> bool {
        // vaddr + memsz cannot overflow: from_phdr checked it.
        addr >= self.vaddr && addr - self.vaddr < self.memsz
    }
}

/// Checks that `[p_offset, p_offset + p_filesz)` lies inside the file.
pub(crate) fn check_file_range(ph: &Phdr, file_size: u64) -> Result<(), Problem> {
    let end = ph
        .p_offset
        .checked_add(ph.p_filesz)
        .ok_or(Problem::FileRangeOverflow {
            offset: ph.p_offset,
            filesz: ph.p_filesz,
            size: file_size,
        })?;
    if end > file_size {
        return Err(Problem::FileRangeOutside {
            offset: ph.p_offset,
            filesz: ph.p_filesz,
            size: file_size,
        });
    }
    Ok(())
}

/// A new segment must start at or above the previous segment's p_vaddr and
/// share no page with any earlier one. Accepted segments are sorted and
/// disjoint, so the previous one also has the highest end.
pub(crate) fn check_order(seg: &Segment, earlier: &[Segment]) -> Result<(), Problem> {
    let Some(prev) = earlier.last() else {
        return Ok(());
    };
    if seg.vaddr < prev.vaddr {
        return Err(Problem::NotAscending {
            vaddr: seg.vaddr,
            prev: prev.phdr_index,
            prev_vaddr: prev.vaddr,
        });
    }
    if seg.start < prev.end {
        return Err(Problem::Overlap {
            start: seg.start,
            end: seg.end,
            other: prev.phdr_index,
            other_start: prev.start,
            other_end: prev.end,
        });
    }
    Ok(())
}

/// Checks that a program header other than PT_LOAD (PT_NOTE, PT_INTERP,
/// PT_TLS, ...) whose addresses fall inside a loaded segment names the bytes
/// that segment loads there: its file offset is the one the segment maps to
/// its p_vaddr, and it lies in the segment's file bytes (not its BSS). A
/// linker always writes them this way; a file where they disagree has had a
/// PT_LOAD moved, so what the guest finds at those addresses is not what
/// the headers (and the tender, which reads the notes from the file) say.
/// `segments` is in ascending address order, never overlapping
/// (check_order), so one binary search finds the only candidate.
pub(crate) fn check_placement(ph: &Phdr, segments: &[Segment]) -> Result<(), Problem> {
    if ph.p_filesz == 0 {
        return Ok(());
    }
    // Ranges that wraps past 2^64 cannot be loaded anywhere.
    let ph_end = ph.p_vaddr.saturating_add(ph.p_filesz);
    // The first segment whose bytes end after the header's range starts.
    let i = segments.partition_point(|s| s.vaddr.saturating_add(s.memsz) <= ph.p_vaddr);
    let Some(seg) = segments.get(i).filter(|s| s.vaddr < ph_end) else {
        return Ok(()); // not in guest memory: nothing to agree with
    };
    // vaddr + filesz cannot overflow: from_phdr checked vaddr + memsz.
    let file_end = seg.vaddr + seg.filesz;
    let inside = ph.p_vaddr >= seg.vaddr && ph_end <= file_end;
    let expected_offset = ph
        .p_vaddr
        .checked_sub(seg.vaddr)
        .and_then(|d| seg.offset.checked_add(d));
    if inside && expected_offset == Some(ph.p_offset) {
        return Ok(());
    }
    Err(Problem::NotLoadedThere {
        offset: ph.p_offset,
        vaddr: ph.p_vaddr,
        filesz: ph.p_filesz,
        segment: seg.phdr_index,
        seg_offset: seg.offset,
        seg_vaddr: seg.vaddr,
        seg_filesz: seg.filesz,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap
mod tests {
    use super::*;
    use crate::raw::PT_LOAD;

    fn load(vaddr: u64, filesz: u64, memsz: u64, flags: u32) -> Phdr {
        Phdr {
            p_type: PT_LOAD,
            p_flags: flags,
            p_offset: 0x1000,
            p_vaddr: vaddr,
            p_paddr: vaddr,
            p_filesz: filesz,
            p_memsz: memsz,
            p_align: 0x1000,
        }
    }

    const FILE: u64 = 0x10000;

    #[test]
    fn valid_segment_gets_page_range_and_prot() {
        let s = Segment::from_phdr(2, &load(0x100000, 0x40a3, 0x40a3, PF_X), FILE)
            .unwrap()
            .unwrap();
        assert_eq!((s.start, s.end), (0x100000, 0x105000));
        assert_eq!(
            s.prot,
            Prot {
                read: false,
                write: false,
                exec: true
            }
        );
        assert_eq!(s.phdr_index, 2);
        assert!(s.contains(0x100000) && s.contains(0x1040a2));
        assert!(!s.contains(0x1040a3) && !s.contains(0xfffff));
    }

    #[test]
    fn bss_only_segment_is_kept_and_file_range_not_checked() {
        let mut ph = load(0x108000, 0, 0x203ca0, PF_R | PF_W);
        ph.p_offset = u64::MAX; // irrelevant: nothing is read
        let s = Segment::from_phdr(6, &ph, FILE).unwrap().unwrap();
        assert_eq!((s.start, s.end), (0x108000, 0x30c000));
    }

    #[test]
    fn empty_segment_is_skipped_whatever_its_address() {
        let mut ph = load(0, 0, 0, PF_R);
        ph.p_align = 0; // not even alignment is looked at
        assert_eq!(Segment::from_phdr(4, &ph, FILE).unwrap(), None);
    }

    #[test]
    fn memsz_below_filesz() {
        let e = Segment::from_phdr(0, &load(0x100000, 0x20, 0x10, PF_R), FILE).unwrap_err();
        assert!(matches!(
            e,
            Problem::MemszBelowFilesz {
                memsz: 0x10,
                filesz: 0x20
            }
        ));
    }

    #[test]
    fn file_range_outside_and_overflow() {
        let mut ph = load(0x100000, 0x1000, 0x1000, PF_R);
        ph.p_offset = 0xf001;
        assert!(matches!(
            Segment::from_phdr(0, &ph, FILE),
            Err(Problem::FileRangeOutside { .. })
        ));
        ph.p_offset = 0xf000;
        assert!(Segment::from_phdr(0, &ph, FILE).is_ok());
        ph.p_offset = u64::MAX - 0xfff;
        assert!(matches!(
            Segment::from_phdr(0, &ph, FILE),
            Err(Problem::FileRangeOverflow { .. })
        ));
    }

    #[test]
    fn alignment_must_be_power_of_two() {
        for align in [0, 3, 0x1001, u64::MAX] {
            let mut ph = load(0x100000, 0x10, 0x10, PF_R);
            ph.p_align = align;
            assert!(
                matches!(Segment::from_phdr(0, &ph, FILE), Err(Problem::Align { align: a }) if a == align)
            );
        }
    }

    #[test]
    fn overflowing_ranges() {
        let ph = load(u64::MAX - 0xfff, 0, 0x2000, PF_R);
        assert!(matches!(
            Segment::from_phdr(0, &ph, FILE),
            Err(Problem::MemRangeOverflow { .. })
        ));
        let ph = load(u64::MAX - 0xfff, 0, 0x100, PF_R);
        assert!(matches!(
            Segment::from_phdr(0, &ph, FILE),
            Err(Problem::AlignUpOverflow { .. })
        ));
        // p_align 2^63 above 2^63: rounding the end up overflows too.
        let mut ph = load(0x8000_0000_0010_0000, 0, 0x100, PF_R);
        ph.p_align = 1 << 63;
        assert!(matches!(
            Segment::from_phdr(0, &ph, FILE),
            Err(Problem::AlignUpOverflow { .. })
        ));
    }

    #[test]
    fn page_alignment_of_both_ends() {
        let mut ph = load(0x100010, 0x10, 0x10, PF_R);
        ph.p_align = 0x10;
        assert!(matches!(
            Segment::from_phdr(0, &ph, FILE),
            Err(Problem::StartNotPageAligned {
                start: 0x100010,
                ..
            })
        ));
        let mut ph = load(0x100000, 0x10, 0x10, PF_R);
        ph.p_align = 0x10;
        assert!(matches!(
            Segment::from_phdr(0, &ph, FILE),
            Err(Problem::EndNotPageAligned { end: 0x100010, .. })
        ));
        // p_align 1 is fine when the segment covers whole pages.
        let mut ph = load(0x100000, 0x10, 0x1000, PF_R);
        ph.p_align = 1;
        assert!(Segment::from_phdr(0, &ph, FILE).is_ok());
        // A larger alignment rounds out further.
        let mut ph = load(0x110000, 0x10, 0x10, PF_R);
        ph.p_align = 0x10000;
        let s = Segment::from_phdr(0, &ph, FILE).unwrap().unwrap();
        assert_eq!((s.start, s.end), (0x110000, 0x120000));
    }

    #[test]
    fn write_and_exec_together_refused() {
        for flags in [PF_W | PF_X, PF_R | PF_W | PF_X] {
            assert!(matches!(
                Segment::from_phdr(0, &load(0x100000, 0x10, 0x10, flags), FILE),
                Err(Problem::WriteExec { .. })
            ));
        }
        // Unknown flag bits are ignored.
        let s = Segment::from_phdr(0, &load(0x100000, 0x10, 0x10, PF_R | 0xf000_0000), FILE)
            .unwrap()
            .unwrap();
        assert_eq!(s.prot, Prot::from_flags(PF_R));
    }

    #[test]
    fn prot_conversions() {
        let p = Prot::from_flags(PF_R | PF_X);
        assert_eq!(p.to_string(), "R-X");
        assert_eq!(p.to_mmap_prot(), 1 | 4);
        assert_eq!(Prot::from_flags(PF_R | PF_W).to_mmap_prot(), 1 | 2);
        assert_eq!(Prot::default().to_mmap_prot(), 0);
    }
}
