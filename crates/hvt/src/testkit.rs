//! Tiny hand-made hvt unikernels for tests and benchmarks: a valid Solo5
//! ELF (ABI1 and MFT1 notes, one read+execute PT_LOAD at 0x100000) around
//! a few bytes of x86-64 machine code, e.g. a hostile guest that misbehaves
//! in one specific way, or a loop of hypercalls. They need no toolchain and
//! run on upstream's solo5-hvt as well.

use std::path::PathBuf;

use corten_abi::mft::{MftEntry, MFT_DEV_BLOCK_BASIC, MFT_DEV_NET_BASIC};
use corten_abi::note::{Abi1Note, AbiTarget, Mft1Note};

/// Guest address of the code.
pub const TEXT: u64 = 0x10_0000;
/// Scratch guest memory the programs use for hypercall structs (RW).
pub const SCRATCH: u32 = 0x30_0000;

/// x86-64 machine code, emitted instruction by instruction.
#[derive(Default)]
pub struct Code(pub Vec<u8>);

impl Code {
    pub fn new() -> Code {
        Code::default()
    }
    /// `mov dword [addr], value`
    pub fn store32(mut self, addr: u32, value: u32) -> Code {
        self.0.extend_from_slice(&[0xc7, 0x04, 0x25]);
        self.0.extend_from_slice(&addr.to_le_bytes());
        self.0.extend_from_slice(&value.to_le_bytes());
        self
    }
    /// `mov qword [addr], value` (sign-extended 32-bit immediate)
    pub fn store64(mut self, addr: u32, value: i32) -> Code {
        self.0.extend_from_slice(&[0x48, 0xc7, 0x04, 0x25]);
        self.0.extend_from_slice(&addr.to_le_bytes());
        self.0.extend_from_slice(&value.to_le_bytes());
        self
    }
    /// `mov eax, arg; mov dx, port; out dx, eax`
    pub fn out32(mut self, port: u16, arg: u32) -> Code {
        self.0.push(0xb8);
        self.0.extend_from_slice(&arg.to_le_bytes());
        self.0.extend_from_slice(&[0x66, 0xba]);
        self.0.extend_from_slice(&port.to_le_bytes());
        self.0.push(0xef);
        self
    }
    /// Hypercall `nr` with its struct at `arg`.
    pub fn hypercall(self, nr: u16, arg: u32) -> Code {
        self.out32(0x500 + nr, arg)
    }
    /// `mov dx, port; out dx, al` (a 1-byte write)
    pub fn out8(mut self, port: u16) -> Code {
        self.0.extend_from_slice(&[0x66, 0xba]);
        self.0.extend_from_slice(&port.to_le_bytes());
        self.0.push(0xee);
        self
    }
    /// `mov dx, port; in eax, dx`
    pub fn in32(mut self, port: u16) -> Code {
        self.0.extend_from_slice(&[0x66, 0xba]);
        self.0.extend_from_slice(&port.to_le_bytes());
        self.0.push(0xed);
        self
    }
    /// HALT with `status` and `cookie` (struct at SCRATCH + 0xf00).
    pub fn halt(self, status: i32, cookie: i32) -> Code {
        let at = SCRATCH + 0xf00;
        self.store64(at, cookie)
            .store32(at + 8, status as u32)
            .hypercall(8, at)
    }
    /// `mov eax, dword [addr]`
    pub fn load_eax(mut self, addr: u32) -> Code {
        self.0.extend_from_slice(&[0x8b, 0x04, 0x25]);
        self.0.extend_from_slice(&addr.to_le_bytes());
        self
    }
    /// `mov dword [addr], eax`
    pub fn store_eax(mut self, addr: u32) -> Code {
        self.0.extend_from_slice(&[0x89, 0x04, 0x25]);
        self.0.extend_from_slice(&addr.to_le_bytes());
        self
    }
    /// HALT with the 32-bit status found at `addr`.
    pub fn halt_with_status_at(self, addr: u32) -> Code {
        let at = SCRATCH + 0xf00;
        self.store64(at, 0)
            .load_eax(addr)
            .store_eax(at + 8)
            .hypercall(8, at)
    }
    /// PUTS of `text` (copied to SCRATCH + 0x800 first).
    pub fn puts(mut self, text: &[u8]) -> Code {
        let data = SCRATCH + 0x800;
        for (i, chunk) in text.chunks(4).enumerate() {
            let mut w = [0u8; 4];
            w[..chunk.len()].copy_from_slice(chunk);
            self = self.store32(data + 4 * i as u32, u32::from_le_bytes(w));
        }
        let args = SCRATCH + 0xe00;
        self.store64(args, data as i32)
            .store64(args + 8, text.len() as i32)
            .hypercall(2, args)
    }
    /// `mov qword [addr], rsp`
    pub fn store_rsp(mut self, addr: u32) -> Code {
        self.0.extend_from_slice(&[0x48, 0x89, 0x24, 0x25]);
        self.0.extend_from_slice(&addr.to_le_bytes());
        self
    }
    /// A 64-bit store as two 32-bit ones.
    pub fn store_u64(self, addr: u32, value: u64) -> Code {
        self.store32(addr, value as u32)
            .store32(addr + 4, (value >> 32) as u32)
    }
    pub fn raw(mut self, bytes: &[u8]) -> Code {
        self.0.extend_from_slice(bytes);
        self
    }
    /// `jmp $`: spin forever (a guest stuck in a loop).
    pub fn spin(self) -> Code {
        self.raw(&[0xeb, 0xfe])
    }
    /// `mov rbx, qword [addr]` (e.g. the boot info's `net_ring`).
    pub fn load_rbx(mut self, addr: u32) -> Code {
        self.0.extend_from_slice(&[0x48, 0x8b, 0x1c, 0x25]);
        self.0.extend_from_slice(&addr.to_le_bytes());
        self
    }
    /// `mov dword [rbx + off], value`
    pub fn store32_rbx(mut self, off: u32, value: u32) -> Code {
        self.0.extend_from_slice(&[0xc7, 0x83]);
        self.0.extend_from_slice(&off.to_le_bytes());
        self.0.extend_from_slice(&value.to_le_bytes());
        self
    }
    /// `mov qword [rbx + off], value` (sign-extended 32-bit immediate)
    pub fn store64_rbx(mut self, off: u32, value: i32) -> Code {
        self.0.extend_from_slice(&[0x48, 0xc7, 0x83]);
        self.0.extend_from_slice(&off.to_le_bytes());
        self.0.extend_from_slice(&value.to_le_bytes());
        self
    }
    /// Spins until the dword at `[rbx + off]` is not zero:
    /// `mov eax, [rbx + off]; test eax, eax; jz back`.
    pub fn wait_nonzero_rbx(mut self, off: u32) -> Code {
        self.0.extend_from_slice(&[0x8b, 0x83]);
        self.0.extend_from_slice(&off.to_le_bytes());
        self.0.extend_from_slice(&[0x85, 0xc0, 0x74, 0xf6]);
        self
    }
    /// `mov eax, [rbx + off]; mov [addr], eax`
    pub fn copy32_from_rbx(mut self, off: u32, addr: u32) -> Code {
        self.0.extend_from_slice(&[0x8b, 0x83]);
        self.0.extend_from_slice(&off.to_le_bytes());
        self.store_eax(addr)
    }
    /// POLL with a timeout of `ms` milliseconds (struct at SCRATCH + 0xe80).
    pub fn poll_ms(self, ms: u32) -> Code {
        let at = SCRATCH + 0xe80;
        self.store_u64(at, u64::from(ms) * 1_000_000)
            .hypercall(3, at)
    }
}

