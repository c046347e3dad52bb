//! The `cluster` command for `method=average|furthest|nearest`
//! (source/commands/clustercommand.cpp `runMothurCluster`, source/cluster.cpp,
//! averagelinkage.cpp, completelinkage.cpp, singlelinkage.cpp).
//!
//! Rules reproduced:
//! * the distance file is read keeping cells `<= (float)cutoff`; default
//!   cutoff 0.15 for these methods, precision 100;
//! * each step merges the smallest cell (ties broken by mothur's seeded
//!   shuffle, see [`crate::rng`]): the OTU with the lower index (row) is
//!   appended in front of the higher one (`row,col`), whose slot keeps it;
//! * average: `(colSize*colDist + rowSize*rowDist)/(colSize+rowSize)` in
//!   `float`, sizes being abundances; furthest: max; nearest: min. A
//!   distance missing on one side means "above the cutoff": furthest and
//!   average drop the pair, nearest keeps the present one; average lowers
//!   the cutoff to the smallest dropped distance;
//! * labels: `unique` while only distance-0 merges happened, then
//!   `ceil(dist*precision)/precision` printed with `%g`; a line is written
//!   when the rounded level changes, holding the state before the merge;
//! * output: `[root][tag].list` (tag `an`, `fn`, `nn`), plus `.rabund` and
//!   `.sabund` when no count table is given. OTUs in a list line are
//!   ordered by `std::sort` on abundance (see [`crate::stdsort`]).

use crate::command::{is_true, parse_f64, prepare_files, Command, Current};
use crate::counts::{self, Names};
use crate::matrix::{self, is_equal, Cell, SparseMatrix};
use crate::numfmt::push_g;
use crate::rng::MOTHUR_SEED;
use crate::{err, paths, stdsort, Error, Files};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write;

const ALLOWED: &[&str] = &[
    "phylip",
    "fasta",
    "name",
    "count",
    "column",
    "cutoff",
    "precision",
    "method",
    "initialize",
    "metric",
    "delta",
    "iters",
    "showabund",
    "timing",
    "sim",
    "vsearch",
    "seed",
    "inputdir",
    "processors",
    "outputdir",
];

/// Linkage method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// UPGMA (`an`).
    Average,
    /// Complete linkage (`fn`).
    Furthest,
    /// Single linkage (`nn`).
    Nearest,
}

impl Method {
    /// mothur's file tag.
    pub fn tag(self) -> &'static str {
        match self {
            Method::Average => "an",
            Method::Furthest => "fn",
            Method::Nearest => "nn",
        }
    }
}

/// The distance file given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DistFile {
    /// `column=`.
    Column(String),
    /// `phylip=`.
    Phylip(String),
}

/// Parsed cluster options.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Distance file.
    pub dist: DistFile,
    /// `count=`.
    pub count: Option<String>,
    /// `name=`.
    pub name: Option<String>,
    /// Method.
    pub method: Method,
    /// mothur's `double cutoff`.
    pub cutoff: f64,
    /// `precision=`.
    pub precision: u32,
    /// The batch's `outputdir=`, if any.
    pub outputdir: Option<String>,
    /// Random seed for tie breaking.
    pub seed: u64,
}

/// Parses `seed=` as mothur's `int` stored in an `unsigned`.
pub fn parse_seed(v: &str) -> Result<u64, Error> {
    match v.parse::<i32>() {
        Ok(x) => Ok(u64::from(x as u32)),
        Err(_) => err!("[ERROR]: Seed must be an integer."),
    }
}

/// mothur's `precision=`: `ValidParameters::isValidParameter` drops the
/// parameter (so the default 100 applies) unless every `-`-separated part
/// is a whole C `int` of at least 10 whose `log10` is integral, i.e. a
/// power of ten.
fn precision_of(v: &str) -> Result<u32, Error> {
    let power_of_ten = |p: &str| {
        // `istringstream >> int` takes a sign and must use every character
        let p = p.strip_prefix('+').unwrap_or(p);
        match p.parse::<i32>() {
            Ok(x) if x >= 10 => {
                let mut y = x;
                while y % 10 == 0 {
                    y /= 10;
                }
                y == 1
            }
            _ => false,
        }
    };
    if !v.split('-').all(power_of_ten) {
        return Ok(100);
    }
    if v.starts_with('+') {
        // `Utils::mothurConvert` to int refuses what is not digits, `.`, `-`
        return err!("[ERROR]: cannot convert {} to an integer.", v);
    }
    match v.parse::<u32>() {
        Ok(x) => Ok(x),
        Err(_) => err!("[ERROR]: precision={} (a range) is not supported.", v),
    }
}

