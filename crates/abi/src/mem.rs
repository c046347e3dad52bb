//! Guest memory sizes: the one place that says what `--mem` may be and
//! what each tender makes of it, used by the tenders and by
//! `corten-elftool validate` alike (so that validate's verdict is the
//! tenders').

/// Default guest memory (`--mem`), MiB.
pub const DEFAULT_MEM_MIB: u64 = 512;
/// Largest `--mem` value the command lines accept, MiB (the byte count
/// must fit 64 bits); the tenders' own limits below are smaller.
pub const MAX_MEM_MIB: u64 = u64::MAX >> 20;

/// Why an hvt guest cannot have the memory asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooLarge {
    /// The size after rounding, bytes.
    pub size: u64,
    /// The architecture's maximum, bytes.
    pub max: u64,
}

/// What corten-hvt makes of `requested` bytes: rounded down to `block`
/// (the guest's large page), at least one block, at most `max`. Returns
/// the size and whether it differs from the request.
pub const fn hvt_guest_size(requested: u64, block: u64, max: u64) -> Result<(u64, bool), TooLarge> {
    let mut size = requested / block * block;
    if size < block {
        size = block;
    }
    if size > max {
        return Err(TooLarge { size, max });
    }
    Ok((size, size != requested))
}

/// [`hvt_guest_size`] with the host architecture's block and maximum.
pub const fn hvt_guest_size_host(requested: u64) -> Result<(u64, bool), TooLarge> {
    #[cfg(target_arch = "aarch64")]
    use crate::hvt::aarch64 as a;
    #[cfg(not(target_arch = "aarch64"))]
    use crate::hvt::x86_64 as a;
    #[cfg(target_arch = "aarch64")]
    let block = a::GUEST_BLOCK_SIZE;
    #[cfg(not(target_arch = "aarch64"))]
    let block = a::GUEST_PAGE_SIZE;
    hvt_guest_size(requested, block, a::GUEST_MAX_MEM_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn rounds_down_to_blocks_within_the_maximum() {
        assert_eq!(
            hvt_guest_size(512 * MIB, 2 * MIB, 4096 * MIB),
            Ok((512 * MIB, false))
        );
        assert_eq!(
            hvt_guest_size(MIB, 2 * MIB, 4096 * MIB),
            Ok((2 * MIB, true))
        );
        assert_eq!(
            hvt_guest_size(5 * MIB, 2 * MIB, 4096 * MIB),
            Ok((4 * MIB, true))
        );
        assert_eq!(
            hvt_guest_size(65536 * MIB, 2 * MIB, 4096 * MIB),
            Err(TooLarge {
                size: 65536 * MIB,
                max: 4096 * MIB
            })
        );
        assert!(hvt_guest_size_host(4096 * MIB).is_ok());
        assert!(hvt_guest_size_host(4098 * MIB).is_err());
    }
}
