//! mothur's `SparseDistanceMatrix` (source/datastructures/
//! sparsedistancematrix.cpp) and the readers that fill it
//! (source/read/readcolumn.cpp, readphylip.cpp).
//!
//! Each row holds `(index, dist)` cells for both directions of a pair;
//! distances are C `float`s. Rows are sorted by index, largest first, the
//! first time the smallest cell is looked for; the search only looks at
//! cells with `row < index` and collects every cell "equal" to the running
//! minimum with mothur's `isEqual` (relative tolerance 0.001), then shuffles
//! them with [`crate::rng::Mt64`] and takes the first.

use crate::counts::Names;
use crate::rng::{Mt64, MOTHUR_SEED};
use crate::stdsort;
use crate::{err, Error};
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// `MOTHURMAX`.
pub const MOTHUR_MAX: f32 = 1e6;

/// One matrix cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    /// The other sequence/OTU.
    pub index: usize,
    /// The distance.
    pub dist: f32,
}

/// mothur's `Utils::isEqual(float, float)`: `fabs(a-b)` in float against
/// `fabs(a*0.001)` in double.
pub fn is_equal(a: f32, b: f32) -> bool {
    f64::from((a - b).abs()) <= (f64::from(a) * 0.001).abs()
}

/// The sparse matrix.
pub struct SparseMatrix {
    /// Cells per row.
    pub rows: Vec<Vec<Cell>>,
    num_nodes: i64,
    small_dist: f32,
    sorted: bool,
    rng: Mt64,
}

fn sort_row(row: &mut [Cell]) {
    stdsort::sort(row, &mut |l: &Cell, r: &Cell| l.index > r.index);
}

impl SparseMatrix {
    /// An empty matrix of `n` rows.
    pub fn new(n: usize) -> Self {
        SparseMatrix {
            rows: alloc::vec![Vec::new(); n],
            num_nodes: 0,
            small_dist: MOTHUR_MAX,
            sorted: false,
            rng: Mt64::new(MOTHUR_SEED),
        }
    }

    /// Re-seeds the tie-breaking engine (`seed=`).
    pub fn reseed(&mut self, seed: u64) {
        self.rng = Mt64::new(seed);
    }

    /// `getNNodes`.
    pub fn nodes(&self) -> i64 {
        self.num_nodes
    }

    /// `getSmallDist`.
    pub fn small_dist(&self) -> f32 {
        self.small_dist
    }

    /// `addCell`: the cell and its mirror.
    pub fn add_cell(&mut self, row: usize, cell: Cell) {
        self.num_nodes += 2;
        if cell.dist < self.small_dist {
            self.small_dist = cell.dist;
        }
        self.rows[row].push(cell);
        self.rows[cell.index].push(Cell {
            index: row,
            dist: cell.dist,
        });
    }

    /// `addCellSorted`: returns the position of the new cell in `row`.
    pub fn add_cell_sorted(&mut self, row: usize, cell: Cell) -> usize {
        self.add_cell(row, cell);
        sort_row(&mut self.rows[row]);
        sort_row(&mut self.rows[cell.index]);
        self.rows[row]
            .iter()
            .position(|c| c.index == cell.index)
            .unwrap_or(0)
    }

    /// `rmCell`: removes `rows[row][col]` and its mirror.
    pub fn rm_cell(&mut self, row: usize, col: usize) {
        let Some(vrow) = self.rows.get(row).and_then(|r| r.get(col)).map(|c| c.index) else {
            return;
        };
        self.num_nodes -= 2;
        if let Some(r) = self.rows.get_mut(vrow) {
            let vcol = r.iter().position(|c| c.index == row).unwrap_or(0);
            if vcol < r.len() {
                r.remove(vcol);
            }
        }
        if let Some(r) = self.rows.get_mut(row) {
            r.remove(col);
        }
    }

    /// `updateCellCompliment`: copies `rows[row][col].dist` to the mirror.
    pub fn update_mirror(&mut self, row: usize, col: usize) {
        let Some(c) = self.rows.get(row).and_then(|r| r.get(col)).copied() else {
            return;
        };
        if let Some(r) = self.rows.get_mut(c.index) {
            let vcol = r.iter().position(|x| x.index == row).unwrap_or(0);
            if let Some(m) = r.get_mut(vcol) {
                m.dist = c.dist;
            }
        }
    }

