//! `corten-mothur` as a unikernel. The command line is a mothur batch,
//! exactly as the native drop-in takes it:
//!
//! ```text
//! corten-spt --block:input=in.img --block:output=out.img -- mothur.spt \
//!     "#dist.seqs(fasta=s.fasta, calc=onegap, countends=F, cutoff=0.03)"
//! ```
//!
//! Block device `input` holds the input files as an archive
//! (`corten-mothur pack in.img s.fasta`); every file the batch writes goes
//! into an archive written to block device `output` (`corten-mothur unpack
//! out.img DIR` gives the files mothur would have written): what
//! `corten-mothur run-image in.img out.img BATCH` does natively. The
//! archive format is in apps/mothur/README.md. Files written by one
//! command of the batch can be read by the next (dist.seqs, then cluster).
//!
//! Exit status: 0 when the batch succeeded, 1 with `corten-mothur: MESSAGE`
//! otherwise (bad command, missing input, output device too small).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use corten_mothur::{archive, Error};
use corten_rt::block::BlockDevice;

corten_rt::manifest! { block "input", block "output" }
corten_rt::entry!(main);

fn device_error(what: &str, e: corten_rt::Error) -> Error {
    Error::new(format!("{what}: {e}"))
}

/// The whole contents of `disk`, written once (no zero-fill first: every
/// page a unikernel touches costs a fault, which is dear under
/// virtualisation).
fn read_all(disk: &BlockDevice) -> Result<Vec<u8>, Error> {
    let info = disk.info();
    let (bs, cap) = (info.block_size, info.capacity);
    let len = usize::try_from(cap).map_err(|_| Error::new("input device too large"))?;
    let mut data = Vec::with_capacity(len);
    let mut sector = vec![0u8; bs as usize];
    let mut at = 0u64;
    while at < cap {
        disk.read(at, &mut sector)
            .map_err(|e| device_error("reading the input device", e))?;
        data.extend_from_slice(&sector);
        at += bs;
    }
    Ok(data)
}

/// Writes `bytes` from offset 0, the last sector zero-padded.
fn write_all(disk: &BlockDevice, bytes: &[u8]) -> Result<(), Error> {
    let info = disk.info();
    let bs = info.block_size as usize;
    if bytes.len() as u64 > info.capacity {
        return Err(Error::new(format!(
            "the output ({} bytes) does not fit the output device ({} bytes); give a larger image",
            bytes.len(),
            info.capacity
        )));
    }
    let mut sector = vec![0u8; bs];
    let mut at = 0u64;
    for chunk in bytes.chunks(bs) {
        sector.fill(0);
        if let Some(head) = sector.get_mut(..chunk.len()) {
            head.copy_from_slice(chunk);
        }
        disk.write(at, &sector)
            .map_err(|e| device_error("writing the output device", e))?;
        at += bs as u64;
    }
    Ok(())
}

fn run(batch: &str) -> Result<(), Error> {
    let input = BlockDevice::acquire("input").map_err(|e| device_error("block device input", e))?;
    let output =
        BlockDevice::acquire("output").map_err(|e| device_error("block device output", e))?;
    let image = read_all(&input)?;
    let mut files = archive::ImageFiles::from_image(&image)?;
    // Freed before the work starts, so that the work's allocations reuse
    // these already-touched pages.
    drop(image);
    let mut log = String::new();
    let r = corten_mothur::run(batch, &mut files, &mut log);
    corten_rt::console::write_str(&log);
    r?;
    write_all(&output, &files.output_image()?)
}

fn main(start: &corten_rt::Start) -> i32 {
    match run(start.cmdline()) {
        Ok(()) => 0,
        Err(e) => {
            corten_rt::println!("corten-mothur: {e}");
            1
        }
    }
}
