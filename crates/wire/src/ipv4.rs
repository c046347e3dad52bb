//! The IPv4 header (RFC 791), as far as an ICMP echo needs it.

use crate::seal;

/// Bytes of a header without options (IHL 5).
pub const HEADER_LEN: usize = 20;
/// The version and IHL byte of a header without options.
pub const VERSION_IHL: u8 = 0x45;
/// Protocol number of ICMP.
pub const PROTO_ICMP: u8 = 1;
/// Offsets of the fields a responder reads or rewrites.
pub const TOTAL_LEN_AT: usize = 2;
pub const PROTOCOL_AT: usize = 9;
pub const SOURCE_AT: usize = 12;
pub const DESTINATION_AT: usize = 16;
const CHECKSUM_AT: usize = 10;

/// The payload of `packet` (a header, then the payload, as a raw socket
/// delivers it), after as many header bytes as its IHL says. `None` when
/// the packet is no IPv4 or shorter than its header.
pub fn payload(packet: &[u8]) -> Option<&[u8]> {
    let &version_ihl = packet.first()?;
    let header_len = usize::from(version_ihl & 0x0f) * 4;
    if version_ihl >> 4 != 4 || header_len < HEADER_LEN {
        return None;
    }
    packet.get(header_len..)
}

/// Writes the header checksum of `header` (exactly the header's bytes).
pub fn seal_header(header: &mut [u8]) -> Option<()> {
    seal(header, CHECKSUM_AT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_follows_the_header_length() {
        let mut packet = [0u8; 28];
        packet[0] = VERSION_IHL;
        packet[20] = 8;
        assert_eq!(payload(&packet).map(<[u8]>::len), Some(8));
        assert_eq!(payload(&packet).and_then(<[u8]>::first), Some(&8));
        // With 4 bytes of options (IHL 6).
        packet[0] = 0x46;
        assert_eq!(payload(&packet).map(<[u8]>::len), Some(4));
    }

    #[test]
    fn bad_headers_have_no_payload() {
        assert_eq!(payload(&[]), None);
        assert_eq!(payload(&[0x4f]), None, "header longer than the packet");
        assert_eq!(payload(&[0x44; 30]), None, "IHL below 5");
        assert_eq!(payload(&[0x65; 30]), None, "IPv6 version");
    }

    #[test]
    fn a_sealed_header_verifies() {
        let mut header = [0u8; HEADER_LEN];
        header[0] = VERSION_IHL;
        header[PROTOCOL_AT] = PROTO_ICMP;
        header[SOURCE_AT..SOURCE_AT + 4].copy_from_slice(&[10, 0, 0, 1]);
        header[DESTINATION_AT..DESTINATION_AT + 4].copy_from_slice(&[10, 0, 0, 2]);
        seal_header(&mut header).unwrap();
        assert!(crate::verifies(&header));
        assert_eq!(seal_header(&mut header[..11]), None);
    }
}
