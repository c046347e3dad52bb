//! Hostile guests: tiny hand-assembled spt unikernels (built here, no
//! toolchain needed) that make one system call with arguments the filter
//! must refuse, against a block device backed by a file of known bytes.
//! A refused call kills the process by SIGSYS (159) and leaves the file
//! untouched; an allowed one reaches the kernel.
#![cfg(target_arch = "x86_64")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{spt, TempDir};
use corten_manifest::{Device, DeviceType, Manifest};

/// x86_64 code: fd = the backing fd of manifest entry 1 (read through the
/// boot info in rdi), rsi = a buffer on the guest stack, then
/// `syscall(NR, fd, buf, LEN, OFFSET)`, then `exit_group(42)` if the call
/// returned LEN, else `exit_group(43)`.
const CODE: [u8; 0x44] = [
    0x48, 0x8b, 0x5f, 0x18, // mov rbx, [rdi+24]        ; boot_info->mft
    0x8b, 0xbb, 0xc8, 0x00, 0x00, 0x00, // mov edi, [rbx+200] ; mft->e[1].b.hostfd
    0x48, 0x89, 0xe6, // mov rsi, rsp
    0x48, 0x81, 0xee, 0x00, 0x20, 0x00, 0x00, // sub rsi, 0x2000
    0x48, 0xc7, 0xc2, 0, 0, 0, 0, // mov rdx, LEN            (imm32 at 0x17)
    0x49, 0xba, 0, 0, 0, 0, 0, 0, 0, 0, // movabs r10, OFFSET (imm64 at 0x1d)
    0xb8, 0, 0, 0, 0, // mov eax, NR                          (imm32 at 0x26)
    0x0f, 0x05, // syscall
    0xbf, 0x2b, 0x00, 0x00, 0x00, // mov edi, 43
    0xb9, 0x2a, 0x00, 0x00, 0x00, // mov ecx, 42
    0x48, 0x39, 0xd0, // cmp rax, rdx
    0x0f, 0x44, 0xf9, // cmove edi, ecx
    0xb8, 0xe7, 0x00, 0x00, 0x00, // mov eax, 231 (exit_group)
    0x0f, 0x05, // syscall
    0xf4, // hlt
];

const TEXT_VADDR: u64 = 0x10_0000;
const TEXT_OFFSET: usize = 0x1000;

fn abi1_note() -> Vec<u8> {
    let mut n = Vec::new();
    n.extend_from_slice(&6u32.to_le_bytes());
    n.extend_from_slice(&16u32.to_le_bytes());
    n.extend_from_slice(&corten_abi::note::ABI1_NOTE_TYPE.to_le_bytes());
    n.extend_from_slice(b"Solo5\0\0\0");
    for v in [2u32, 2, 0, 0] {
        n.extend_from_slice(&v.to_le_bytes());
    }
    n
}

fn phdr(
    out: &mut Vec<u8>,
    p_type: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    size: u64,
    align: u64,
) {
    out.extend_from_slice(&p_type.to_le_bytes());
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(&vaddr.to_le_bytes());
    out.extend_from_slice(&vaddr.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&align.to_le_bytes());
}

/// An spt unikernel declaring block device `storage` whose code makes
/// system call `nr` with length `len` at `offset`.
fn hostile_elf(nr: u32, len: u32, offset: u64) -> Vec<u8> {
    let mut code = CODE.to_vec();
    code[0x17..0x1b].copy_from_slice(&len.to_le_bytes());
    code[0x1d..0x25].copy_from_slice(&offset.to_le_bytes());
    code[0x26..0x2a].copy_from_slice(&nr.to_le_bytes());
    let abi = abi1_note();
    let mft = Manifest::new(vec![Device {
        name: "storage".into(),
        kind: DeviceType::BlockBasic,
    }])
    .unwrap()
    .to_note();
    let (abi_off, mft_off) = (0x100usize, 0x200usize);
    let mut f = Vec::new();
    // ELF header.
    f.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    f.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    f.extend_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    f.extend_from_slice(&1u32.to_le_bytes());
    f.extend_from_slice(&TEXT_VADDR.to_le_bytes()); // e_entry
    f.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    f.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    f.extend_from_slice(&0u32.to_le_bytes());
    f.extend_from_slice(&64u16.to_le_bytes());
    f.extend_from_slice(&56u16.to_le_bytes());
    f.extend_from_slice(&3u16.to_le_bytes()); // e_phnum
    f.extend_from_slice(&64u16.to_le_bytes());
    f.extend_from_slice(&0u16.to_le_bytes());
    f.extend_from_slice(&0u16.to_le_bytes());
    phdr(
        &mut f,
        1,
        5,
        TEXT_OFFSET as u64,
        TEXT_VADDR,
        code.len() as u64,
        0x1000,
    ); // PT_LOAD R+X
    phdr(&mut f, 4, 4, abi_off as u64, 0, abi.len() as u64, 4); // PT_NOTE
    phdr(&mut f, 4, 4, mft_off as u64, 0, mft.len() as u64, 8); // PT_NOTE
    f.resize(abi_off, 0);
    f.extend_from_slice(&abi);
    f.resize(mft_off, 0);
    f.extend_from_slice(&mft);
    f.resize(TEXT_OFFSET, 0);
    f.extend_from_slice(&code);
    f
}

