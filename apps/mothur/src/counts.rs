//! Who the sequences are and how abundant: a mothur count table
//! (`CountTable::readTable`, groups ignored as `cluster` reads it) or a
//! name file (`NameAssignment::readMap`).
//!
//! * count table: a header line (`Representative_Sequence  total ...`;
//!   the compressed form starts with `#` lines), then `name total [group
//!   counts]` per line; a sequence's index is its line order; a total of 0
//!   or a repeated name is an error, as in mothur;
//! * name file: white-space separated pairs `name  name1,name2,...`; the
//!   first column is the key, the second the initial OTU; a repeated key
//!   keeps its first definition (mothur warns).

use crate::{err, Error};
use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// The initial OTUs of a clustering and the abundance of each name.
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// Index of each key name (count-table row or name-file row).
    pub index: BTreeMap<String, usize>,
    /// Initial OTU contents per index (comma separated names).
    pub bins: Vec<String>,
    /// Abundance of each sequence name appearing in `bins`.
    pub abundance: BTreeMap<String, u64>,
    /// `ASV` for count tables, `Otu` otherwise (ListVector's otuTag).
    pub otu_tag: &'static str,
    /// True when the abundances came from a count table.
    pub from_count: bool,
}

fn text(data: &[u8], what: &str) -> Result<String, Error> {
    match core::str::from_utf8(data) {
        Ok(s) => Ok(s.to_string()),
        Err(_) => err!("[ERROR]: your {} file is not valid UTF-8 text.", what),
    }
}

/// Parses a count table.
pub fn parse_count_table(data: &[u8]) -> Result<Names, Error> {
    let t = text(data, "count")?;
    let mut lines = t.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut header = match lines.next() {
        Some(h) => h,
        None => return err!("[ERROR]: your count table is empty."),
    };
    if header.starts_with('#') {
        // compressed form: "#Compressed Format..." then "#1,g1 2,g2" then headers
        let mut h = header;
        while h.starts_with('#') {
            h = match lines.next() {
                Some(x) => x,
                None => return err!("[ERROR]: your count table has no header line."),
            };
        }
        header = h;
    }
    if header.split_whitespace().count() < 2 {
        return err!(
            "[ERROR]: your count table header must have at least 2 columns (name, total)."
        );
    }
    let mut names = Names {
        otu_tag: "ASV",
        from_count: true,
        ..Names::default()
    };
    for line in lines {
        let mut tok = line.split_whitespace();
        let (Some(name), Some(total)) = (tok.next(), tok.next()) else {
            return err!(
                "[ERROR]: count table line '{}' needs a name and a total.",
                line
            );
        };
        let Ok(total) = total.parse::<u64>() else {
            return err!(
                "[ERROR]: count table total '{}' for {} is not a whole number.",
                total,
                name
            );
        };
        if total == 0 {
            return err!(
                "[ERROR]: Your count table contains a sequence named {} with a total=0. Please correct.",
                name
            );
        }
        if names.index.contains_key(name) {
            return err!(
                "[ERROR]: Your count table contains more than 1 sequence named {}, sequence names must be unique. Please correct.",
                name
            );
        }
        names.index.insert(name.to_string(), names.bins.len());
        names.bins.push(name.to_string());
        names.abundance.insert(name.to_string(), total);
    }
    Ok(names)
}

/// Parses a name file.
pub fn parse_name_file(data: &[u8]) -> Result<Names, Error> {
    let t = text(data, "name")?;
    let mut tok = t.split_whitespace();
    let mut names = Names {
        otu_tag: "Otu",
        from_count: false,
        ..Names::default()
    };
    while let Some(first) = tok.next() {
        let Some(second) = tok.next() else {
            return err!(
                "[ERROR]: your name file ends with '{}' without its second column.",
                first
            );
        };
        if names.index.contains_key(first) {
            continue; // mothur: "already in namesfile. I will use first definition."
        }
        if second.split(',').any(str::is_empty) {
            return err!("[ERROR]: empty name in '{}' of your name file.", second);
        }
        names.index.insert(first.to_string(), names.bins.len());
        names.bins.push(second.to_string());
        for n in second.split(',') {
            names.abundance.insert(n.to_string(), 1);
        }
    }
    if names.bins.is_empty() {
        return err!("[ERROR]: your name file is empty.");
    }
    Ok(names)
}

/// One OTU per name, for a phylip matrix given without count or name file.
pub fn from_matrix_names(list: &[String]) -> Names {
    let mut names = Names {
        otu_tag: "Otu",
        from_count: false,
        ..Names::default()
    };
    for n in list {
        names.index.entry(n.clone()).or_insert(names.bins.len());
        names.bins.push(n.clone());
        names.abundance.insert(n.clone(), 1);
    }
    names
}

impl Names {
    /// Index of a sequence named in a distance file.
    pub fn get(&self, name: &str) -> Result<usize, Error> {
        match self.index.get(name) {
            Some(&i) => Ok(i),
            None if self.from_count => err!(
                "[ERROR]: {} is not in your count table. Please correct.",
                name
            ),
            None => err!(
                "Error: Sequence '{}' was not found in the names file, please correct",
                name
            ),
        }
    }

    /// Total abundance of a comma separated OTU.
    pub fn otu_total(&self, bin: &str) -> u64 {
        if bin.is_empty() {
            return 0;
        }
        bin.split(',')
            .map(|n| self.abundance.get(n).copied().unwrap_or(0))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_table() {
        let n =
            parse_count_table(b"Representative_Sequence\ttotal\tA\tB\nx\t3\t1\t2\ny\t1\t1\t0\n")
                .unwrap();
        assert_eq!(n.bins, ["x", "y"]);
        assert_eq!(n.otu_total("x,y"), 4);
        assert_eq!(n.get("y").unwrap(), 1);
        assert!(n.get("z").is_err());
        assert!(parse_count_table(b"Representative_Sequence\ttotal\nx\t0\n").is_err());
        assert!(parse_count_table(b"Representative_Sequence\ttotal\nx\t1\nx\t2\n").is_err());
        assert!(parse_count_table(b"Representative_Sequence\ttotal\nx\tq\n").is_err());
        assert!(parse_count_table(b"").is_err());
    }

    #[test]
    fn name_file() {
        let n = parse_name_file(b"a\ta,b\nc\tc\na\ta\n").unwrap();
        assert_eq!(n.bins, ["a,b", "c"]);
        assert_eq!(n.otu_total("a,b"), 2);
        assert!(parse_name_file(b"a\n").is_err());
    }
}