/// Reads the options of a cluster command.
pub fn options(cmd: &Command, current: &Current) -> Result<Options, Error> {
    cmd.check_allowed(ALLOWED)?;
    let file = |k: &str| cmd.get(k).map(String::from);
    let method = match cmd.get("method").unwrap_or("opti") {
        "average" => Method::Average,
        "furthest" => Method::Furthest,
        "nearest" => Method::Nearest,
        "opti" => {
            return err!(
                "[ERROR]: method=opti (mothur 1.48's default) is not supported; use method=average, furthest or nearest."
            )
        }
        m @ ("weighted" | "agc" | "dgc" | "unique") => {
            return err!("[ERROR]: method={} is not supported; use method=average, furthest or nearest.", m)
        }
        m => {
            return err!(
                "[ERROR]: {} is not a valid clustering method. Valid clustering algorithms are furthest, nearest, average, weighted, agc, dgc, unique and opti.",
                m
            )
        }
    };
    if cmd.get("fasta").is_some() || cmd.get("vsearch").is_some() {
        return err!("[ERROR]: clustering a fasta file (agc/dgc with vsearch) is not supported.");
    }
    if cmd.get("sim").is_some_and(is_true) {
        return err!("[ERROR]: sim=T (similarity matrices) is not supported.");
    }
    // showabund, timing and processors change no file; mothur only fails
    // when processors cannot be converted to an integer at all.
    if let Some(v) = cmd.get("processors") {
        if v.starts_with('+') || v.parse::<i32>().is_err() {
            return err!("[ERROR]: cannot convert {} to an integer.", v);
        }
    }
    let dist = match (file("column"), file("phylip")) {
        (Some(_), Some(_)) => {
            return err!("When executing a cluster command you must enter ONLY ONE of the following: phylip, column or fasta.")
        }
        (Some(c), None) => DistFile::Column(c),
        (None, Some(p)) => DistFile::Phylip(p),
        (None, None) => match (&current.column, &current.phylip) {
            (Some(c), _) => DistFile::Column(c.clone()),
            (None, Some(p)) => DistFile::Phylip(p.clone()),
            _ => {
                return err!("No valid current files. You must provide a phylip, column or fasta file before you can use the cluster command.")
            }
        },
    };
    let mut count = file("count");
    let mut name = file("name");
    if count.is_some() && name.is_some() {
        return err!("When executing a cluster command you must enter ONLY ONE of the following: count or name.");
    }
    if let DistFile::Column(_) = dist {
        if count.is_none() && name.is_none() {
            name = current.name.clone();
            if name.is_none() {
                count = current.count.clone();
            }
            if name.is_none() && count.is_none() {
                return err!("You need to provide a namefile or countfile if you are going to use the column format.");
            }
        }
    }
    let precision = match cmd.get("precision") {
        Some(v) => precision_of(v)?,
        None => 100,
    };
    let cutoff = match cmd.get("cutoff") {
        Some(v) if v.contains('-') && !v.starts_with('-') => {
            return err!("[ERROR]: multiple cutoffs are only for the opti, agc and dgc methods.")
        }
        Some(v) => parse_f64("cutoff", v)?,
        None => {
            if let DistFile::Phylip(_) = dist {
                // mothur switches to cluster.classic here.
                return err!("[ERROR]: phylip input without cutoff= runs mothur's cluster.classic, which is not supported; give a cutoff.");
            }
            0.15
        }
    };
    let seed = match cmd.get("seed") {
        Some(v) => parse_seed(v)?,
        None => current_seed(current),
    };
    Ok(Options {
        dist,
        count,
        name,
        method,
        cutoff,
        precision,
        outputdir: current.outputdir.clone(),
        seed,
    })
}

