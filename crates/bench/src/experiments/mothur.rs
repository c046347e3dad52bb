//! The mothur app: wall time of `dist.seqs` and `cluster` on the first N
//! real 16S sequences of Debian's microbiomeutil-data, for the real
//! mothur, Corten's native drop-in (`corten-mothur`) and its unikernels on
//! every tender. Every run's output files are hashed and compared with
//! mothur's own (the reference identity).
//!
//! Unikernel runs read their inputs from a block device holding an
//! archive (`corten-mothur pack`) and write their outputs to a fresh,
//! sparse output device, unpacked afterwards (`corten-mothur unpack`);
//! packing and unpacking are outside the timed span, booting and all
//! block I/O inside it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::{Artifacts, Candidate, Case, Sample, TenderRun};

/// Debian's real 16S rRNA sequences (NAST-aligned, 7682 columns).
pub const GOLD: &str = "/usr/share/microbiomeutil-data/RESOURCES/rRNA16S.gold.NAST_ALIGNED.fasta";
pub const SIZES: [usize; 3] = [500, 1000, 2000];
pub const QUICK_SIZES: [usize; 1] = [500];
pub const MOTHUR: &str = "mothur 1.48 (Debian)";
pub const NATIVE: &str = "native (corten-mothur)";

/// Guest memory: 2000 aligned sequences are 15 MiB, their distances a
/// few MiB; the archive images are read whole.
const MEM_MIB: u32 = 1024;
/// Size of each fresh output device (sparse).
const OUT_IMAGE: u64 = 256 << 20;
/// Sector size of both devices: fewer, larger transfers (one host call or
/// VM exit each); the largest Solo5 allows.
const SECTOR: u32 = 32768;

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// "name:hash" of every file in `dir` not in `inputs` and not a mothur
/// logfile, sorted: what a run produced.
fn outputs_identity(dir: &Path, inputs: &[String]) -> Result<String, String> {
    let mut files = BTreeMap::new();
    let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if inputs.contains(&name) || name.ends_with(".logfile") || name.ends_with(".img") {
            continue;
        }
        let data = fs::read(e.path()).map_err(|err| format!("{name}: {err}"))?;
        files.insert(name, fnv(&data));
    }
    if files.is_empty() {
        return Err("it wrote no output file".to_owned());
    }
    Ok(files
        .iter()
        .map(|(n, h)| format!("{n}:{h:016x}"))
        .collect::<Vec<_>>()
        .join(","))
}

/// Removes what a previous run wrote, keeping the inputs.
fn clean(dir: &Path, inputs: &[String]) -> Result<(), String> {
    for e in fs::read_dir(dir).map_err(|e| e.to_string())?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !inputs.contains(&name) {
            let p = e.path();
            let r = if p.is_dir() {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            };
            r.map_err(|err| format!("{name}: {err}"))?;
        }
    }
    Ok(())
}

fn run_timed(cmd: &mut Command) -> Result<(f64, String), String> {
    cmd.stdin(Stdio::null());
    let t0 = Instant::now();
    let out = cmd.output().map_err(|e| format!("cannot start: {e}"))?;
    let secs = t0.elapsed().as_secs_f64();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        Ok((secs, text))
    } else {
        Err(format!("{}: {}", out.status, super::output_tail(&text, 4)))
    }
}

/// mothur itself or the native drop-in: runs in its own directory.
struct InDir {
    label: String,
    program: PathBuf,
    batch: String,
    dir: PathBuf,
    inputs: Vec<String>,
}

impl Candidate for InDir {
    fn label(&self) -> String {
        self.label.clone()
    }
    fn command(&self) -> String {
        format!("{} \"{}\"", self.program.display(), self.batch)
    }
    fn sample(&mut self) -> Result<Sample, String> {
        clean(&self.dir, &self.inputs)?;
        let (secs, text) = run_timed(
            Command::new(&self.program)
                .arg(&self.batch)
                .current_dir(&self.dir),
        )?;
        // mothur reports errors in its output but exits 0.
        if text.contains("[ERROR]") {
            return Err(format!(
                "reported an error: {}",
                text.lines().find(|l| l.contains("[ERROR]")).unwrap_or("")
            ));
        }
        Ok(Sample {
            value: secs,
            identity: outputs_identity(&self.dir, &self.inputs)?,
        })
    }
}