fn bytes_of<T>(v: &T) -> Vec<u8> {
    // SAFETY: a view of a plain repr(C) note value as bytes; the note types
    // have no padding bytes (explicit pad fields only).
    unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), std::mem::size_of::<T>()) }
        .to_vec()
}

/// The manifest's devices.
pub enum Devices {
    None,
    /// One block device named "storage".
    Block,
    /// One network device named "service0" (handle 1).
    Net,
}

/// The ELF image of a unikernel running `code`.
pub fn image(code: &Code, devices: Devices) -> Vec<u8> {
    let abi = bytes_of(&Abi1Note::new(AbiTarget::Hvt, 2));
    let mft = match devices {
        Devices::None => bytes_of(&Mft1Note::<1>::new([MftEntry::RESERVED])),
        Devices::Block => bytes_of(&Mft1Note::<2>::new([
            MftEntry::RESERVED,
            MftEntry::new(b"storage", MFT_DEV_BLOCK_BASIC),
        ])),
        Devices::Net => bytes_of(&Mft1Note::<2>::new([
            MftEntry::RESERVED,
            MftEntry::new(b"service0", MFT_DEV_NET_BASIC),
        ])),
    };
    const PHNUM: u64 = 3;
    let abi_off = 0x200u64;
    let mft_off = 0x240u64;
    let text_off = 0x1000u64;
    // Both notes fit below the text (64 manifest entries would not, but
    // these unikernels have at most two).

    let mut f = vec![0u8; text_off as usize];
    // ELF header.
    f[..4].copy_from_slice(b"\x7fELF");
    f[4] = 2; // 64-bit
    f[5] = 1; // little-endian
    f[6] = 1; // version
    f[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    f[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    f[20..24].copy_from_slice(&1u32.to_le_bytes());
    f[24..32].copy_from_slice(&TEXT.to_le_bytes()); // e_entry
    f[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
    f[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    f[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
    f[56..58].copy_from_slice(&(PHNUM as u16).to_le_bytes());
    let phdr = |f: &mut Vec<u8>,
                i: usize,
                p_type: u32,
                flags: u32,
                off: u64,
                vaddr: u64,
                size: u64,
                align: u64| {
        let at = 64 + i * 56;
        let w =
            |f: &mut Vec<u8>, o: usize, b: &[u8]| f[at + o..at + o + b.len()].copy_from_slice(b);
        w(f, 0, &p_type.to_le_bytes());
        w(f, 4, &flags.to_le_bytes());
        w(f, 8, &off.to_le_bytes());
        w(f, 16, &vaddr.to_le_bytes());
        w(f, 24, &vaddr.to_le_bytes());
        w(f, 32, &size.to_le_bytes());
        w(f, 40, &size.to_le_bytes());
        w(f, 48, &align.to_le_bytes());
    };
    phdr(&mut f, 0, 1, 5, text_off, TEXT, code.0.len() as u64, 0x1000); // PT_LOAD R+X
    phdr(&mut f, 1, 4, 4, abi_off, 0, abi.len() as u64, 4); // PT_NOTE ABI1
    phdr(&mut f, 2, 4, 4, mft_off, 0, mft.len() as u64, 8); // PT_NOTE MFT1
    f[abi_off as usize..abi_off as usize + abi.len()].copy_from_slice(&abi);
    f[mft_off as usize..mft_off as usize + mft.len()].copy_from_slice(&mft);
    f.extend_from_slice(&code.0);
    f
}

/// Writes the unikernel running `code` to `dir/NAME.hvt`; returns its path.
pub fn build(
    dir: &std::path::Path,
    name: &str,
    code: &Code,
    devices: Devices,
) -> std::io::Result<PathBuf> {
    let path = dir.join(format!("{name}.hvt"));
    std::fs::write(&path, image(code, devices))?;
    Ok(path)
}

/// Where [`booted`] puts its tables.
const GDT: u32 = SCRATCH + 0x2000;
const TSS: u32 = SCRATCH + 0x3000;
const IDT: u32 = SCRATCH + 0x4000;
const DTR: u32 = SCRATCH + 0x1000;
const IST_TOP: u32 = SCRATCH + 0x9000;

/// A program that boots like a Solo5 guest before running `body`: its own
/// GDT (null, code, data, TSS), a TSS with an IST stack, an IDT whose 32
/// exception gates all lead to a handler that prints "trap" and halts with
/// status 255 and its interrupt frame as the cookie; then one hypercall (the
/// point where the tender may move it to CPL 3).
pub fn booted(body: Code) -> Code {
    // Layout: jmp over the handler; the handler; the set-up; the body.
    let handler = Code::new()
        .puts(b"trap\n")
        .store_rsp(SCRATCH + 0xf00)
        .store32(SCRATCH + 0xf08, 255)
        .hypercall(8, SCRATCH + 0xf00)
        .spin();
    let handler_at = TEXT as u32 + 5;
    let mut c = Code::new()
        .raw(&[0xe9])
        .raw(&(handler.0.len() as u32).to_le_bytes());
    c.0.extend_from_slice(&handler.0);
    let tss_desc_lo: u64 = 0x67
        | (u64::from(TSS & 0xffff) << 16)
        | (u64::from((TSS >> 16) & 0xff) << 32)
        | (0x89 << 40)
        | (u64::from(TSS >> 24) << 56);
    c = c
        .store_u64(GDT, 0)
        .store_u64(GDT + 8, 0x00af_9b00_0000_ffff)
        .store_u64(GDT + 16, 0x00cf_9300_0000_ffff)
        .store_u64(GDT + 24, tss_desc_lo)
        .store_u64(GDT + 32, 0)
        .store_u64(TSS + 0x24, u64::from(IST_TOP));
    for v in 0..32u32 {
        let h = u64::from(handler_at);
        let lo =
            (h & 0xffff) | (0x8 << 16) | (1 << 32) | (0x8e << 40) | (((h >> 16) & 0xffff) << 48);
        c = c.store_u64(IDT + v * 16, lo).store_u64(IDT + v * 16 + 8, 0);
    }
    // lgdt [DTR]; mov ax, 0x18; ltr ax; lidt [DTR + 16]
    c = c
        .store32(DTR, 39 | ((GDT & 0xffff) << 16))
        .store32(DTR + 4, GDT >> 16)
        .store32(DTR + 8, 0)
        .raw(&[0x0f, 0x01, 0x14, 0x25])
        .raw(&DTR.to_le_bytes())
        .raw(&[0x66, 0xb8, 0x18, 0x00, 0x0f, 0x00, 0xd8])
        .store32(DTR + 16, (32 * 16 - 1) | ((IDT & 0xffff) << 16))
        .store32(DTR + 20, IDT >> 16)
        .store32(DTR + 24, 0)
        .raw(&[0x0f, 0x01, 0x1c, 0x25])
        .raw(&(DTR + 16).to_le_bytes())
        .puts(b"booted\n");
    c.0.extend_from_slice(&body.0);
    c
}
