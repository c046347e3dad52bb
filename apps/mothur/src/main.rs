//! `corten-mothur`: a drop-in for mothur's `dist.seqs` and `cluster`
//! commands, plus `pack`/`unpack` for the unikernel's block-device images.
//!
//! ```text
//! corten-mothur "#dist.seqs(fasta=s.fasta, cutoff=0.03); cluster(column=s.dist, count=s.count_table, method=average)"
//! corten-mothur pack IMAGE FILE...
//! corten-mothur unpack IMAGE DIR
//! corten-mothur run-image IN.img OUT.img "#dist.seqs(...)"   # as the unikernel does
//! ```

use corten_mothur::{archive, Error, Files};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Files relative to the current directory, as mothur resolves them.
struct FsFiles;

impl Files for FsFiles {
    fn read(&mut self, name: &str) -> Result<Vec<u8>, Error> {
        std::fs::read(name)
            .map_err(|e| Error::new(format!("[ERROR]: Could not open {}: {}", name, e)))
    }
    fn write(&mut self, name: &str, data: &[u8]) -> Result<(), Error> {
        // mothur creates a missing `outputdir=` directory (one level, with
        // `mkdir`).
        if let Some(dir) = Path::new(name)
            .parent()
            .filter(|d| !d.as_os_str().is_empty() && !d.exists())
        {
            std::fs::create_dir(dir).map_err(|e| {
                Error::new(format!(
                    "[ERROR]: Could not create {}: {}",
                    dir.display(),
                    e
                ))
            })?;
        }
        std::fs::write(name, data)
            .map_err(|e| Error::new(format!("[ERROR]: Could not write {}: {}", name, e)))
    }
}

fn usage() -> Error {
    Error::new(
        "usage: corten-mothur \"#dist.seqs(...); cluster(...)\" | corten-mothur pack IMAGE FILE... | corten-mothur unpack IMAGE DIR | corten-mothur run-image IN.img OUT.img \"#...\"",
    )
}

fn pack(image: &str, inputs: &[String]) -> Result<(), Error> {
    let mut files = Vec::new();
    for p in inputs {
        let name = Path::new(p)
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| Error::new(format!("{}: no usable file name", p)))?
            .to_string();
        let data = std::fs::read(p).map_err(|e| Error::new(format!("{}: {}", p, e)))?;
        files.push((name, data));
    }
    let img = archive::pack(&files)?;
    std::fs::write(image, img).map_err(|e| Error::new(format!("{}: {}", image, e)))
}

fn unpack(image: &str, dir: &str) -> Result<(), Error> {
    let img = std::fs::read(image).map_err(|e| Error::new(format!("{}: {}", image, e)))?;
    let files = archive::unpack(&img)?;
    std::fs::create_dir_all(dir).map_err(|e| Error::new(format!("{}: {}", dir, e)))?;
    for (name, data) in files {
        let path: PathBuf = Path::new(dir).join(&name);
        std::fs::write(&path, data)
            .map_err(|e| Error::new(format!("{}: {}", path.display(), e)))?;
    }
    Ok(())
}

/// Runs a batch on an input image and writes the output image, exactly as
/// the unikernel does with its block devices.
fn run_image(input: &str, output: &str, commands: &str) -> Result<(), Error> {
    let img = std::fs::read(input).map_err(|e| Error::new(format!("{}: {}", input, e)))?;
    let mut log = String::new();
    let r = archive::run_image(commands, &img, &mut log);
    let printed = print_log(&log);
    let out = r?;
    std::fs::write(output, out).map_err(|e| Error::new(format!("{}: {}", output, e)))?;
    printed
}

/// mothur's log on standard output; a full disk or a closed pipe is an
/// error (the output files are written all the same), never a panic.
fn print_log(log: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(log.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::new(format!("writing the log to standard output: {}", e)))
}

fn real_main(args: &[String]) -> Result<(), Error> {
    match args {
        [cmd, input, output, commands] if cmd == "run-image" => run_image(input, output, commands),
        [cmd, image, inputs @ ..] if cmd == "pack" && !inputs.is_empty() => pack(image, inputs),
        [cmd, image, dir] if cmd == "unpack" => unpack(image, dir),
        [cmd]
            if !["pack", "unpack", "run-image"].contains(&cmd.as_str())
                && !cmd.starts_with('-') =>
        {
            let mut log = String::new();
            let r = corten_mothur::run(cmd, &mut FsFiles, &mut log);
            let printed = print_log(&log);
            r.and(printed)
        }
        _ => Err(usage()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match real_main(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "corten-mothur: {}", e);
            ExitCode::FAILURE
        }
    }
}
