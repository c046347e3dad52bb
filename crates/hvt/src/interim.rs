//! INTERIM: a minimal command line, ELF loader, manifest reader and
//! block/tap attach, so the tender can be developed and tested before the
//! shared crates (`corten-tender`, `corten-elf`, `corten-manifest`) land.
//! Delete this module once they are merged.

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::FileExt;

use corten_abi::mft::{MftEntry, MftHeader, MFT_DEV_BLOCK_BASIC, MFT_DEV_NET_BASIC, MFT_MAX_ENTRIES};
use corten_abi::note::{ABI1_NOTE_TYPE, MFT1_NOTE_TYPE};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InterimError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, InterimError> {
    Err(InterimError(msg.into()))
}

pub struct Options {
    pub mem_mib: u64,
    pub blocks: Vec<(String, String)>,
    pub block_sizes: Vec<(String, u64)>,
    pub nets: Vec<(String, String)>,
    pub macs: Vec<(String, [u8; 6])>,
    pub dumpcore: Option<String>,
    pub gdb: bool,
    pub gdb_port: u16,
    pub kernel: String,
    pub args: Vec<String>,
}

pub fn parse_args(argv: &[String]) -> Result<Options, InterimError> {
    let mut o = Options {
        mem_mib: 512,
        blocks: vec![],
        block_sizes: vec![],
        nets: vec![],
        macs: vec![],
        dumpcore: None,
        gdb: false,
        gdb_port: 1234,
        kernel: String::new(),
        args: vec![],
    };
    let mut it = argv.iter().skip(1).peekable();
    while let Some(a) = it.peek() {
        if !a.starts_with('-') {
            break;
        }
        let a = it.next().map(String::as_str).unwrap_or("");
        if a == "--" {
            break;
        } else if let Some(v) = a.strip_prefix("--mem=") {
            o.mem_mib = v
                .parse()
                .ok()
                .filter(|&m| m > 0)
                .ok_or_else(|| InterimError("Malformed argument to --mem".into()))?;
        } else if let Some(v) = a.strip_prefix("--block:") {
            let (n, p) = v.split_once('=').ok_or_else(|| InterimError(format!("Invalid option: `{a}'")))?;
            o.blocks.push((n.into(), p.into()));
        } else if let Some(v) = a.strip_prefix("--block-sector-size:") {
            let (n, s) = v.split_once('=').ok_or_else(|| InterimError(format!("Invalid option: `{a}'")))?;
            let s: u64 = s.parse().map_err(|_| InterimError(format!("Invalid option: `{a}'")))?;
            if s < 512 || !s.is_power_of_two() {
                return err("Block size must be a multiple of 2 greater than or equal 512");
            }
            o.block_sizes.push((n.into(), s));
        } else if let Some(v) = a.strip_prefix("--net:") {
            let (n, i) = v.split_once('=').ok_or_else(|| InterimError(format!("Invalid option: `{a}'")))?;
            o.nets.push((n.into(), i.into()));
        } else if let Some(v) = a.strip_prefix("--net-mac:") {
            let (n, m) = v.split_once('=').ok_or_else(|| InterimError(format!("Invalid option: `{a}'")))?;
            let mut mac = [0u8; 6];
            let parts: Vec<_> = m.split(':').collect();
            if parts.len() != 6 {
                return err(format!("Invalid option: `{a}'"));
            }
            for (d, p) in mac.iter_mut().zip(parts) {
                *d = u8::from_str_radix(p, 16).map_err(|_| InterimError(format!("Invalid option: `{a}'")))?;
            }
            o.macs.push((n.into(), mac));
        } else if let Some(v) = a.strip_prefix("--dumpcore=") {
            o.dumpcore = Some(v.into());
        } else if a == "--gdb" {
            o.gdb = true;
        } else if let Some(v) = a.strip_prefix("--gdb-port=") {
            o.gdb_port = v.parse().map_err(|_| InterimError(format!("Invalid option: `{a}'")))?;
        } else {
            return err(format!("Invalid option: `{a}'"));
        }
    }
    o.kernel = it
        .next()
        .cloned()
        .ok_or_else(|| InterimError("Missing KERNEL operand".into()))?;
    o.args = it.cloned().collect();
    Ok(o)
}

pub struct Segment {
    pub vaddr: u64,
    pub offset: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub flags: u32,
}

