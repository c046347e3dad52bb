//! Runs the real `/usr/bin/mothur` (1.48.0) and `corten-mothur` on the same
//! inputs and compares every output file byte for byte.
//!
//! Without mothur or the microbiomeutil data the tests print `SKIP: ...`
//! and pass, unless `CORTEN_REQUIRE_APPS=1` is set.
//!
//! Cluster outputs are compared exactly too: mothur breaks ties with a
//! shuffle seeded by its fixed default seed (19760620), which we reproduce.
//! When a list file differs, the failure message also says whether the
//! partition of sequences into OTUs per label still agrees (order-only
//! difference) or not, to make a regression easy to read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

const MOTHUR: &str = "/usr/bin/mothur";
const DATA: &str = "/usr/share/microbiomeutil-data/RESOURCES/rRNA16S.gold.NAST_ALIGNED.fasta";
const BIN: &str = env!("CARGO_BIN_EXE_corten-mothur");

/// `Some(reason)` when the real tools are missing (and that is allowed).
fn skip() -> Option<String> {
    let missing: Vec<&str> = [MOTHUR, DATA]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return None;
    }
    let reason = format!("{} not found", missing.join(" and "));
    if std::env::var("CORTEN_REQUIRE_APPS").as_deref() == Ok("1") {
        panic!("CORTEN_REQUIRE_APPS=1 but {}", reason);
    }
    eprintln!("SKIP: {}", reason);
    Some(reason)
}

