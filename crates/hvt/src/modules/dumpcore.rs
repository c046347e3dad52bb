//! `--dumpcore=DIR`: when the guest aborts (status 255) or crashes, write
//! an ELF core file `DIR/core.solo5-hvt.PID` that gdb can open together with
//! the unikernel: one PT_NOTE with an NT_PRSTATUS (the vCPU registers, or
//! the guest's trap frame when it passed one) and one PT_LOAD covering all
//! of guest memory at address 0. Registers are the guest's view: under
//! ring-3 execution CS/SS (and the descriptor tables) are the ones the
//! guest loaded, not the tender's DPL-3 substitutes. Only pages the guest touched are written
//! (`mincore`), so the file is sparse.
//!
//! The file name keeps upstream's `core.solo5-hvt.PID` because tools (and
//! upstream's test suite) look for it.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::arch;
use crate::diag;
use crate::guest_mem::GuestRange;
use crate::vm::Vm;

#[derive(Debug, thiserror::Error)]
pub enum DumpcoreError {
    #[error("dumpcore: cannot open dir {}: {source}; --dumpcore needs an existing, writable directory", dir.display())]
    OpenDir { dir: PathBuf, source: io::Error },
    #[error("dumpcore: dir not writable: {}", .0.display())]
    NotWritable(PathBuf),
}

const ELF_HEADER_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
const NOTE_NAME: &[u8; 8] = b"CORE\0\0\0\0";
const NT_PRSTATUS: u32 = 1;
const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;
const ET_CORE: u16 = 4;
const ELFOSABI_STANDALONE: u8 = 255;
const PAGE: u64 = 4096;

pub struct Dumpcore {
    dir: PathBuf,
    dirfd: OwnedFd,
    /// Set once the core is written: one dump per run.
    done: std::cell::Cell<bool>,
}