fn current_seed(c: &Current) -> u64 {
    c.seed.unwrap_or(MOTHUR_SEED)
}

/// OTU state during clustering (mothur's RAbundVector + ListVector).
#[derive(Clone)]
struct Otus {
    list: Vec<String>,
    abund: Vec<u64>,
    abund_bins: i64,
}

impl Otus {
    fn num_bins(&self) -> usize {
        self.list.iter().filter(|b| !b.is_empty()).count()
    }
}

/// Accumulates the output files.
struct Printer<'a> {
    names: &'a Names,
    list: String,
    rabund: String,
    sabund: String,
    headers: bool,
}

impl Printer<'_> {
    fn print(&mut self, otus: &Otus, label: &str) {
        if !self.names.from_count {
            let mut hold: Vec<u64> = otus.abund.clone();
            hold.sort_unstable_by(|a, b| b.cmp(a));
            let bins = usize::try_from(otus.abund_bins.max(0)).unwrap_or(0);
            let _ = write!(self.rabund, "{}\t{}", label, otus.abund_bins);
            for v in hold.iter().take(bins) {
                let _ = write!(self.rabund, "\t{}", v);
            }
            self.rabund.push('\n');
            let max = otus.abund.iter().copied().max().unwrap_or(0);
            let mut sab = alloc::vec![0u64; usize::try_from(max).unwrap_or(0) + 1];
            for &a in &otus.abund {
                if let Some(s) = sab.get_mut(usize::try_from(a).unwrap_or(0)) {
                    *s += 1;
                }
            }
            let _ = write!(self.sabund, "{}\t{}", label, max);
            for s in sab.iter().skip(1) {
                let _ = write!(self.sabund, "\t{}", s);
            }
            self.sabund.push('\n');
        }
        let num_bins = otus.num_bins();
        if self.headers {
            self.headers = false;
            let _ = write!(self.list, "label\tnum{}s", self.names.otu_tag);
            let width = num_bins.to_string().len();
            for i in 1..=num_bins {
                let _ = write!(self.list, "\t{}{:0>w$}", self.names.otu_tag, i, w = width);
            }
            self.list.push('\n');
        }
        let _ = write!(self.list, "{}\t{}", label, num_bins);
        let mut hold: Vec<(&str, u64)> = otus
            .list
            .iter()
            .filter(|b| !b.is_empty())
            .map(|b| (b.as_str(), self.names.otu_total(b)))
            .collect();
        stdsort::sort(&mut hold, &mut |l: &(&str, u64), r: &(&str, u64)| l.1 > r.1);
        for (b, _) in hold {
            self.list.push('\t');
            self.list.push_str(b);
        }
        self.list.push('\n');
    }
}