const CAPACITY: usize = 8192;
const FILL: u8 = 0x55;

/// Runs the hostile guest against a fresh backing file; returns the shell
/// status and the file's bytes afterwards.
fn run(nr: i64, len: u32, offset: u64) -> (i32, Vec<u8>) {
    let d = TempDir::new("hostile");
    let k = d.path().join("hostile.spt");
    std::fs::write(&k, hostile_elf(nr as u32, len, offset)).unwrap();
    let img = d.file("disk.img", CAPACITY, FILL);
    let mut opt = std::ffi::OsString::from("--block:storage=");
    opt.push(&img);
    let o = spt([opt, "--mem=2".into(), k.into_os_string()]);
    assert!(
        o.stderr.is_empty() || o.status != 1,
        "tender error:\n{}",
        o.stderr
    );
    (o.status, std::fs::read(&img).unwrap())
}

fn untouched(bytes: &[u8]) -> bool {
    bytes.len() == CAPACITY && bytes.iter().all(|&b| b == FILL)
}

#[test]
fn allowed_block_io_reaches_the_kernel() {
    let (st, bytes) = run(libc::SYS_pread64, 512, 0);
    assert_eq!(st, 42, "pread64 of one sector must be allowed and succeed");
    assert!(untouched(&bytes));
    // The last sector may be written; only it changes.
    let (st, bytes) = run(libc::SYS_pwrite64, 512, (CAPACITY - 512) as u64);
    assert_eq!(st, 42, "pwrite64 of the last sector must be allowed");
    assert_eq!(bytes.len(), CAPACITY);
    assert!(bytes[..CAPACITY - 512].iter().all(|&b| b == FILL));
    assert!(bytes[CAPACITY - 512..].iter().all(|&b| b == 0));
}

#[test]
fn block_io_outside_the_rules_is_killed() {
    let cases: &[(&str, i64, u32, u64)] = &[
        (
            "pwrite past the end",
            libc::SYS_pwrite64,
            512,
            CAPACITY as u64,
        ),
        (
            "pwrite straddling the end",
            libc::SYS_pwrite64,
            512,
            (CAPACITY - 511) as u64,
        ),
        (
            "pwrite far past the end (grow the file)",
            libc::SYS_pwrite64,
            512,
            1 << 40,
        ),
        (
            "pwrite at a negative offset",
            libc::SYS_pwrite64,
            512,
            (-512i64) as u64,
        ),
        ("pwrite of two sectors", libc::SYS_pwrite64, 1024, 0),
        ("pwrite of less than a sector", libc::SYS_pwrite64, 511, 0),
        (
            "pread past the end",
            libc::SYS_pread64,
            512,
            CAPACITY as u64,
        ),
        ("pread of two sectors", libc::SYS_pread64, 1024, 0),
        ("write(2) on the block descriptor", libc::SYS_write, 512, 0),
        ("read(2) on the block descriptor", libc::SYS_read, 512, 0),
    ];
    for (what, nr, len, off) in cases {
        let (st, bytes) = run(*nr, *len, *off);
        assert_eq!(st, 128 + libc::SIGSYS, "{what}: expected SIGSYS");
        assert!(untouched(&bytes), "{what}: the backing file changed");
    }
}

#[test]
fn forbidden_system_calls_are_killed() {
    for (what, nr) in [
        ("getpid", libc::SYS_getpid),
        ("openat", libc::SYS_openat),
        ("mprotect", libc::SYS_mprotect),
        ("mmap", libc::SYS_mmap),
        ("ioctl", libc::SYS_ioctl),
        ("exit (not exit_group)", libc::SYS_exit),
        ("rt_sigaction", libc::SYS_rt_sigaction),
        ("fork", libc::SYS_fork),
        ("execve", libc::SYS_execve),
        ("ftruncate", libc::SYS_ftruncate),
    ] {
        let (st, bytes) = run(nr, 512, 0);
        assert_eq!(st, 128 + libc::SIGSYS, "{what}: expected SIGSYS");
        assert!(untouched(&bytes), "{what}: the backing file changed");
    }
}
