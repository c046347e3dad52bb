//! The network wire formats that Corten's host-side tests, its benchmark
//! and its test unikernels all build or read: the Internet checksum
//! ([`checksum`]), ICMP echo messages ([`icmp`]) and the IPv4 header around
//! them ([`ipv4`]).
//!
//! `no_std` and dependency-free, so the guest workspace links the same
//! code as the host crates. Nothing here panics: every accessor returns
//! `None` for a buffer too short for what it asks.
#![no_std]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod icmp;
pub mod ipv4;

/// The Internet checksum (RFC 1071) of `data`: the one's complement of the
/// one's complement sum of its big-endian 16-bit words, an odd last byte
/// padded with a zero byte. A message whose checksum field holds the
/// checksum of the rest sums to 0 ([`verifies`]).
pub fn checksum(data: &[u8]) -> u16 {
    // A u64 cannot overflow: that would take 2^48 words.
    let mut sum: u64 = 0;
    let mut words = data.chunks_exact(2);
    for w in &mut words {
        if let [hi, lo] = w {
            sum += u64::from(u16::from_be_bytes([*hi, *lo]));
        }
    }
    if let [last] = words.remainder() {
        sum += u64::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Whether `data`, checksum field included, carries a correct checksum.
pub fn verifies(data: &[u8]) -> bool {
    checksum(data) == 0
}

/// Writes the checksum of `data` into its big-endian 16-bit field at
/// `field`, computed with that field zero. `None` when the field does not
/// fit in `data`.
pub(crate) fn seal(data: &mut [u8], field: usize) -> Option<()> {
    let end = field.checked_add(2)?;
    data.get_mut(field..end)?.fill(0);
    let sum = checksum(data);
    data.get_mut(field..end)?
        .copy_from_slice(&sum.to_be_bytes());
    Some(())
}

/// Reads the big-endian 16-bit word at `at`.
pub(crate) fn be16(data: &[u8], at: usize) -> Option<u16> {
    match data.get(at..at.checked_add(2)?)? {
        [hi, lo] => Some(u16::from_be_bytes([*hi, *lo])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;

    #[test]
    fn rfc_1071_example() {
        // RFC 1071, section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn an_ipv4_header_from_the_wire() {
        // A captured UDP/IPv4 header whose checksum field holds 0xb861.
        let mut header = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert!(verifies(&header));
        header[10] = 0;
        header[11] = 0;
        assert_eq!(checksum(&header), 0xb861);
    }

    #[test]
    fn an_odd_last_byte_is_padded_with_zero() {
        assert_eq!(checksum(&[0x01]), !0x0100);
        let odd = [0x12, 0x34, 0x56];
        assert_eq!(checksum(&odd), checksum(&[0x12, 0x34, 0x56, 0x00]));
        assert_eq!(checksum(&odd), !(0x1234 + 0x5600));
    }

    #[test]
    fn empty_and_all_ones() {
        assert_eq!(checksum(&[]), 0xffff);
        // 0xffff is the one's complement zero: any number of them sum to it.
        assert_eq!(checksum(&[0xff, 0xff]), 0);
        assert_eq!(checksum(&[0xff; 6]), 0);
    }

    #[test]
    fn carries_fold_back_in_even_past_32_bits() {
        // 2^19 words of 0xffff: the plain sum exceeds u32.
        assert_eq!(checksum(&vec![0xff; 1 << 20]), 0);
        // Carries: 0x8000 + 0x8000 = 0x1_0000, folded to 0x0001.
        assert_eq!(checksum(&[0x80, 0x00, 0x80, 0x00]), !0x0001);
    }

    #[test]
    fn seal_writes_a_checksum_that_verifies() {
        let mut data = [0x12, 0x34, 0xaa, 0xbb, 0x56, 0x78, 0x9a];
        seal(&mut data, 2).unwrap();
        assert!(verifies(&data));
        assert_eq!(seal(&mut data, 6), None, "the field must fit");
        assert_eq!(seal(&mut data, usize::MAX), None);
    }
}
