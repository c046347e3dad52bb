//! A tiny framing of named files onto a block-device image, so the
//! unikernel reads its inputs from one device and writes its outputs to
//! another.
//!
//! Layout (all integers little endian):
//!
//! ```text
//! "CRTNFS01"                                  8-byte magic
//! repeated: u32 name_len | name | u64 data_len | data
//! u32 0                                        end marker (name_len 0)
//! zero bytes up to a multiple of 512
//! ```
//!
//! Names are non-empty UTF-8, at most 255 bytes, contain no `/`, `\` or
//! NUL, are not `.` or `..`, and are unique. `unpack` checks every length
//! against the image, requires the end marker and zero padding after it.

use crate::{err, Error};
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// The magic at offset 0.
pub const MAGIC: &[u8; 8] = b"CRTNFS01";
/// Images are padded to this size.
pub const BLOCK: usize = 512;
/// Longest allowed file name.
pub const MAX_NAME: usize = 255;

/// Checks one file name.
pub fn check_name(name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return err!("archive: empty file name");
    }
    if name.len() > MAX_NAME {
        return err!("archive: file name longer than {} bytes", MAX_NAME);
    }
    if name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        return err!("archive: bad file name {:?}", name);
    }
    Ok(())
}

/// Packs `files` into a padded image.
pub fn pack(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    for (i, (name, data)) in files.iter().enumerate() {
        check_name(name)?;
        if files[..i].iter().any(|(n, _)| n == name) {
            return err!("archive: duplicate file name {:?}", name);
        }
        let Ok(nl) = u32::try_from(name.len()) else {
            return err!("archive: name too long");
        };
        out.extend_from_slice(&nl.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(data.len() as u64).to_le_bytes());
        out.extend_from_slice(data);
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    let padded = out.len().div_ceil(BLOCK) * BLOCK;
    out.resize(padded, 0);
    Ok(out)
}

fn take<'a>(img: &'a [u8], pos: &mut usize, n: usize, what: &str) -> Result<&'a [u8], Error> {
    let end = match pos.checked_add(n) {
        Some(e) if e <= img.len() => e,
        _ => {
            return err!(
                "archive: {} at offset {} runs past the end of the image",
                what,
                *pos
            )
        }
    };
    let s = &img[*pos..end];
    *pos = end;
    Ok(s)
}