    /// `getSmallestCell`: `(row, col)` with `row < col`, or `None` if empty.
    pub fn smallest_cell(&mut self) -> Option<(usize, usize)> {
        if !self.sorted {
            for r in &mut self.rows {
                sort_row(r);
            }
            self.sorted = true;
        }
        let mut mins: Vec<(usize, usize)> = Vec::new();
        self.small_dist = MOTHUR_MAX;
        for (i, row) in self.rows.iter().enumerate() {
            for c in row {
                if i < c.index {
                    if c.dist < self.small_dist {
                        mins.clear();
                        self.small_dist = c.dist;
                        mins.push((i, c.index));
                    } else if is_equal(c.dist, self.small_dist) {
                        mins.push((i, c.index));
                    }
                } else {
                    break;
                }
            }
        }
        self.rng.shuffle(&mut mins);
        mins.first().copied()
    }
}

/// A reader's result: the matrix and the initial OTUs.
pub struct Loaded {
    /// The distances at or below the cutoff.
    pub matrix: SparseMatrix,
    /// Who is in each initial OTU.
    pub names: Names,
}

fn text(data: &[u8]) -> Result<&str, Error> {
    core::str::from_utf8(data)
        .map_err(|_| Error::new("[ERROR]: your distance file is not valid UTF-8 text."))
}

fn parse_dist(tok: &str) -> Result<f32, Error> {
    match tok.parse::<f32>() {
        Ok(d) if !d.is_nan() => Ok(d),
        _ => err!("[ERROR]: '{}' in your distance file is not a number.", tok),
    }
}

/// mothur maps a distance of -1 (within its tolerance) to 1000000.
fn fix_minus_one(d: f32) -> f32 {
    if is_equal(d, -1.0) {
        1_000_000.0
    } else {
        d
    }
}

/// `ReadColumnMatrix::read` with a count table or name file.
pub fn read_column(data: &[u8], names: Names, cutoff: f32) -> Result<Loaded, Error> {
    let t = text(data)?;
    let mut m = SparseMatrix::new(names.bins.len());
    let mut tok = t.split_whitespace();
    let (mut ref_row, mut ref_col) = (0usize, 0usize);
    let mut seen: alloc::collections::BTreeSet<(usize, usize)> =
        alloc::collections::BTreeSet::new();
    while let Some(first) = tok.next() {
        let (Some(second), Some(d)) = (tok.next(), tok.next()) else {
            return err!(
                "[ERROR]: your column file ends in the middle of a line after '{}'.",
                first
            );
        };
        let d = fix_minus_one(parse_dist(d)?);
        let a = names.get(first)?;
        let b = names.get(second)?;
        if d <= cutoff && a != b {
            let (lo, hi) = if a > b { (b, a) } else { (a, b) };
            if ref_row == ref_col {
                ref_row = a;
                ref_col = b;
            } else if (a > b && ref_row == a && ref_col == b)
                || (a < b && ref_row == b && ref_col == a)
            {
                // mothur would now reread the file as a square matrix, but
                // its reread path indexes a cleared matrix; refuse instead.
                return err!(
                    "[ERROR]: your column file looks like a square matrix (both {} {} and {} {}); give each pair once.",
                    first,
                    second,
                    second,
                    first
                );
            }
            if !seen.insert((lo, hi)) {
                return err!(
                    "[ERROR]: your column file gives the distance between {} and {} twice.",
                    first,
                    second
                );
            }
            m.add_cell(lo, Cell { index: hi, dist: d });
        }
    }
    Ok(Loaded { matrix: m, names })
}