/// One `Cluster::update`: merges the smallest cell. Returns false when the
/// matrix has no cell left (mothur would read past an empty vector).
fn update(m: &mut SparseMatrix, otus: &mut Otus, method: Method, cutoff: &mut f64) -> bool {
    let Some((small_row, small_col)) = m.smallest_cell() else {
        return false;
    };
    let row_bin = otus.abund.get(small_row).copied().unwrap_or(0);
    let col_bin = otus.abund.get(small_col).copied().unwrap_or(0);
    let total_bin = row_bin + col_bin;
    let mut n_col = m.rows.get(small_col).map_or(0, Vec::len);
    let n_row = m.rows.get(small_row).map_or(0, Vec::len);
    if small_row >= otus.list.len() || small_col >= otus.list.len() {
        return false;
    }
    let mut found = alloc::vec![false; n_col];
    for i in (0..n_row).rev() {
        let Some(rcell) = m.rows[small_row].get(i).copied() else {
            continue;
        };
        if rcell.index == small_col {
            continue;
        }
        let search = rcell.index;
        let mut merged = false;
        let mut j = 0;
        while j < n_col {
            let Some(ccell) = m.rows[small_col].get(j).copied() else {
                break;
            };
            if ccell.index != small_row {
                if ccell.index == search {
                    found[j] = true;
                    merged = true;
                    let new = match method {
                        Method::Average => {
                            (col_bin as f32 * ccell.dist + row_bin as f32 * rcell.dist)
                                / total_bin as f32
                        }
                        Method::Furthest => {
                            if ccell.dist < rcell.dist {
                                rcell.dist
                            } else {
                                ccell.dist
                            }
                        }
                        Method::Nearest => {
                            if ccell.dist > rcell.dist {
                                rcell.dist
                            } else {
                                ccell.dist
                            }
                        }
                    };
                    if let Some(c) = m.rows[small_col].get_mut(j) {
                        c.dist = new;
                    }
                    m.update_mirror(small_col, j);
                    break;
                } else if ccell.index < search {
                    break;
                }
            }
            j += 1;
        }
        if !merged && method == Method::Average && *cutoff > f64::from(rcell.dist) {
            *cutoff = f64::from(rcell.dist);
        }
        if method == Method::Nearest && !merged {
            let loc = m.add_cell_sorted(
                small_col,
                Cell {
                    index: search,
                    dist: rcell.dist,
                },
            );
            n_col += 1;
            found.insert(loc.min(found.len()), true);
        }
        m.rm_cell(small_row, i);
    }
    // clusterBins / clusterNames
    set_abund(otus, small_col, row_bin + col_bin);
    set_abund(otus, small_row, 0);
    let merged_names = {
        let r = &otus.list[small_row];
        let c = &otus.list[small_col];
        let mut s = String::with_capacity(r.len() + c.len() + 1);
        s.push_str(r);
        s.push(',');
        s.push_str(c);
        s
    };
    otus.list[small_col] = merged_names;
    otus.list[small_row] = String::new();
    if method == Method::Nearest {
        for i in (0..n_col).rev() {
            if !found.get(i).copied().unwrap_or(true)
                && m.rows[small_col].get(i).map(|c| c.index) == Some(small_row)
            {
                m.rm_cell(small_col, i);
                break;
            }
        }
    } else {
        for i in (0..n_col).rev() {
            if !found.get(i).copied().unwrap_or(true) {
                let Some(c) = m.rows[small_col].get(i).copied() else {
                    continue;
                };
                if method == Method::Average && c.index != small_row && *cutoff > f64::from(c.dist)
                {
                    *cutoff = f64::from(c.dist);
                }
                m.rm_cell(small_col, i);
            }
        }
    }
    true
}

fn set_abund(otus: &mut Otus, i: usize, v: u64) {
    if let Some(slot) = otus.abund.get_mut(i) {
        let old = *slot;
        *slot = v;
        if old == 0 {
            otus.abund_bins += 1;
        }
        if v == 0 {
            otus.abund_bins -= 1;
        }
    }
}

/// `Utils::ceilDist` in float.
fn ceil_dist(dist: f32, precision: u32) -> f32 {
    let p = precision as f32;
    let c = libm_ceil(dist * p);
    (c as i32) as f32 / p
}

/// `ceilf` without libm (the library is freestanding).
fn libm_ceil(x: f32) -> f32 {
    if !x.is_finite() || x.abs() >= 8_388_608.0 {
        return x;
    }
    let t = (x as i32) as f32;
    if t < x {
        t + 1.0
    } else {
        t
    }
}

fn label_of(x: f32) -> String {
    let mut s = String::new();
    push_g(&mut s, f64::from(x), 6);
    s
}

