//! The `dist.seqs` command: options, defaults and output names as in
//! mothur 1.48 (`DistanceCommand`): `calc=onegap`, `countends=T`,
//! `cutoff=1.0`, `output=column` (`phylip` means `lt`); `processors` and
//! `seed` are accepted and ignored (one thread gives mothur's own order).
//! Output goes to `[outputdir or fasta's dir][root]dist`,
//! `[root]phylip.dist` or `[root]square.dist`.

use crate::command::{is_true, parse_f32, parse_positive_int, prepare_files, Command, Current};
use crate::dist::{Calc, Calculator};
use crate::output::{self, Format};
use crate::{err, fasta, paths, Error, Files};
use alloc::string::String;
use core::fmt::Write;

const ALLOWED: &[&str] = &[
    "fasta",
    "oldfasta",
    "column",
    "output",
    "calc",
    "countends",
    "fitcalc",
    "compress",
    "processors",
    "cutoff",
    "seed",
    "inputdir",
    "outputdir",
];

/// Parsed dist.seqs options.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Input FASTA (where it was found).
    pub fasta: String,
    /// Calculator.
    pub calc: Calc,
    /// Whether terminal gaps count.
    pub countends: bool,
    /// The cutoff as mothur's `float`.
    pub cutoff: f32,
    /// Output format.
    pub format: Format,
    /// The batch's `outputdir=`, if any.
    pub outputdir: Option<String>,
}

/// Reads the options of a dist.seqs command.
pub fn options(cmd: &Command, current: &Current) -> Result<Options, Error> {
    cmd.check_allowed(ALLOWED)?;
    if cmd.get("oldfasta").is_some() || cmd.get("column").is_some() {
        return err!(
            "[ERROR]: dist.seqs: appending to a column file (oldfasta=, column=) is not supported."
        );
    }
    if let Some(v) = cmd.get("fitcalc") {
        if is_true(v) {
            return err!("[ERROR]: dist.seqs: fitcalc=T is not supported.");
        }
    }
    if let Some(v) = cmd.get("compress") {
        if is_true(v) {
            return err!("[ERROR]: dist.seqs: compress=T is not supported.");
        }
    }
    if let Some(v) = cmd.get("processors") {
        parse_positive_int("processors", v)?;
    }
    if let Some(v) = cmd.get("seed") {
        if v.parse::<i64>().is_err() {
            return err!("[ERROR]: seed={} is not a whole number.", v);
        }
    }
    let fasta = match cmd.get("fasta") {
        Some(f) if !f.is_empty() => String::from(f),
        // mothur falls back to the batch's current fasta file.
        _ => match &current.fasta {
            Some(f) => f.clone(),
            None => {
                return err!("You have no current fastafile and the fasta parameter is required.")
            }
        },
    };
    let calc = match cmd.get("calc").unwrap_or("onegap") {
        "jtt" | "pmb" | "pam" | "kimura" => {
            return err!("[ERROR]: protein calculators (jtt, pmb, pam, kimura) are not supported.")
        }
        // mothur uses onegap for an unknown calc (`run` logs its message).
        other => calc_of(other).unwrap_or(Calc::OneGap),
    };
    let countends = cmd.get("countends").is_none_or(is_true);
    let cutoff = match cmd.get("cutoff") {
        Some(v) => parse_f32("cutoff", v)?,
        None => 1.0,
    };
    // mothur writes column for an unknown output (`run` logs its message).
    let format = format_of(cmd.get("output").unwrap_or("column")).unwrap_or(Format::Column);
    Ok(Options {
        fasta,
        calc,
        countends,
        cutoff,
        format,
        outputdir: current.outputdir.clone(),
    })
}

/// The output file name for these options.
pub fn output_file(o: &Options) -> String {
    let tags: &[&str] = match o.format {
        Format::Column => &["dist"],
        Format::Lt => &["phylip", "dist"],
        Format::Square => &["square", "dist"],
    };
    paths::output_name(&o.fasta, o.outputdir.as_deref(), tags)
}

/// Computes the distances of already-parsed sequences into the file text.
pub fn compute(o: &Options, seqs: &[fasta::Seq]) -> Result<(String, usize), Error> {
    fasta::check_for_distances(seqs)?;
    let user_cut = f64::from(o.cutoff);
    Ok(match o.format {
        Format::Column => output::column(
            seqs,
            &Calculator::new(o.calc, o.countends, user_cut),
            user_cut,
        ),
        Format::Lt => (
            output::lower_triangle(seqs, &Calculator::new(o.calc, o.countends, 1.0)),
            0,
        ),
        Format::Square => (
            output::square(seqs, &Calculator::new(o.calc, o.countends, 1.0)),
            0,
        ),
    })
}

/// The calculator named `v`, if mothur knows it (`default` is onegap).
fn calc_of(v: &str) -> Option<Calc> {
    match v {
        "onegap" | "default" => Some(Calc::OneGap),
        "eachgap" => Some(Calc::EachGap),
        "nogaps" => Some(Calc::NoGaps),
        _ => None,
    }
}

/// The output form named `v` (`phylip` is lt).
fn format_of(v: &str) -> Option<Format> {
    match v {
        "column" => Some(Format::Column),
        "lt" | "phylip" => Some(Format::Lt),
        "square" => Some(Format::Square),
        _ => None,
    }
}

/// Runs dist.seqs.
pub fn run(
    cmd: &Command,
    current: &mut Current,
    files: &mut dyn Files,
    log: &mut dyn Write,
) -> Result<(), Error> {
    let cmd = prepare_files(cmd, &["fasta"], current, files, log)?;
    let o = options(&cmd, current)?;
    current.fasta = Some(o.fasta.clone());
    if let Some(v) = cmd.get("output").filter(|v| format_of(v).is_none()) {
        let _ = writeln!(
            log,
            "{} is not a valid output form. Options are column, lt and square. I will use column.",
            v
        );
    }
    if let Some(v) = cmd.get("calc").filter(|v| calc_of(v).is_none()) {
        let _ = writeln!(log, "{} is not a valid calc. Options are eachgap, onegap, nogaps, jtt, pmb, pam and kimura. I'll use onegap.", v);
    }
    let data = files.read(&o.fasta)?;
    let seqs = fasta::parse(&data)?;
    let (text, below) = compute(&o, &seqs)?;
    let out = output_file(&o);
    files.write(&out, text.as_bytes())?;
    if o.format == Format::Column {
        let _ = writeln!(
            log,
            "{} distances below cutoff for {} sequences.",
            below,
            seqs.len()
        );
        current.column = Some(out.clone());
    } else {
        current.phylip = Some(out.clone());
    }
    let _ = writeln!(log, "\nOutput File Names:\n{}\n", out);
    Ok(())
}