impl Dumpcore {
    /// Opens DIR now, so that the dump works after a chroot or when the
    /// directory is renamed.
    pub fn open(dir: &Path) -> Result<Dumpcore, DumpcoreError> {
        let c = CString::new(dir.as_os_str().as_bytes()).map_err(|_| DumpcoreError::OpenDir {
            dir: dir.to_owned(),
            source: io::ErrorKind::InvalidInput.into(),
        })?;
        // SAFETY: a NUL-terminated path; the result is checked.
        let fd = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(DumpcoreError::OpenDir {
                dir: dir.to_owned(),
                source: io::Error::last_os_error(),
            });
        }
        // SAFETY: a fresh descriptor we own.
        let dirfd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: a NUL-terminated path.
        if unsafe { libc::access(c.as_ptr(), libc::W_OK) } != 0 {
            return Err(DumpcoreError::NotWritable(dir.to_owned()));
        }
        Ok(Dumpcore {
            dir: dir.to_owned(),
            dirfd,
            done: std::cell::Cell::new(false),
        })
    }

    /// Writes the core file (once); problems are reported, not fatal.
    pub fn dump(&self, vm: &Vm, cookie: Option<u64>, view: arch::RegisterView<'_>) {
        if self.done.replace(true) {
            return;
        }
        let name = format!("core.solo5-hvt.{}", std::process::id());
        match self.write(vm, cookie, view, &name) {
            Ok((dumped, total)) => {
                diag::print(format_args!(
                    "dumpcore: dumped {dumped} pages of total {total} pages"
                ));
            }
            Err(e) => diag::print(format_args!(
                "dumpcore: error dumping core, file may be incomplete: {e}"
            )),
        }
    }

    fn write(
        &self,
        vm: &Vm,
        cookie: Option<u64>,
        view: arch::RegisterView<'_>,
        name: &str,
    ) -> io::Result<(u64, u64)> {
        let cname = CString::new(name).map_err(|_| io::ErrorKind::InvalidInput)?;
        // SAFETY: openat on our directory descriptor with a NUL-terminated
        // name; the result is checked.
        let fd = unsafe {
            libc::openat(
                self.dirfd.as_raw_fd(),
                cname.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
                0o600,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor we own.
        let file = unsafe { File::from_raw_fd(fd) };
        diag::print(format_args!(
            "dumpcore: dumping guest core to: {}/{name}",
            self.dir.display()
        ));

        let prstatus = arch::core_prstatus(&vm.vcpu, &vm.mem, cookie, view);
        let note_size = 12 + NOTE_NAME.len() + prstatus.len();
        let mem_size = vm.mem.size();
        let headers = ELF_HEADER_SIZE + 2 * PHDR_SIZE + note_size;
        // Guest memory starts page-aligned in the file.
        let load_offset = (headers as u64).div_ceil(PAGE) * PAGE;

        let mut out = Vec::with_capacity(headers);
        // ELF header.
        out.extend_from_slice(b"\x7fELF");
        out.extend_from_slice(&[2, 1, 1, ELFOSABI_STANDALONE, 0, 0, 0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&ET_CORE.to_le_bytes());
        out.extend_from_slice(&arch::ELF_MACHINE.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes()); // e_version
        out.extend_from_slice(&0u64.to_le_bytes()); // e_entry
        out.extend_from_slice(&(ELF_HEADER_SIZE as u64).to_le_bytes()); // e_phoff
        out.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
        out.extend_from_slice(&0u32.to_le_bytes()); // e_flags
        out.extend_from_slice(&(ELF_HEADER_SIZE as u16).to_le_bytes());
        out.extend_from_slice(&(PHDR_SIZE as u16).to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes()); // e_phnum
        out.extend_from_slice(&[0; 6]); // shentsize, shnum, shstrndx
                                        // PT_NOTE.
        phdr(
            &mut out,
            PT_NOTE,
            (ELF_HEADER_SIZE + 2 * PHDR_SIZE) as u64,
            note_size as u64,
            note_size as u64,
        );
        // PT_LOAD of all guest memory at 0.
        phdr(&mut out, PT_LOAD, load_offset, mem_size, mem_size);
        // The note.
        out.extend_from_slice(&(NOTE_NAME.len() as u32 - 3).to_le_bytes()); // "CORE\0" = 5
        out.extend_from_slice(&(prstatus.len() as u32).to_le_bytes());
        out.extend_from_slice(&NT_PRSTATUS.to_le_bytes());
        out.extend_from_slice(NOTE_NAME);
        out.extend_from_slice(&prstatus);
        file.write_all_at(&out, 0)?;

        // Guest pages the host has backed (touched by guest or tender).
        let total = mem_size / PAGE;
        let mut resident = vec![0u8; total as usize];
        let all = vm
            .mem
            .range(0, mem_size)
            .map_err(|_| io::ErrorKind::InvalidInput)?;
        // SAFETY: `all` is the whole guest mapping (page-aligned, mapped),
        // whose bytes mincore does not touch, and `resident` holds one byte
        // per page.
        let rc = unsafe {
            libc::mincore(
                all.as_ptr().cast_mut().cast(),
                all.len(),
                resident.as_mut_ptr(),
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        let mut dumped = 0;
        for (page, flags) in resident.iter().enumerate() {
            if flags & 1 == 0 {
                continue;
            }
            let at = page as u64 * PAGE;
            let bytes = vm
                .mem
                .range(at, PAGE)
                .map_err(|_| io::ErrorKind::InvalidInput)?;
            pwrite_all(&file, bytes, load_offset + at)?;
            dumped += 1;
        }
        // The file spans all of guest memory even if its tail is sparse.
        file.set_len(load_offset + mem_size)?;
        Ok((dumped, total))
    }
}

/// Writes all of `bytes` at `offset`, straight from guest memory (the
/// ring's I/O thread may still be writing it: no slice of it is formed).
fn pwrite_all(file: &File, mut bytes: GuestRange<'_>, offset: u64) -> io::Result<()> {
    let mut at = offset;
    while !bytes.is_empty() {
        let off = libc::off_t::try_from(at).map_err(|_| io::ErrorKind::InvalidInput)?;
        let n = bytes.pwrite_to(file.as_raw_fd(), off)?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        bytes = bytes.after(n);
        at = at.saturating_add(n as u64);
    }
    Ok(())
}

fn phdr(out: &mut Vec<u8>, p_type: u32, offset: u64, filesz: u64, memsz: u64) {
    out.extend_from_slice(&p_type.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // p_flags
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes()); // p_vaddr
    out.extend_from_slice(&0u64.to_le_bytes()); // p_paddr
    out.extend_from_slice(&filesz.to_le_bytes());
    out.extend_from_slice(&memsz.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes()); // p_align
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_headers_are_56_bytes() {
        let mut v = Vec::new();
        phdr(&mut v, PT_LOAD, 1, 2, 3);
        assert_eq!(v.len(), PHDR_SIZE);
    }

    #[test]
    fn missing_directory_is_reported() {
        let e = Dumpcore::open(Path::new("/nonexistent/corten"))
            .err()
            .unwrap();
        assert!(e.to_string().contains("cannot open dir"), "{e}");
    }
}