/// The unikernel on one tender.
struct OnTender {
    tender: TenderRun,
    kernel: PathBuf,
    packer: PathBuf,
    batch: String,
    dir: PathBuf,
}

impl OnTender {
    fn args(&self) -> Vec<String> {
        let img = |n: &str| self.dir.join(n).display().to_string();
        let mut a = vec![format!("--mem={MEM_MIB}")];
        a.extend(self.tender.options.iter().cloned());
        a.push(format!("--block:input={}", img("in.img")));
        a.push(format!("--block:output={}", img("out.img")));
        a.push(format!("--block-sector-size:input={SECTOR}"));
        a.push(format!("--block-sector-size:output={SECTOR}"));
        a.push("--".to_owned());
        a.push(self.kernel.display().to_string());
        a.push("--solo5:quiet".to_owned());
        a.push(self.batch.clone());
        a
    }
}

impl Candidate for OnTender {
    fn label(&self) -> String {
        self.tender.label.clone()
    }
    fn command(&self) -> String {
        format!(
            "{} {}",
            self.tender.program.display(),
            self.args().join(" ")
        )
    }
    fn sample(&mut self) -> Result<Sample, String> {
        let keep = vec!["in.img".to_owned()];
        clean(&self.dir, &keep)?;
        let out = self.dir.join("out.img");
        fs::File::create(&out)
            .and_then(|f| f.set_len(OUT_IMAGE))
            .map_err(|e| format!("{}: {e}", out.display()))?;
        let (secs, _) = run_timed(
            Command::new(&self.tender.program)
                .args(self.args())
                .envs(self.tender.env.iter().map(|(k, v)| (k, v))),
        )?;
        let files = self.dir.join("files");
        fs::create_dir_all(&files).map_err(|e| e.to_string())?;
        run_timed(
            Command::new(&self.packer)
                .arg("unpack")
                .arg(&out)
                .arg(&files),
        )
        .map_err(|e| format!("unpacking its output: {e}"))?;
        Ok(Sample {
            value: secs,
            identity: outputs_identity(&files, &[])?,
        })
    }
}

/// Extends `image` with zeros to a multiple of [`SECTOR`].
fn pad_to_sectors(image: &Path) -> Result<(), String> {
    let f = fs::OpenOptions::new()
        .write(true)
        .open(image)
        .map_err(|e| format!("{}: {e}", image.display()))?;
    let len = f.metadata().map_err(|e| e.to_string())?.len();
    f.set_len(len.next_multiple_of(u64::from(SECTOR)))
        .map_err(|e| format!("{}: {e}", image.display()))
}

/// The first `n` records of the FASTA text.
fn first_records(fasta: &str, n: usize) -> String {
    let mut out = String::new();
    let mut seen = 0;
    for line in fasta.split_inclusive('\n') {
        if line.starts_with('>') {
            seen += 1;
            if seen > n {
                break;
            }
        }
        out.push_str(line);
    }
    out
}

/// A count table giving every sequence of `fasta` a count of 1.
fn count_table(fasta: &str) -> String {
    let mut s = String::from("Representative_Sequence\ttotal\n");
    for l in fasta.lines().filter_map(|l| l.strip_prefix('>')) {
        let name = l.split_whitespace().next().unwrap_or("");
        s.push_str(name);
        s.push_str("\t1\n");
    }
    s
}

/// One case: its batch, its input files (name, bytes).
struct Workload {
    name: String,
    batch: String,
    inputs: Vec<(String, Vec<u8>)>,
}

fn write_inputs(dir: &Path, inputs: &[(String, Vec<u8>)]) -> Result<Vec<String>, String> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (n, d) in inputs {
        fs::write(dir.join(n), d).map_err(|e| format!("{n}: {e}"))?;
    }
    Ok(inputs.iter().map(|(n, _)| n.clone()).collect())
}