pub struct Elf {
    pub entry: u64,
    pub segments: Vec<Segment>,
    pub abi: Option<(u32, u32)>,
    pub mft_desc: Option<Vec<u8>>,
}

fn rd<const N: usize>(b: &[u8], off: usize) -> Result<[u8; N], InterimError> {
    b.get(off..off + N)
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .ok_or_else(|| InterimError("truncated ELF structure".into()))
}
fn u16le(b: &[u8], o: usize) -> Result<u64, InterimError> {
    Ok(u64::from(u16::from_le_bytes(rd(b, o)?)))
}
fn u32le(b: &[u8], o: usize) -> Result<u64, InterimError> {
    Ok(u64::from(u32::from_le_bytes(rd(b, o)?)))
}
fn u64le(b: &[u8], o: usize) -> Result<u64, InterimError> {
    Ok(u64::from_le_bytes(rd(b, o)?))
}

fn read_at(f: &File, off: u64, len: u64) -> Result<Vec<u8>, InterimError> {
    if len > 64 << 20 {
        return err("ELF structure too large");
    }
    let mut v = vec![0u8; len as usize];
    f.read_exact_at(&mut v, off)
        .map_err(|e| InterimError(format!("read of {len} bytes at {off}: {e}")))?;
    Ok(v)
}

pub fn parse_elf(f: &File) -> Result<Elf, InterimError> {
    let h = read_at(f, 0, 64)?;
    if h.get(..4) != Some(b"\x7fELF") || h.get(4) != Some(&2) || h.get(5) != Some(&1) {
        return err("not an ELF64 little-endian file");
    }
    let machine = u16le(&h, 18)?;
    let want = if cfg!(target_arch = "x86_64") { 62 } else { 183 };
    if machine != want {
        return err("ELF for the wrong architecture");
    }
    let entry = u64le(&h, 24)?;
    let phoff = u64le(&h, 32)?;
    let phentsize = u16le(&h, 54)?;
    let phnum = u16le(&h, 56)?;
    if phentsize != 56 {
        return err("bad e_phentsize");
    }
    let ph = read_at(f, phoff, phnum * 56)?;
    let mut elf = Elf {
        entry,
        segments: vec![],
        abi: None,
        mft_desc: None,
    };
    for i in 0..phnum as usize {
        let o = i * 56;
        let ptype = u32le(&ph, o)?;
        let flags = u32le(&ph, o + 4)? as u32;
        let offset = u64le(&ph, o + 8)?;
        let vaddr = u64le(&ph, o + 16)?;
        let filesz = u64le(&ph, o + 32)?;
        let memsz = u64le(&ph, o + 40)?;
        if ptype == 1 && filesz > 0 {
            if memsz < filesz {
                return err("p_memsz < p_filesz");
            }
            elf.segments.push(Segment {
                vaddr,
                offset,
                filesz,
                memsz,
                flags,
            });
        } else if ptype == 4 {
            let notes = read_at(f, offset, filesz)?;
            let mut p = 0usize;
            while p + 12 <= notes.len() {
                let namesz = u32le(&notes, p)? as usize;
                let descsz = u32le(&notes, p + 4)? as usize;
                let ntype = u32le(&notes, p + 8)? as u32;
                let name_at = p + 12;
                let desc_at = name_at + namesz.div_ceil(4) * 4;
                let next = desc_at + descsz.div_ceil(4) * 4;
                let name = notes.get(name_at..name_at + namesz).unwrap_or(&[]);
                if name == b"Solo5\0" {
                    if ntype == ABI1_NOTE_TYPE {
                        let d = notes
                            .get(desc_at..desc_at + descsz)
                            .ok_or_else(|| InterimError("note does not fall within valid size".into()))?;
                        elf.abi = Some((u32le(d, 0)? as u32, u32le(d, 4)? as u32));
                    } else if ntype == MFT1_NOTE_TYPE {
                        // The manifest starts 8-byte aligned within the note.
                        let mft_at = (desc_at + 7) & !7;
                        let d = notes
                            .get(mft_at..desc_at + descsz)
                            .ok_or_else(|| InterimError("note does not fall within valid size".into()))?;
                        elf.mft_desc = Some(d.to_vec());
                    }
                }
                if next <= p {
                    break;
                }
                p = next;
            }
        }
    }
    Ok(elf)
}

impl Elf {
    pub fn kernel_end(&self) -> u64 {
        self.segments
            .iter()
            .map(|s| (s.vaddr + s.memsz + 0xfff) & !0xfff)
            .max()
            .unwrap_or(0)
    }

