//! A minimal ARP and ICMP echo responder, enough for `ping` from the host:
//! what the `net` and `net_2if` unikernels serve.

extern crate alloc;

use alloc::vec;
use corten_rt::net::NetDevice;
use corten_rt::time::{self, NSEC_PER_SEC};
use corten_rt::{println, Error};
use corten_wire::{icmp, ipv4};

const ETH_HLEN: usize = 14;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_ARP: u16 = 0x0806;
const BROADCAST_MAC: [u8; 6] = [0xff; 6];
const ARP_LEN: usize = 28;

/// One interface and the IPv4 address it answers on (a /24).
pub struct Iface {
    pub name: &'static str,
    pub dev: NetDevice,
    pub ip: [u8; 4],
}

impl Iface {
    fn broadcast(&self) -> [u8; 4] {
        [self.ip[0], self.ip[1], self.ip[2], 0xff]
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn put16(b: &mut [u8], at: usize, v: u16) -> Option<()> {
    b.get_mut(at..at + 2)?.copy_from_slice(&v.to_be_bytes());
    Some(())
}

fn copy(b: &mut [u8], to: usize, from: usize, len: usize) -> Option<()> {
    if from.checked_add(len)? > b.len() || to.checked_add(len)? > b.len() {
        return None;
    }
    b.copy_within(from..from + len, to);
    Some(())
}

fn set(b: &mut [u8], at: usize, v: &[u8]) -> Option<()> {
    b.get_mut(at..at + v.len())?.copy_from_slice(v);
    Some(())
}

/// What a frame turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// An ARP request for our address, turned into the reply.
    Arp,
    /// An ICMP echo request to us, turned into the reply.
    Echo,
    /// Something else; leave it.
    Ignore,
}

/// Turns an ARP request for `ip` or an ICMP echo request to `ip` (or its
/// broadcasts) into the reply, in place. `frame` is the received frame.
pub fn respond(mac: [u8; 6], ip: [u8; 4], bcast: [u8; 4], frame: &mut [u8]) -> Reply {
    match respond_inner(mac, ip, bcast, frame) {
        Some(r) => r,
        None => Reply::Ignore,
    }
}

fn respond_inner(mac: [u8; 6], ip: [u8; 4], bcast: [u8; 4], f: &mut [u8]) -> Option<Reply> {
    let dst = f.get(0..6)?;
    if dst != mac && dst != BROADCAST_MAC {
        return Some(Reply::Ignore);
    }
    match be16(f, 12)? {
        ETHERTYPE_ARP => {
            let a = ETH_HLEN;
            if f.len() < a + ARP_LEN
                || be16(f, a)? != 1
                || be16(f, a + 2)? != ETHERTYPE_IPV4
                || f.get(a + 4..a + 6)? != [6, 4]
                || be16(f, a + 6)? != 1
                || f.get(a + 24..a + 28)? != ip
            {
                return Some(Reply::Ignore);
            }
            copy(f, 0, 6, 6)?; // to the sender
            set(f, 6, &mac)?;
            put16(f, a + 6, 2)?; // reply
            copy(f, a + 18, a + 8, 10)?; // target = sender (mac + ip)
            set(f, a + 8, &mac)?;
            set(f, a + 14, &ip)?;
            Some(Reply::Arp)
        }
        ETHERTYPE_IPV4 => {
            let h = ETH_HLEN;
            if *f.get(h)? != ipv4::VERSION_IHL || *f.get(h + ipv4::PROTOCOL_AT)? != ipv4::PROTO_ICMP
            {
                return Some(Reply::Ignore); // not IPv4 without options, or not ICMP
            }
            let total = usize::from(be16(f, h + ipv4::TOTAL_LEN_AT)?);
            let to = f.get(h + ipv4::DESTINATION_AT..h + ipv4::DESTINATION_AT + 4)?;
            if (to != ip && to != bcast && to != [0xff; 4])
                || total < ipv4::HEADER_LEN + icmp::ECHO_HEADER_LEN
                || h + total > f.len()
            {
                return Some(Reply::Ignore);
            }
            // Not an echo request (or a damaged one): leave it.
            if icmp::answer(f.get_mut(h + ipv4::HEADER_LEN..h + total)?).is_none() {
                return Some(Reply::Ignore);
            }
            copy(f, 0, 6, 6)?;
            set(f, 6, &mac)?;
            put16(f, h + 4, 0)?; // id
            put16(f, h + 6, 0)?; // flags, fragment offset
            copy(f, h + ipv4::DESTINATION_AT, h + ipv4::SOURCE_AT, 4)?; // back to the sender
            set(f, h + ipv4::SOURCE_AT, &ip)?;
            ipv4::seal_header(f.get_mut(h..h + ipv4::HEADER_LEN)?)?;
            Some(Reply::Echo)
        }
        _ => Some(Reply::Ignore),
    }
}

/// A gratuitous ARP announcing `mac` at `ip`.
pub fn garp(mac: [u8; 6], ip: [u8; 4]) -> [u8; ETH_HLEN + ARP_LEN] {
    let mut f = [0u8; ETH_HLEN + ARP_LEN];
    f[0..6].copy_from_slice(&BROADCAST_MAC);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&ETHERTYPE_ARP.to_be_bytes());
    f[14..16].copy_from_slice(&1u16.to_be_bytes());
    f[16..18].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    f[18] = 6;
    f[19] = 4;
    f[20..22].copy_from_slice(&1u16.to_be_bytes());
    f[22..28].copy_from_slice(&mac);
    f[28..32].copy_from_slice(&ip);
    f[38..42].copy_from_slice(&ip);
    f
}

