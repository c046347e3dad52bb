//! ICMP echo messages (RFC 792): type, code, checksum, identifier and
//! sequence number, then the payload the reply must carry back unchanged.

use crate::{be16, seal, verifies};

/// Type of an echo reply.
pub const ECHO_REPLY: u8 = 0;
/// Type of an echo request.
pub const ECHO_REQUEST: u8 = 8;
/// Bytes of the echo header; the payload follows.
pub const ECHO_HEADER_LEN: usize = 8;
const CHECKSUM_AT: usize = 2;
const ID_AT: usize = 4;
const SEQ_AT: usize = 6;

/// The header of an echo message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Echo {
    /// [`ECHO_REQUEST`] or [`ECHO_REPLY`].
    pub kind: u8,
    pub id: u16,
    pub seq: u16,
}

impl Echo {
    /// Reads the echo header of ICMP message `msg`: `None` when `msg` is
    /// shorter than the header or no echo message (type and code). The
    /// checksum is not looked at: see [`crate::verifies`].
    pub fn parse(msg: &[u8]) -> Option<Echo> {
        let (&kind, &code) = (msg.first()?, msg.get(1)?);
        if !(kind == ECHO_REQUEST || kind == ECHO_REPLY) || code != 0 {
            return None;
        }
        Some(Echo {
            kind,
            id: be16(msg, ID_AT)?,
            seq: be16(msg, SEQ_AT)?,
        })
    }

    /// Writes this header at the start of `msg`, whose payload is already
    /// in place, with the checksum over the whole of `msg`. `None` when
    /// `msg` is shorter than the header.
    pub fn write(&self, msg: &mut [u8]) -> Option<()> {
        let header = msg.get_mut(..ECHO_HEADER_LEN)?;
        header.fill(0);
        header[0] = self.kind;
        header[ID_AT..ID_AT + 2].copy_from_slice(&self.id.to_be_bytes());
        header[SEQ_AT..SEQ_AT + 2].copy_from_slice(&self.seq.to_be_bytes());
        seal(msg, CHECKSUM_AT)
    }
}

/// The payload of echo message `msg` (after the header).
pub fn payload(msg: &[u8]) -> Option<&[u8]> {
    msg.get(ECHO_HEADER_LEN..)
}

/// The payload of echo message `msg`, to fill before [`Echo::write`].
pub fn payload_mut(msg: &mut [u8]) -> Option<&mut [u8]> {
    msg.get_mut(ECHO_HEADER_LEN..)
}

/// Turns echo request `msg` into its reply in place: the type changes,
/// identifier, sequence and payload stay, the checksum is recomputed.
/// `None` (and `msg` unchanged) unless `msg` is an echo request with a
/// correct checksum.
pub fn answer(msg: &mut [u8]) -> Option<()> {
    if Echo::parse(msg)?.kind != ECHO_REQUEST || !verifies(msg) {
        return None;
    }
    *msg.first_mut()? = ECHO_REPLY;
    seal(msg, CHECKSUM_AT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verifies;

    fn request(id: u16, seq: u16) -> [u8; 12] {
        let mut msg = [0u8; 12];
        payload_mut(&mut msg).unwrap().copy_from_slice(b"ping");
        Echo {
            kind: ECHO_REQUEST,
            id,
            seq,
        }
        .write(&mut msg)
        .unwrap();
        msg
    }

    #[test]
    fn a_written_request_reads_back() {
        let msg = request(0x1234, 7);
        // 0x0800 + 0x1234 + 0x0007 + "pi" 0x7069 + "ng" 0x6e67 = 0xf90b.
        assert_eq!(&msg[..8], &[8, 0, 0x06, 0xf4, 0x12, 0x34, 0x00, 0x07][..]);
        assert_eq!(
            Echo::parse(&msg),
            Some(Echo {
                kind: ECHO_REQUEST,
                id: 0x1234,
                seq: 7
            })
        );
        assert_eq!(payload(&msg), Some(&b"ping"[..]));
    }

    #[test]
    fn answering_keeps_everything_but_type_and_checksum() {
        let mut msg = request(0xbeef, 1);
        answer(&mut msg).unwrap();
        let reply = Echo::parse(&msg).unwrap();
        assert_eq!((reply.kind, reply.id, reply.seq), (ECHO_REPLY, 0xbeef, 1));
        assert_eq!(payload(&msg), Some(&b"ping"[..]));
        assert_eq!(answer(&mut msg), None, "a reply is not answered");
    }

    #[test]
    fn damaged_or_short_messages_are_refused() {
        let mut msg = request(1, 2);
        msg[11] ^= 1;
        assert!(Echo::parse(&msg).is_some(), "the header is still readable");
        assert!(!verifies(&msg), "payload damaged");
        assert_eq!(answer(&mut msg), None, "a damaged request is not answered");
        assert_eq!(Echo::parse(&request(1, 2)[..7]), None, "truncated");
        assert_eq!(Echo::parse(&[]), None);
        let mut other = request(1, 2);
        other[0] = 3; // destination unreachable
        assert_eq!(Echo::parse(&other), None);
        let mut short = [0u8; 7];
        let echo = Echo {
            kind: ECHO_REQUEST,
            id: 1,
            seq: 1,
        };
        assert_eq!(echo.write(&mut short), None);
    }
}