/// The output files of one clustering, as (name, contents).
pub fn cluster(o: &Options, loaded: matrix::Loaded) -> (Vec<(String, String)>, f64) {
    let matrix::Loaded {
        matrix: mut m,
        names,
    } = loaded;
    m.reseed(o.seed);
    let abund: Vec<u64> = names.bins.iter().map(|b| names.otu_total(b)).collect();
    let mut otus = Otus {
        list: names.bins.clone(),
        abund_bins: i64::try_from(abund.len()).unwrap_or(i64::MAX),
        abund,
    };
    let mut pr = Printer {
        names: &names,
        list: String::new(),
        rabund: String::new(),
        sabund: String::new(),
        headers: true,
    };
    let mut cutoff = o.cutoff;
    let mut previous = 0.0f32;
    let mut rnd_previous = 0.0f32;
    let mut old = otus.clone();
    while f64::from(m.small_dist()) <= cutoff && m.nodes() > 0 {
        if !update(&mut m, &mut otus, o.method, &mut cutoff) {
            break;
        }
        let dist = m.small_dist();
        let rnd = ceil_dist(dist, o.precision);
        if previous <= 0.0 && !is_equal(dist, previous) {
            pr.print(&old, "unique");
        } else if !is_equal(rnd, rnd_previous) {
            pr.print(&old, &label_of(rnd_previous));
        }
        previous = dist;
        rnd_previous = rnd;
        old = otus.clone();
    }
    if previous <= 0.0 {
        pr.print(&old, "unique");
    } else if f64::from(rnd_previous) < cutoff {
        pr.print(&old, &label_of(rnd_previous));
    }
    let dist_name = match &o.dist {
        DistFile::Column(c) | DistFile::Phylip(c) => c.as_str(),
    };
    let tag = o.method.tag();
    let out = |ext: &str| paths::output_name(dist_name, o.outputdir.as_deref(), &[tag, ext]);
    let mut files = Vec::new();
    if !names.from_count {
        files.push((out("sabund"), core::mem::take(&mut pr.sabund)));
        files.push((out("rabund"), core::mem::take(&mut pr.rabund)));
    }
    files.push((out("list"), core::mem::take(&mut pr.list)));
    (files, cutoff)
}

/// Loads names and matrix for the options.
pub fn load(o: &Options, files: &mut dyn Files) -> Result<matrix::Loaded, Error> {
    let names = match (&o.count, &o.name) {
        (Some(c), _) => Some(counts::parse_count_table(&files.read(c)?)?),
        (None, Some(n)) => Some(counts::parse_name_file(&files.read(n)?)?),
        (None, None) => None,
    };
    let read_cut = o.cutoff as f32;
    match &o.dist {
        DistFile::Column(c) => {
            let data = files.read(c)?;
            let Some(names) = names else {
                return err!("You need to provide a namefile or countfile if you are going to use the column format.");
            };
            matrix::read_column(&data, names, read_cut)
        }
        DistFile::Phylip(p) => {
            let data = files.read(p)?;
            matrix::read_phylip(&data, names, read_cut)
        }
    }
}

/// Runs cluster.
pub fn run(
    cmd: &Command,
    current: &mut Current,
    files: &mut dyn Files,
    log: &mut dyn Write,
) -> Result<(), Error> {
    if let Some(v) = cmd.get("seed") {
        current.seed = Some(parse_seed(v)?);
    }
    let cmd = prepare_files(
        cmd,
        &["phylip", "column", "name", "count"],
        current,
        files,
        log,
    )?;
    let o = options(&cmd, current)?;
    // mothur makes the files given the batch's current ones while it reads
    // the options, before the command runs.
    match (
        &o.dist,
        cmd.get("column").is_some() || cmd.get("phylip").is_some(),
    ) {
        (DistFile::Column(c), true) => current.column = Some(c.clone()),
        (DistFile::Phylip(p), true) => current.phylip = Some(p.clone()),
        _ => {}
    }
    if let Some(c) = &o.count {
        current.count = Some(c.clone());
    }
    if let Some(n) = &o.name {
        current.name = Some(n.clone());
    }
    let loaded = load(&o, files)?;
    let (outputs, cutoff) = cluster(&o, loaded);
    if !is_equal_f64(o.cutoff, cutoff) {
        let mut s = String::new();
        push_g(&mut s, cutoff, 6);
        let _ = writeln!(log, "changed cutoff to {}", s);
    }
    let _ = writeln!(log, "\nOutput File Names:");
    for (name, text) in &outputs {
        files.write(name, text.as_bytes())?;
        let _ = writeln!(log, "{}", name);
    }
    let _ = writeln!(log);
    Ok(())
}