/// Options of the responders' command line.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    pub verbose: bool,
    /// Exit with SUCCESS after this many echo replies.
    pub limit: Option<u64>,
    /// The address to answer on, from `--ipv4=A.B.C.D/N` (MirageOS's
    /// option, which corten-oci passes with the pod's address).
    pub ipv4: Option<[u8; 4]>,
}

/// `A.B.C.D`.
fn parse_ipv4(s: &str) -> Option<[u8; 4]> {
    let mut ip = [0u8; 4];
    let mut parts = s.split('.');
    for b in &mut ip {
        *b = parts.next()?.parse().ok()?;
    }
    parts.next().is_none().then_some(ip)
}

/// Parses `[verbose] [limit | limit=N] [--ipv4=A.B.C.D/N]
/// [--ipv4-gateway=A.B.C.D]`; `limit` alone means 100000, the count
/// upstream's test suite pings. The gateway is accepted (as MirageOS
/// takes it) and not needed: replies go back to the requester's MAC.
pub fn parse_options(cmdline: &str) -> Result<Options, &str> {
    let mut o = Options::default();
    for w in corten_rt::cmdline::words(cmdline) {
        if let Some(cidr) = w.strip_prefix("--ipv4=") {
            let (addr, prefix) = cidr.split_once('/').ok_or(w)?;
            prefix.parse::<u8>().ok().filter(|&p| p <= 32).ok_or(w)?;
            o.ipv4 = Some(parse_ipv4(addr).ok_or(w)?);
        } else if let Some(gw) = w.strip_prefix("--ipv4-gateway=") {
            parse_ipv4(gw).ok_or(w)?;
        } else if w == "verbose" {
            o.verbose = true;
        } else if w == "limit" {
            o.limit = Some(100_000);
        } else if let Some(n) = w.strip_prefix("limit=") {
            o.limit = Some(n.parse().map_err(|_| w)?);
        } else {
            return Err(w);
        }
    }
    Ok(o)
}

fn hex(mac: [u8; 6]) -> impl core::fmt::Display {
    struct Mac([u8; 6]);
    impl core::fmt::Display for Mac {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            for b in self.0 {
                write!(f, "{b:02x}")?;
            }
            Ok(())
        }
    }
    Mac(mac)
}

/// Answers ARP and ping on every interface until `limit` echo replies were
/// sent (forever without a limit). Returns false on a device error.
pub fn serve(ifaces: &[Iface], o: Options) -> bool {
    let Some(max) = ifaces.iter().map(|i| i.dev.info().max_frame()).max() else {
        return false;
    };
    let mut buf = vec![0u8; max];
    for i in ifaces {
        let info = i.dev.info();
        println!(
            "[{}] serving ping on {}.{}.{}.{}, MAC {}, MTU {}",
            i.name,
            i.ip[0],
            i.ip[1],
            i.ip[2],
            i.ip[3],
            hex(info.mac),
            info.mtu
        );
        if i.dev.write(&garp(info.mac, i.ip)).is_err() {
            println!("[{}] could not send gratuitous ARP", i.name);
        }
    }
    let mut echoes = 0u64;
    loop {
        let ready = time::yield_until(time::monotonic() + NSEC_PER_SEC);
        for i in ifaces {
            if !ready.contains(i.dev.handle()) {
                continue;
            }
            let mac = i.dev.info().mac;
            // Drain the device: one wake-up, every waiting frame.
            loop {
                let n = match i.dev.read(&mut buf) {
                    Ok(n) => n,
                    Err(Error::Again) => break,
                    Err(e) => {
                        println!("[{}] read error: {e}", i.name);
                        return false;
                    }
                };
                let Some(frame) = buf.get_mut(..n) else {
                    break;
                };
                let reply = respond(mac, i.ip, i.broadcast(), frame);
                if reply == Reply::Ignore {
                    continue;
                }
                if let Err(e) = i.dev.write(frame) {
                    println!("[{}] write error: {e}", i.name);
                    return false;
                }
                if o.verbose {
                    println!("[{}] answered {reply:?}", i.name);
                }
                if reply == Reply::Echo {
                    echoes += 1;
                }
            }
        }
        if let Some(limit) = o.limit {
            if echoes >= limit {
                println!("limit of {limit} echo replies reached");
                return true;
            }
        }
    }
}