/// Measures `dist.seqs` and `cluster` at every size under `scratch`; each
/// case's reference identity is mothur's output.
pub fn measure(
    a: &Artifacts,
    tenders: &[TenderRun],
    sizes: &[usize],
    rounds: usize,
    scratch: &Path,
) -> Result<Vec<Case>, String> {
    let gold = fs::read_to_string(GOLD)
        .map_err(|e| format!("{GOLD}: {e} (Debian package microbiomeutil-data)"))?;
    let mothur = PathBuf::from("/usr/bin/mothur");
    let native = a.native.join("corten-mothur");
    let mut out = Vec::new();
    for &n in sizes {
        let fasta = first_records(&gold, n);
        let stem = format!("s{n}");
        let dist_batch = format!(
            "#dist.seqs(fasta={stem}.fasta, calc=onegap, countends=F, cutoff=0.03, processors=1)"
        );
        // cluster reads mothur's own distances (made once, untimed), with
        // a wider cutoff so that clustering has more to do.
        let prep_batch = format!(
            "#dist.seqs(fasta={stem}.fasta, calc=onegap, countends=F, cutoff=0.10, processors=1)"
        );
        let prep = scratch.join(format!("prep{n}"));
        write_inputs(
            &prep,
            &[(format!("{stem}.fasta"), fasta.clone().into_bytes())],
        )?;
        run_timed(Command::new(&mothur).arg(&prep_batch).current_dir(&prep))
            .map_err(|e| format!("mothur could not prepare the distances: {e}"))?;
        let dist = fs::read(prep.join(format!("{stem}.dist")))
            .map_err(|e| format!("mothur's {stem}.dist: {e}"))?;
        let workloads = [
            Workload {
                name: format!("dist.seqs, {n} sequences"),
                batch: dist_batch.clone(),
                inputs: vec![(format!("{stem}.fasta"), fasta.clone().into_bytes())],
            },
            Workload {
                name: format!("cluster (average), {n} sequences"),
                batch: format!("#cluster(column={stem}.dist, count={stem}.count_table, method=average, cutoff=0.10)"),
                inputs: vec![
                    (format!("{stem}.dist"), dist),
                    (format!("{stem}.count_table"), count_table(&fasta).into_bytes()),
                ],
            },
        ];
        for (k, w) in workloads.iter().enumerate() {
            let base = scratch.join(format!("n{n}-{k}"));
            let mut c: Vec<Box<dyn Candidate>> = Vec::new();
            for (label, program, sub) in [(MOTHUR, &mothur, "mothur"), (NATIVE, &native, "native")]
            {
                let dir = base.join(sub);
                let inputs = write_inputs(&dir, &w.inputs)?;
                c.push(Box::new(InDir {
                    label: label.to_owned(),
                    program: program.clone(),
                    batch: w.batch.clone(),
                    dir,
                    inputs,
                }));
            }
            // The input image, packed once by the project's own packer.
            let packdir = base.join("pack");
            let names = write_inputs(&packdir, &w.inputs)?;
            let image = base.join("in.img");
            let mut pack = Command::new(&native);
            pack.arg("pack").arg(&image);
            for n in &names {
                pack.arg(packdir.join(n));
            }
            run_timed(&mut pack).map_err(|e| format!("corten-mothur pack: {e}"))?;
            // A device is whole sectors; the archive's zero padding may
            // run on.
            pad_to_sectors(&image)?;
            for (i, t) in tenders.iter().enumerate() {
                let dir = base.join(format!("uk{i}"));
                fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
                fs::copy(&image, dir.join("in.img")).map_err(|e| e.to_string())?;
                c.push(Box::new(OnTender {
                    tender: t.clone(),
                    kernel: a.unikernels.join(format!("mothur.{}", t.kind.ext())),
                    packer: native.clone(),
                    batch: w.batch.clone(),
                    dir,
                }));
            }
            let mut case = super::measure_case(&w.name, "s", false, &mut c, rounds);
            case.reference = case
                .find(MOTHUR)
                .and_then(|s| s.identities.iter().next().cloned());
            out.push(case);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_counts() {
        let f = ">a x\nAC\nGT\n>b\nAA\n>c\nTT\n";
        assert_eq!(first_records(f, 2), ">a x\nAC\nGT\n>b\nAA\n");
        assert_eq!(first_records(f, 9), f);
        assert_eq!(
            count_table(">a x\nAC\n>b\nAA\n"),
            "Representative_Sequence\ttotal\na\t1\nb\t1\n"
        );
        assert_ne!(fnv(b"a"), fnv(b"b"));
    }
}