/// `ReadPhylipMatrix::read`, lower triangle or square, with an optional
/// count table / name file mapping matrix names to OTU indices (`None`:
/// one OTU per matrix row).
pub fn read_phylip(data: &[u8], names: Option<Names>, cutoff: f32) -> Result<Loaded, Error> {
    let t = text(data)?;
    let mut tok = t.split_whitespace();
    let n: usize = match tok.next().map(str::parse) {
        Some(Ok(n)) if n > 0 => n,
        _ => return err!("[ERROR]: your phylip file must start with the number of sequences."),
    };
    // Square if something alphanumeric follows the first name on its line.
    let first_line_rest = {
        let after_count = t.trim_start();
        let after_count = &after_count[after_count
            .find(char::is_whitespace)
            .unwrap_or(after_count.len())..];
        let after_count = after_count.trim_start();
        let after_name = &after_count[after_count
            .find(char::is_whitespace)
            .unwrap_or(after_count.len())..];
        after_name.split('\n').next().unwrap_or("").to_string()
    };
    let square = first_line_rest.chars().any(|c| c.is_ascii_alphanumeric());
    let mut matrix_names: Vec<String> = Vec::with_capacity(n);
    let mut cells: Vec<(usize, usize, f32)> = Vec::new();
    for i in 0..n {
        let Some(name) = tok.next() else {
            return err!(
                "[ERROR]: your phylip file ends before the row of sequence {}.",
                i + 1
            );
        };
        matrix_names.push(name.to_string());
        let count = if square { n } else { i };
        for j in 0..count {
            let Some(d) = tok.next() else {
                return err!("[ERROR]: your phylip file ends in the row of {}.", name);
            };
            let d = fix_minus_one(parse_dist(d)?);
            if d <= cutoff && j < i {
                cells.push((i, j, d));
            }
        }
    }
    if tok.next().is_some() {
        return err!(
            "[ERROR]: your phylip file has more values than its {} sequences need.",
            n
        );
    }
    let mapped = names.is_some();
    let names = match names {
        Some(nm) => nm,
        None => crate::counts::from_matrix_names(&matrix_names),
    };
    let mut m = SparseMatrix::new(names.bins.len());
    for (i, j, d) in cells {
        let (Some(ni), Some(nj)) = (matrix_names.get(i), matrix_names.get(j)) else {
            continue;
        };
        let a = if mapped { names.get(ni)? } else { i };
        let b = if mapped { names.get(nj)? } else { j };
        if a == b {
            continue;
        }
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        m.add_cell(lo, Cell { index: hi, dist: d });
    }
    Ok(Loaded { matrix: m, names })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Names {
        let v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        crate::counts::from_matrix_names(&v)
    }

    #[test]
    fn equality_tolerance() {
        assert!(is_equal(0.0100, 0.01));
        assert!(is_equal(0.010009, 0.01));
        assert!(!is_equal(0.0101, 0.01));
        assert!(!is_equal(0.01, 0.0));
    }

    #[test]
    fn column_and_smallest() {
        let l = read_column(
            b"b a 0.02\nc a 0.01\nc b 0.5\n",
            names(&["a", "b", "c"]),
            0.03,
        )
        .unwrap();
        let mut m = l.matrix;
        assert_eq!(m.nodes(), 4);
        assert_eq!(m.small_dist(), 0.01);
        assert_eq!(m.smallest_cell(), Some((0, 2)));
        assert!(read_column(b"b a 0.02\na b 0.02\n", names(&["a", "b", "c"]), 0.03).is_err());
        assert!(read_column(b"b a x\n", names(&["a", "b"]), 0.03).is_err());
        assert!(read_column(b"b a\n", names(&["a", "b"]), 0.03).is_err());
    }

    #[test]
    fn phylip_lt_and_square() {
        let lt = read_phylip(b"3\na\nb\t0.02\nc\t0.01\t0.5\n", None, 0.03).unwrap();
        assert_eq!(lt.names.bins, ["a", "b", "c"]);
        assert_eq!(lt.matrix.nodes(), 4);
        let sq = read_phylip(
            b"3\na\t0\t0.02\t0.01\t\nb\t0.02\t0\t0.5\t\nc\t0.01\t0.5\t0\t\n",
            None,
            0.03,
        )
        .unwrap();
        assert_eq!(sq.matrix.nodes(), 4);
        assert!(read_phylip(b"3\na\nb\t0.02\n", None, 0.03).is_err());
        assert!(read_phylip(b"x\n", None, 0.03).is_err());
    }
}