/// Unpacks an image, validating it strictly.
pub fn unpack(img: &[u8]) -> Result<Vec<(String, Vec<u8>)>, Error> {
    if img.len() < MAGIC.len() || &img[..MAGIC.len()] != MAGIC {
        return err!("archive: bad magic (expected CRTNFS01)");
    }
    let mut pos = MAGIC.len();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    loop {
        let nl = take(img, &mut pos, 4, "name length")?;
        let nl = u32::from_le_bytes([nl[0], nl[1], nl[2], nl[3]]) as usize;
        if nl == 0 {
            break;
        }
        if nl > MAX_NAME {
            return err!(
                "archive: name length {} at offset {} is too long",
                nl,
                pos - 4
            );
        }
        let name = take(img, &mut pos, nl, "name")?;
        let Ok(name) = core::str::from_utf8(name) else {
            return err!("archive: file name at offset {} is not UTF-8", pos - nl);
        };
        check_name(name)?;
        if files.iter().any(|(n, _)| n == name) {
            return err!("archive: duplicate file name {:?}", name);
        }
        let dl = take(img, &mut pos, 8, "data length")?;
        let mut b = [0u8; 8];
        b.copy_from_slice(dl);
        let Ok(dl) = usize::try_from(u64::from_le_bytes(b)) else {
            return err!("archive: data length of {:?} is too large", name);
        };
        let data = take(img, &mut pos, dl, "file data")?;
        files.push((name.to_string(), data.to_vec()));
    }
    if img[pos..].iter().any(|&b| b != 0) {
        return err!(
            "archive: non-zero bytes after the end marker at offset {}",
            pos
        );
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(n: &str, d: &[u8]) -> (String, Vec<u8>) {
        (n.to_string(), d.to_vec())
    }

    #[test]
    fn round_trip() {
        let files = alloc::vec![f("s.fasta", b">a\nAC\n"), f("empty", b"")];
        let img = pack(&files).unwrap();
        assert_eq!(img.len() % BLOCK, 0);
        assert_eq!(&img[..8], MAGIC);
        assert_eq!(unpack(&img).unwrap(), files);
        let none = pack(&[]).unwrap();
        assert_eq!(none.len(), 512);
        assert!(unpack(&none).unwrap().is_empty());
    }

    #[test]
    fn bad_names() {
        for n in ["", ".", "..", "a/b", "a\\b", "a\0b"] {
            assert!(pack(&[f(n, b"x")]).is_err(), "{:?}", n);
        }
        assert!(pack(&[f("a", b""), f("a", b"")]).is_err());
        assert!(pack(&[f(&"x".repeat(256), b"")]).is_err());
    }

    #[test]
    fn malformed() {
        let img = pack(&[f("a", b"hello")]).unwrap();
        assert!(unpack(b"").is_err());
        assert!(unpack(b"CRTNFS02\0\0\0\0").is_err());
        assert!(unpack(&img[..10]).is_err()); // truncated name
        assert!(unpack(&img[..20]).is_err()); // truncated data
        let mut bad = img.clone();
        bad[20] = 0xff; // data length huge
        assert!(unpack(&bad).is_err());
        let mut bad = img.clone();
        let last = bad.len() - 1;
        bad[last] = 1; // garbage after end marker
        assert!(unpack(&bad).is_err());
        let mut bad = img.clone();
        bad[8] = 200; // name length past image / too long
        assert!(unpack(&bad).is_err());
        assert!(unpack(MAGIC).is_err()); // no end marker
    }
}

/// [`crate::Files`] over archive images: reads come from the files written
/// so far in this run, then from the input image; writes are collected for
/// the output image. This is what the unikernel uses with its two block
/// devices.
#[derive(Debug, Clone, Default)]
pub struct ImageFiles {
    inputs: Vec<(String, Vec<u8>)>,
    outputs: Vec<(String, Vec<u8>)>,
}

impl ImageFiles {
    /// Files from an input image.
    pub fn from_image(img: &[u8]) -> Result<Self, Error> {
        Ok(ImageFiles {
            inputs: unpack(img)?,
            outputs: Vec::new(),
        })
    }

    /// The files written, in first-write order.
    pub fn outputs(&self) -> &[(String, Vec<u8>)] {
        &self.outputs
    }

    /// The output image.
    pub fn output_image(&self) -> Result<Vec<u8>, Error> {
        pack(&self.outputs)
    }
}

impl crate::Files for ImageFiles {
    fn read(&mut self, name: &str) -> Result<Vec<u8>, Error> {
        self.outputs
            .iter()
            .chain(self.inputs.iter())
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.clone())
            .ok_or_else(|| {
                Error(alloc::format!(
                    "[ERROR]: Could not open {}: not in the input image",
                    name
                ))
            })
    }

    fn write(&mut self, name: &str, data: &[u8]) -> Result<(), Error> {
        check_name(name)?;
        match self.outputs.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = data.to_vec(),
            None => self.outputs.push((name.to_string(), data.to_vec())),
        }
        Ok(())
    }
}

/// Runs `commands` with the files of `input` and returns the output image.
pub fn run_image(
    commands: &str,
    input: &[u8],
    log: &mut dyn core::fmt::Write,
) -> Result<Vec<u8>, Error> {
    let mut files = ImageFiles::from_image(input)?;
    crate::run(commands, &mut files, log)?;
    files.output_image()
}

#[cfg(test)]
mod image_tests {
    use super::*;

    #[test]
    fn batch_through_images() {
        let input = pack(&[
            (
                "s.fasta".to_string(),
                b">a\nACGT\n>b\nACGA\n>c\nACGA\n".to_vec(),
            ),
            (
                "s.count_table".to_string(),
                b"Representative_Sequence\ttotal\na\t1\nb\t1\nc\t1\n".to_vec(),
            ),
        ])
        .unwrap();
        let mut log = String::new();
        let out = run_image(
            "#dist.seqs(fasta=s.fasta, cutoff=0.3); cluster(column=s.dist, count=s.count_table, method=average, cutoff=0.3)",
            &input,
            &mut log,
        )
        .unwrap();
        let files = unpack(&out).unwrap();
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["s.dist", "s.an.list"]);
        assert_eq!(files[0].1, b"b a 0.25\nc a 0.25\nc b 0\n");
        assert!(run_image("#dist.seqs(fasta=missing.fasta)", &input, &mut log).is_err());
        assert!(run_image("#dist.seqs(fasta=s.fasta, outputdir=x)", &input, &mut log).is_err());
    }
}