fn scratch(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "corten-mothur-{}-{}-{}",
        std::process::id(),
        tag,
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Records `from..to` (0-based) of the data file, as FASTA text.
fn slice(from: usize, to: usize) -> String {
    let text = std::fs::read_to_string(DATA).unwrap();
    let mut out = String::new();
    let mut n = 0usize;
    let mut keep = false;
    for line in text.lines() {
        if line.starts_with('>') {
            keep = n >= from && n < to;
            n += 1;
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn names_of(fasta: &str) -> Vec<String> {
    fasta
        .lines()
        .filter_map(|l| l.strip_prefix('>'))
        .map(|l| l.split_whitespace().next().unwrap_or("").replace(':', "_"))
        .collect()
}

/// Every file under `dir` (names relative to it, subdirectories such as an
/// `outputdir=` included) except mothur's log files.
fn outputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(dir: &Path, prefix: &str, v: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = format!("{}{}", prefix, e.file_name().to_string_lossy());
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), &format!("{}/", name), v);
            } else if !e.file_name().to_string_lossy().starts_with("mothur.") {
                v.push((name, std::fs::read(e.path()).unwrap()));
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, "", &mut v);
    v.sort();
    v
}

/// Runs mothur; `may_fail` allows batches where mothur reports an error
/// (it still runs the other commands and exits 1).
fn run_mothur(dir: &Path, cmd: &str, may_fail: bool) {
    let out = Command::new(MOTHUR)
        .arg(cmd)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(may_fail || out.status.success(), "mothur failed on {}", cmd);
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_name().to_string_lossy().starts_with("mothur.") {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
}

/// Runs corten-mothur; with `may_fail` a failure must still be a clean
/// error (exit 1 and a `corten-mothur:` message), never a crash.
fn run_corten(dir: &Path, cmd: &str, may_fail: bool) {
    let out = Command::new(BIN)
        .arg(cmd)
        .current_dir(dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if may_fail && !out.status.success() {
        assert_eq!(
            out.status.code(),
            Some(1),
            "corten-mothur crashed on {}: {}",
            cmd,
            stderr
        );
        assert!(
            stderr.starts_with("corten-mothur: "),
            "unclear error on {}: {}",
            cmd,
            stderr
        );
        return;
    }
    assert!(
        out.status.success(),
        "corten-mothur failed on {}: {}",
        cmd,
        stderr
    );
}

/// Label -> set of OTUs (each a set of names) of a list file.
fn partitions(list: &[u8]) -> Vec<(String, BTreeSet<BTreeSet<String>>)> {
    String::from_utf8_lossy(list)
        .lines()
        .skip(1)
        .map(|l| {
            let mut f = l.split('\t');
            let label = f.next().unwrap_or("").to_string();
            let _n = f.next();
            let otus = f
                .map(|o| o.split(',').map(String::from).collect())
                .collect();
            (label, otus)
        })
        .collect()
}

/// Writes `inputs` into two scratch dirs, runs each command in both with
/// the respective tool, and compares all resulting files.
fn compare(tag: &str, inputs: &[(&str, &[u8])], commands: &[String]) {
    compare_runs(tag, inputs, commands, false)
}

/// Like [`compare`] for batches in which mothur reports errors: only the
/// files must agree (and corten-mothur must fail cleanly, if at all).
fn compare_with_errors(tag: &str, inputs: &[(&str, &[u8])], commands: &[String]) {
    compare_runs(tag, inputs, commands, true)
}

fn compare_runs(tag: &str, inputs: &[(&str, &[u8])], commands: &[String], may_fail: bool) {
    let m = scratch(&format!("{}-m", tag));
    let c = scratch(&format!("{}-c", tag));
    for (name, data) in inputs {
        for d in [&m, &c] {
            std::fs::create_dir_all(d.join(name).parent().unwrap()).unwrap();
            std::fs::write(d.join(name), data).unwrap();
        }
    }
    for cmd in commands {
        run_mothur(&m, cmd, may_fail);
        run_corten(&c, cmd, may_fail);
        let (mo, co) = (outputs(&m), outputs(&c));
        let mn: Vec<&String> = mo.iter().map(|x| &x.0).collect();
        let cn: Vec<&String> = co.iter().map(|x| &x.0).collect();
        assert_eq!(mn, cn, "different output files for {}", cmd);
        for ((name, a), (_, b)) in mo.iter().zip(&co) {
            if a != b {
                let how = if name.ends_with(".list") && partitions(a) == partitions(b) {
                    "same OTU partition per label, different order"
                } else {
                    "different content"
                };
                panic!(
                    "{} differs for {} ({}):\n--- mothur\n{}\n--- corten\n{}",
                    name,
                    cmd,
                    how,
                    String::from_utf8_lossy(&a[..a.len().min(600)]),
                    String::from_utf8_lossy(&b[..b.len().min(600)])
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&m);
    let _ = std::fs::remove_dir_all(&c);
}

fn dist_commands(cutoff: &str) -> Vec<String> {
    let mut v = Vec::new();
    for calc in ["onegap", "eachgap", "nogaps"] {
        for ends in ["T", "F"] {
            for out in ["column", "lt", "square"] {
                v.push(format!(
                    "#dist.seqs(fasta=s.fasta, calc={}, countends={}, cutoff={}, output={}, processors=1)",
                    calc, ends, cutoff, out
                ));
            }
        }
    }
    v
}

#[test]
fn dist_seqs_first_sequences_cutoff_003() {
    if skip().is_some() {
        return;
    }
    let f = slice(0, 40);
    compare("d1", &[("s.fasta", f.as_bytes())], &dist_commands("0.03"));
}

#[test]
fn dist_seqs_mixed_case_slice_cutoff_1() {
    if skip().is_some() {
        return;
    }
    // records 700.. contain lower-case sequences
    let f = slice(700, 730);
    compare("d2", &[("s.fasta", f.as_bytes())], &dist_commands("1.0"));
}

#[test]
fn dist_seqs_ambiguity_slice_cutoff_005() {
    if skip().is_some() {
        return;
    }
    // records 240.. contain ambiguity codes
    let f = slice(240, 270);
    compare("d3", &[("s.fasta", f.as_bytes())], &dist_commands("0.05"));
}

#[test]
fn dist_seqs_defaults_and_names() {
    if skip().is_some() {
        return;
    }
    let f = slice(100, 115);
    // default options (onegap, countends=T, cutoff=1.0, column), a file
    // name without extension, and processors omitted on an lt run (its
    // output order does not depend on threads).
    compare(
        "d4",
        &[("s.fasta", f.as_bytes()), ("seqs", f.as_bytes())],
        &[
            "#dist.seqs(fasta=s.fasta, processors=1)".to_string(),
            "#dist.seqs(fasta=seqs, output=phylip, cutoff=0.2, processors=1)".to_string(),
            "#dist.seqs(fasta=seqs, output=square, calc=eachgap)".to_string(),
        ],
    );
}

/// Hand-made sequences for the edge rules: lower case and a name with
/// `:`, ambiguity codes and `U`, `.` ends, `-` ends (turned into `.`),
/// `-` only at the end (kept), identical sequences, inner `.`, a short
/// sequence, a column that is a gap in every sequence (column 17), and a
/// sequence split over two lines.
const EDGE: &str = "\
>plain
ACGTACGTACGTACGT-ACG
TACGTACGTACGT
>lower:name comment here
acgtacgtacgtacgt-acgtacgtacgtacgt
>ambig
ACGTRYKMACGTSWBD-ACGTHVNNACGTACGU
>dots
......ACGTACGTAC-GTACGTACGT......
>dashends
------ACGTACGTAC-GTACGTACGT------
>dashtail
ACGTACGTACGTACGT-ACGTACGTAC------
>allgapcol
AC--ACG-ACGT--GT-ACGTACGTAC--ACGT
>identical
ACGTACGTACGTACGT-ACGTACGTACGTACGT
>identical2
ACGTACGTACGTACGT-ACGTACGTACGTACGT
>innerdot
ACGTAC..ACGTACGT-ACGT..GTACGTACGT
>short
..............AC-GTAC............
>gappy
A-C-G-T-A-C-G-T--A-C-G-T-A-C-G-T-
>mixedends
..--ACGTACGTACGT-TTGTACGTACGT--..
";

#[test]
fn dist_seqs_edge_cases() {
    if skip().is_some() {
        return;
    }
    let mut cmds = dist_commands("0.5");
    cmds.extend(dist_commands("1.0"));
    compare("edge", &[("s.fasta", EDGE.as_bytes())], &cmds);
}

fn count_table(fasta: &str) -> String {
    let mut s = String::from("Representative_Sequence\ttotal\n");
    for (i, n) in names_of(fasta).iter().enumerate() {
        s.push_str(&format!("{}\t{}\n", n, if i % 3 == 0 { 3 } else { 1 }));
    }
    s
}

fn name_file(fasta: &str) -> String {
    names_of(fasta)
        .iter()
        .map(|n| format!("{}\t{}\n", n, n))
        .collect()
}

/// A slice plus renamed copies of part of it: many zero distances and
/// exact ties for the tie-breaking shuffle.
fn ties_fasta() -> String {
    let a = slice(0, 30);
    let mut out = a.clone();
    for (tag, n) in [("dup", 30), ("tri", 10)] {
        let mut k = 0;
        for line in a.lines() {
            if let Some(h) = line.strip_prefix('>') {
                k += 1;
                if k > n {
                    break;
                }
                out.push_str(&format!(
                    ">{}_{}\n",
                    h.split_whitespace().next().unwrap(),
                    tag
                ));
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[test]
fn cluster_column_all_methods() {
    if skip().is_some() {
        return;
    }
    for (tag, fasta) in [("c1", slice(0, 60)), ("c2", ties_fasta())] {
        let ct = count_table(&fasta);
        let nf = name_file(&fasta);
        let mut cmds = vec![
            "#dist.seqs(fasta=s.fasta, calc=onegap, countends=F, cutoff=0.12, processors=1)"
                .to_string(),
        ];
        for method in ["average", "furthest", "nearest"] {
            cmds.push(format!(
                "#cluster(column=s.dist, count=s.count_table, method={}, cutoff=0.03)",
                method
            ));
            cmds.push(format!(
                "#cluster(column=s.dist, count=s.count_table, method={}, cutoff=0.1)",
                method
            ));
            cmds.push(format!(
                "#cluster(column=s.dist, name=s.names, method={}, cutoff=0.05)",
                method
            ));
            // default cutoff (0.15) and other precisions
            cmds.push(format!(
                "#cluster(column=s.dist, count=s.count_table, method={})",
                method
            ));
            cmds.push(format!(
                "#cluster(column=s.dist, name=s.names, method={}, precision=10, cutoff=0.12)",
                method
            ));
            cmds.push(format!("#cluster(column=s.dist, count=s.count_table, method={}, precision=1000, cutoff=0.1)", method));
        }
        compare(
            tag,
            &[
                ("s.fasta", fasta.as_bytes()),
                ("s.count_table", ct.as_bytes()),
                ("s.names", nf.as_bytes()),
            ],
            &cmds,
        );
    }
}

#[test]
fn cluster_phylip_all_methods() {
    if skip().is_some() {
        return;
    }
    // phylip distances are rounded to 4 digits: many exact ties.
    let fasta = slice(1000, 1080);
    let ct = count_table(&fasta);
    let mut cmds = vec![
        "#dist.seqs(fasta=s.fasta, calc=onegap, countends=F, output=lt, processors=1)".to_string(),
        "#dist.seqs(fasta=s.fasta, calc=eachgap, output=square, processors=1)".to_string(),
    ];
    for method in ["average", "furthest", "nearest"] {
        cmds.push(format!(
            "#cluster(phylip=s.phylip.dist, count=s.count_table, method={}, cutoff=0.1)",
            method
        ));
        cmds.push(format!(
            "#cluster(phylip=s.phylip.dist, method={}, cutoff=0.05)",
            method
        ));
        cmds.push(format!(
            "#cluster(phylip=s.square.dist, method={}, cutoff=0.1, precision=1000)",
            method
        ));
    }
    compare(
        "p1",
        &[
            ("s.fasta", fasta.as_bytes()),
            ("s.count_table", ct.as_bytes()),
        ],
        &cmds,
    );
}

#[test]
fn batch_of_two_commands_uses_current_column_file() {
    if skip().is_some() {
        return;
    }
    let fasta = slice(0, 40);
    let ct = count_table(&fasta);
    compare(
        "batch",
        &[("s.fasta", fasta.as_bytes()), ("s.count_table", ct.as_bytes())],
        &["#dist.seqs(fasta=s.fasta, cutoff=0.1, processors=1); cluster(count=s.count_table, method=average, cutoff=0.05)"
            .to_string()],
    );
}

#[test]
fn cluster_ties_follow_the_seed() {
    if skip().is_some() {
        return;
    }
    // With duplicated sequences and 4-digit phylip distances the merge
    // order depends on the shuffle; different seeds give different files,
    // and each must match mothur's.
    let fasta = ties_fasta();
    let ct = count_table(&fasta);
    let mut cmds = vec![
        "#dist.seqs(fasta=s.fasta, calc=onegap, countends=F, output=lt, processors=1)".to_string(),
    ];
    for seed in ["1", "12345", "-7"] {
        cmds.push(format!(
            "#cluster(phylip=s.phylip.dist, method=average, cutoff=0.1, seed={})",
            seed
        ));
        cmds.push(format!(
            "#cluster(phylip=s.phylip.dist, count=s.count_table, method=furthest, cutoff=0.1, seed={})",
            seed
        ));
    }
    compare(
        "seed",
        &[
            ("s.fasta", fasta.as_bytes()),
            ("s.count_table", ct.as_bytes()),
        ],
        &cmds,
    );
}

#[test]
fn cluster_grouped_name_file_and_counts() {
    if skip().is_some() {
        return;
    }
    // Representatives standing for several sequences: abundances weigh
    // average linkage and the list shows every member.
    let fasta = slice(0, 30);
    let names = names_of(&fasta);
    let mut nf = String::new();
    let mut ct = String::from("Representative_Sequence\ttotal\n");
    for (i, n) in names.iter().enumerate() {
        if i < 10 {
            nf.push_str(&format!("{n}\t{n},{n}_dup,{n}_tri\n"));
            ct.push_str(&format!("{n}\t3\n"));
        } else {
            nf.push_str(&format!("{n}\t{n}\n"));
            ct.push_str(&format!("{n}\t1\n"));
        }
    }
    let mut cmds = vec![
        "#dist.seqs(fasta=s.fasta, calc=onegap, countends=F, cutoff=0.15, processors=1)"
            .to_string(),
        "#dist.seqs(fasta=s.fasta, output=lt, processors=1)".to_string(),
    ];
    for method in ["average", "furthest", "nearest"] {
        cmds.push(format!(
            "#cluster(column=s.dist, name=s.names, method={}, cutoff=0.1)",
            method
        ));
        cmds.push(format!(
            "#cluster(column=s.dist, count=s.count_table, method={}, cutoff=0.1)",
            method
        ));
        cmds.push(format!(
            "#cluster(phylip=s.phylip.dist, name=s.names, method={}, cutoff=0.1)",
            method
        ));
    }
    compare(
        "grouped",
        &[
            ("s.fasta", fasta.as_bytes()),
            ("s.names", nf.as_bytes()),
            ("s.count_table", ct.as_bytes()),
        ],
        &cmds,
    );
}

#[test]
fn dist_seqs_fasta_quirks() {
    if skip().is_some() {
        return;
    }
    // CRLF line ends, blank lines, a tab in a header, headers with a space
    // after '>' (empty name: mothur drops the record), leading blanks and
    // an inner space in sequence lines, a sequence over two lines.
    let f = ">a desc\tx\r\nACGT-ACGT\r\n\r\n>  b\r\nACGTTACGT\r\n> c\nACGAACGT-\n>d\n  ACG TACGT\n>e\nAC\nGTNACGT\n";
    let mut cmds = dist_commands("1.0");
    cmds.truncate(6);
    compare("quirks", &[("s.fasta", f.as_bytes())], &cmds);
}

#[test]
fn blank_input_files_count_as_not_given() {
    if skip().is_some() {
        return;
    }
    // dist.seqs at cutoff 0 on distinct sequences writes an empty column
    // file. mothur reports a blank file given as a parameter and treats it
    // as not given: alone, cluster then has no distance file and writes
    // nothing; in a batch it falls back to the current column file
    // (the same s.dist) and clusters it. Blank name files and count
    // tables, and NUL/white space only files, are blank too.
    let fasta = slice(0, 12);
    let ct = count_table(&fasta);
    let cmds = [
        "#dist.seqs(fasta=s.fasta, cutoff=0, processors=1)",
        "#cluster(column=s.dist, count=s.count_table, method=average, cutoff=0.05)",
        "#cluster(column=s.dist, name=s.names, method=nearest)",
        "#dist.seqs(fasta=s.fasta, cutoff=0, processors=1); cluster(column=s.dist, count=s.count_table, method=furthest, cutoff=0.05)",
        "#dist.seqs(fasta=s.fasta, cutoff=0.1, processors=1); cluster(column=s.dist, count=blank.count_table, method=average, cutoff=0.05)",
        "#dist.seqs(fasta=s.fasta, cutoff=0.1, processors=1); cluster(column=s.dist, name=nul.names, method=nearest, cutoff=0.05)",
        "#dist.seqs(fasta=blank.fasta, processors=1)",
    ];
    compare_with_errors(
        "blank",
        &[
            ("s.fasta", fasta.as_bytes()),
            ("s.count_table", ct.as_bytes()),
            ("s.names", b"\n  \n"),
            ("blank.count_table", b""),
            ("nul.names", b"\0\0\n\t\n"),
            ("blank.fasta", b"\r\n\n"),
        ],
        &cmds.map(String::from),
    );
}

#[test]
fn a_failing_command_does_not_stop_the_batch_and_current_files_carry_over() {
    if skip().is_some() {
        return;
    }
    // mothur runs every command of a batch even after one fails; later
    // commands use the current files: dist.seqs without fasta= takes the
    // last fasta, cluster without a distance file the column file given
    // to an earlier cluster (before the phylip file dist.seqs wrote).
    let fasta = slice(300, 340);
    let ct = count_table(&fasta);
    let cmds = [
        "#dist.seqs(fasta=s.fasta, cutoff=0.2, processors=1); cluster(column=s.dist, method=average, cutoff=0.1); dist.seqs(output=lt, calc=eachgap, processors=1)",
        "#dist.seqs(fasta=s.fasta, output=square, processors=1); dist.seqs(calc=nogaps, countends=F, cutoff=0.1, processors=1); cluster(count=s.count_table, method=nearest, cutoff=0.05)",
        "#cluster(column=s.dist, count=s.count_table, method=average, cutoff=0.05); dist.seqs(fasta=s.fasta, output=lt, processors=1); cluster(method=furthest, cutoff=0.03)",
    ];
    compare_with_errors(
        "carry",
        &[
            ("s.fasta", fasta.as_bytes()),
            ("s.count_table", ct.as_bytes()),
        ],
        &cmds.map(String::from),
    );
}

#[test]
fn option_values_mothur_takes_its_own_way() {
    if skip().is_some() {
        return;
    }
    // Values mothur does not reject: booleans other than T/TRUE are false,
    // an unknown calc is onegap and an unknown output column (both are
    // case sensitive), a repeated option takes the last value, a precision
    // that is not a power of ten >= 10 is dropped (default 100), cluster
    // ignores any integer processors; outputdir= is created. And the ones
    // it refuses: precision=+100 and processors=2.5 in cluster.
    let fasta = slice(400, 440);
    let ct = count_table(&fasta);
    let mut cmds: Vec<String> = [
        "countends=yes",
        "countends=1, calc=eachgap",
        "calc=EachGap, countends=F",
        "calc=xyz, output=lt",
        "output=COLUMN, calc=nogaps",
        "output=Square",
        "calc=eachgap, calc=nogaps, output=lt",
        "cutoff=0.5, cutoff=0.1",
        "outputdir=out",
    ]
    .iter()
    .map(|o| format!("#dist.seqs(fasta=s.fasta, {}, processors=1)", o))
    .collect();
    cmds.push("#dist.seqs(fasta=s.fasta, cutoff=0.15, processors=1)".to_string());
    for o in [
        "precision=7",
        "precision=1",
        "precision=0",
        "precision=-10",
        "precision=abc, method=furthest",
        "precision=100.0, method=nearest",
        "precision=10000",
        "processors=0",
        "processors=-3, method=nearest",
        "sim=yes, showabund=x, timing=t",
        "precision=+100",
        "processors=2.5",
        "method=nearest, outputdir=out2",
    ] {
        cmds.push(format!(
            "#cluster(column=s.dist, count=s.count_table, method=average, cutoff=0.1, {})",
            o
        ));
    }
    compare_with_errors(
        "optvals",
        &[
            ("s.fasta", fasta.as_bytes()),
            ("s.count_table", ct.as_bytes()),
        ],
        &cmds,
    );
}

#[test]
fn outputdir_and_inputdir_stay_for_the_batch() {
    if skip().is_some() {
        return;
    }
    // mothur's checkForRedirects makes outputdir=/inputdir= the batch's
    // directories, and input files are looked for as given, then in the
    // input directories, then in the output directory: the cluster finds
    // od/s.dist as s.dist, and the later dist.seqs writes into od/ too.
    // A name found as given wins over the input directory (two different
    // a.fasta files).
    let fasta = slice(500, 530);
    let other = slice(530, 550);
    let ct = count_table(&fasta);
    let ct_other = count_table(&other);
    let cmds = [
        "#dist.seqs(fasta=s.fasta, outputdir=od, cutoff=0.15, processors=1); cluster(column=s.dist, count=s.count_table, method=average, cutoff=0.05); dist.seqs(output=lt, processors=1); cluster(phylip=s.phylip.dist, method=nearest, cutoff=0.1)",
        "#dist.seqs(fasta=x.fasta, inputdir=in, cutoff=0.2, processors=1); cluster(column=x.dist, count=x.count_table, method=furthest, cutoff=0.1)",
        "#dist.seqs(fasta=a.fasta, inputdir=in, output=lt, processors=1)",
    ];
    compare_with_errors(
        "dirs",
        &[
            ("s.fasta", fasta.as_bytes()),
            ("s.count_table", ct.as_bytes()),
            ("in/x.fasta", other.as_bytes()),
            ("in/x.count_table", ct_other.as_bytes()),
            ("a.fasta", fasta.as_bytes()),
            ("in/a.fasta", other.as_bytes()),
        ],
        &cmds.map(String::from),
    );
}