    pub fn load(&self, f: &File, mem: &mut [u8], min_base: u64) -> Result<(), InterimError> {
        let size = mem.len() as u64;
        if self.entry < min_base || self.entry >= size {
            return err("e_entry does not fall within the memory allocation range");
        }
        for s in &self.segments {
            let end = s.vaddr.checked_add(s.memsz).ok_or_else(|| InterimError("segment overflow".into()))?;
            if s.vaddr < min_base || end > size {
                return err("segment outside guest memory");
            }
            let dst = mem
                .get_mut(s.vaddr as usize..(s.vaddr + s.filesz) as usize)
                .ok_or_else(|| InterimError("segment outside guest memory".into()))?;
            f.read_exact_at(dst, s.offset)
                .map_err(|e| InterimError(format!("segment read: {e}")))?;
        }
        Ok(())
    }
}

pub struct Manifest {
    pub entries: Vec<MftEntry>,
}

pub fn parse_manifest(desc: &[u8]) -> Result<Manifest, InterimError> {
    let hdr = std::mem::size_of::<MftHeader>();
    let esz = std::mem::size_of::<MftEntry>();
    let n = u32le(desc, 4)? as usize;
    if n == 0 || n > MFT_MAX_ENTRIES || desc.len() < hdr + n * esz {
        return err("Solo5 manifest is invalid");
    }
    let mut entries = vec![];
    for i in 0..n {
        let b = desc
            .get(hdr + i * esz..hdr + (i + 1) * esz)
            .ok_or_else(|| InterimError("Solo5 manifest is invalid".into()))?;
        // SAFETY: `b` holds exactly size_of::<MftEntry>() bytes and
        // MftEntry is plain data.
        let e: MftEntry = unsafe { std::ptr::read_unaligned(b.as_ptr().cast()) };
        entries.push(e);
    }
    Ok(Manifest { entries })
}

impl Manifest {
    pub fn find(&self, name: &str, ty: u32) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.mtype == ty && e.name_bytes() == name.as_bytes())
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&1u32.to_le_bytes());
        v.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for e in &self.entries {
            // SAFETY: MftEntry is repr(C) plain data without padding.
            let b = unsafe {
                std::slice::from_raw_parts((e as *const MftEntry).cast::<u8>(), std::mem::size_of::<MftEntry>())
            };
            v.extend_from_slice(b);
        }
        v
    }
}

pub fn open_block(path: &str) -> Result<(OwnedFd, u64), InterimError> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| InterimError(format!("{path}: Could not open: {e}")))?;
    // lseek rather than metadata(): statx is not on urunc's allow-list.
    // SAFETY: plain syscall on a descriptor we own.
    let end = unsafe { libc::lseek(f.as_raw_fd(), 0, libc::SEEK_END) };
    if end < 0 {
        return err(format!("{path}: could not determine size"));
    }
    Ok((OwnedFd::from(f), end as u64))
}

pub fn open_tap(iface: &str) -> Result<OwnedFd, InterimError> {
    if let Some(n) = iface.strip_prefix('@') {
        let fd: i32 = n.parse().map_err(|_| InterimError(format!("bad fd {iface}")))?;
        // SAFETY: the user handed us this descriptor on the command line.
        return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")
        .map_err(|e| InterimError(format!("Could not attach interface: {iface}: {e}")))?;
    #[repr(C)]
    struct IfReq {
        name: [u8; 16],
        flags: i16,
        pad: [u8; 22],
    }
    let mut req = IfReq {
        name: [0; 16],
        flags: (libc::IFF_TAP | libc::IFF_NO_PI) as i16,
        pad: [0; 22],
    };
    let n = iface.as_bytes();
    if n.len() >= 16 {
        return err("interface name too long");
    }
    req.name[..n.len()].copy_from_slice(n);
    // SAFETY: TUNSETIFF reads an ifreq, which `req` is laid out as.
    let rc = unsafe { libc::ioctl(f.as_raw_fd(), libc::TUNSETIFF, &mut req) };
    if rc < 0 {
        return err(format!(
            "Could not attach interface: {iface}: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: fcntl on our own descriptor.
    unsafe {
        let fl = libc::fcntl(f.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(f.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
    Ok(OwnedFd::from(f))
}

pub const BLOCK: u32 = MFT_DEV_BLOCK_BASIC;
pub const NET: u32 = MFT_DEV_NET_BASIC;