fn is_equal_f64(a: f64, b: f64) -> bool {
    (a - b).abs() <= (a * 0.001).abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(method: Method, cutoff: f64) -> Options {
        Options {
            dist: DistFile::Column("t.dist".to_string()),
            count: Some("t.count_table".to_string()),
            name: None,
            method,
            cutoff,
            precision: 100,
            outputdir: None,
            seed: MOTHUR_SEED,
        }
    }

    fn run_on(method: Method, dist: &[u8], count: &[u8], cutoff: f64) -> String {
        let names = counts::parse_count_table(count).unwrap();
        let loaded = matrix::read_column(dist, names, cutoff as f32).unwrap();
        let (files, _) = cluster(&opts(method, cutoff), loaded);
        files.last().unwrap().1.clone()
    }

    const COUNT: &[u8] = b"Representative_Sequence\ttotal\na\t1\nb\t1\nc\t1\nd\t1\n";

    #[test]
    fn labels_and_merge_order() {
        let d = b"b a 0.005\nc a 0.015\nc b 0.02\nd c 0.5\n";
        let l = run_on(Method::Average, d, COUNT, 0.03);
        assert_eq!(
            l,
            "label\tnumASVs\tASV1\tASV2\tASV3\tASV4\nunique\t4\ta\tb\tc\td\n0.01\t3\ta,b\tc\td\n0.02\t2\ta,b,c\td\n"
        );
        let n = run_on(Method::Nearest, d, COUNT, 0.03);
        assert!(n.ends_with("0.02\t2\ta,b,c\td\n"), "{}", n);
        let f = run_on(Method::Furthest, d, COUNT, 0.03);
        assert!(f.ends_with("0.02\t2\ta,b,c\td\n"), "{}", f);
    }

    #[test]
    fn zero_distances_are_unique() {
        // furthest drops (a,b)-c when b-c is missing (above the cutoff)
        let d = b"b a 0\nc a 0.015\n";
        let l = run_on(Method::Furthest, d, COUNT, 0.03);
        assert_eq!(
            l,
            "label\tnumASVs\tASV1\tASV2\tASV3\nunique\t3\ta,b\tc\td\n"
        );
        let d = b"b a 0\nc a 0.015\nc b 0.012\n";
        let l = run_on(Method::Furthest, d, COUNT, 0.03);
        assert_eq!(
            l,
            "label\tnumASVs\tASV1\tASV2\tASV3\nunique\t3\ta,b\tc\td\n0.02\t2\ta,b,c\td\n"
        );
    }

    #[test]
    fn precision_rules() {
        for (v, p) in [
            ("10", 10),
            ("1000", 1000),
            ("7", 100),
            ("1", 100),
            ("0", 100),
        ] {
            assert_eq!(precision_of(v).unwrap(), p, "{}", v);
        }
        for (v, p) in [
            ("-10", 100),
            ("abc", 100),
            ("100.0", 100),
            ("1e2", 100),
            ("20", 100),
        ] {
            assert_eq!(precision_of(v).unwrap(), p, "{}", v);
        }
        assert!(precision_of("+100").is_err());
        assert!(precision_of("10-100").is_err());
    }

    #[test]
    fn ceil_dist_in_float() {
        assert_eq!(ceil_dist(0.03, 100), 0.03);
        assert_eq!(ceil_dist(0.0211749, 100), 0.03);
        assert_eq!(ceil_dist(0.0, 100), 0.0);
        assert_eq!(libm_ceil(2.5), 3.0);
        assert_eq!(libm_ceil(-2.5), -2.0);
    }

    #[test]
    fn option_errors() {
        let cur = Current::default();
        let c =
            crate::command::parse_command("cluster(column=s.dist, count=s.count_table)").unwrap();
        assert!(options(&c, &cur).is_err()); // default method opti
        let c = crate::command::parse_command("cluster(column=s.dist, method=average)").unwrap();
        assert!(options(&c, &cur).is_err()); // no names
        let c = crate::command::parse_command("cluster(phylip=s.dist, method=average)").unwrap();
        assert!(options(&c, &cur).is_err()); // no cutoff
        let c =
            crate::command::parse_command("cluster(column=s.dist, count=c, method=average, foo=1)")
                .unwrap();
        assert!(options(&c, &cur).is_err());
        let c = crate::command::parse_command(
            "cluster(column=s.dist, count=c, method=nearest, cutoff=0.05)",
        )
        .unwrap();
        let o = options(&c, &cur).unwrap();
        assert_eq!(o.method, Method::Nearest);
        assert_eq!(o.cutoff, 0.05);
    }
}
