//! CSV tables: with or without a header row, numeric columns as numbers, text columns (such as
//! `diagnosis` M/B) encoded as categories and reported, and a target chosen by name or index.

use crate::{Error, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A text column turned into numbers: `levels[k]` is encoded as `k` (levels sorted, so `B`=0, `M`=1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Categorical {
    pub column: String,
    pub levels: Vec<String>,
}

/// Feature names, feature rows and the target column.
pub type FeaturesAndTarget = (Vec<String>, Vec<Vec<f64>>, Vec<f64>);

#[derive(Debug, Clone)]
pub struct Table {
    pub path: PathBuf,
    pub columns: Vec<String>,
    /// Row-major values, one `Vec` per data row, aligned with `columns`.
    pub rows: Vec<Vec<f64>>,
    pub categorical: Vec<Categorical>,
    pub had_header: bool,
    /// Text of a first line that was not a header but a scikit-learn style size line
    /// (`569,30,malignant,benign`), kept so callers can recognise that layout.
    pub sklearn_preamble: Option<Vec<String>>,
    /// How the file writes its fields.
    pub dialect: Dialect,
}

/// How a CSV file separates fields: `,`, `;` (spreadsheets in locales that write decimals with
/// a comma, which then get read as decimal commas) or a tab, sniffed from its first lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    pub delimiter: u8,
    pub decimal_comma: bool,
}

impl Dialect {
    /// `;`-separated, decimal commas: for people.
    pub fn describe(&self) -> String {
        let sep = match self.delimiter {
            b'\t' => "tab".to_string(),
            d => format!("'{}'", d as char),
        };
        if self.decimal_comma {
            format!("{sep}-separated, decimal commas")
        } else {
            format!("{sep}-separated")
        }
    }

    /// The delimiter that splits the first lines of `text` into the same number of fields
    /// (more than one), preferring the one giving most fields; `,` when none does.
    pub fn sniff(text: &str) -> Dialect {
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(20)
            .collect();
        // The last sampled line may be cut off by the sample's end.
        let lines = if lines.len() > 2 {
            &lines[..lines.len() - 1]
        } else {
            &lines[..]
        };
        let fields = |line: &str, d: u8| {
            let mut n = 1;
            let mut quoted = false;
            for b in line.bytes() {
                match b {
                    b'"' => quoted = !quoted,
                    _ if b == d && !quoted => n += 1,
                    _ => {}
                }
            }
            n
        };
        // A size line (scikit-learn's layout) may differ from the rest: judge from line 2 on.
        let judged = if lines.len() > 2 { &lines[1..] } else { lines };
        let delimiter = [b',', b';', b'\t']
            .into_iter()
            .filter_map(|d| {
                let n = fields(judged.first()?, d);
                (n > 1 && judged.iter().all(|l| fields(l, d) == n)).then_some((d, n))
            })
            .max_by_key(|&(_, n)| n)
            .map_or(b',', |(d, _)| d);
        let decimal_comma = delimiter != b','
            && lines.iter().any(|l| {
                l.split(delimiter as char)
                    .any(|cell| is_decimal_comma(cell.trim()))
            });
        Dialect {
            delimiter,
            decimal_comma,
        }
    }
}

/// `3,14` or `-0,5`: a number written with a decimal comma.
fn is_decimal_comma(cell: &str) -> bool {
    let cell = cell.strip_prefix(['-', '+']).unwrap_or(cell);
    match cell.split_once(',') {
        Some((a, b)) => {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

/// Every record of a CSV file as text, in its own dialect (decimal commas made points),
/// blank lines left out.
pub fn records(path: &Path) -> Result<(Vec<Vec<String>>, Dialect)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let sample = String::from_utf8_lossy(&bytes[..bytes.len().min(64 << 10)]);
    let dialect = Dialect::sniff(&sample);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .delimiter(dialect.delimiter)
        .from_reader(bytes.as_slice());
    let mut records: Vec<Vec<String>> = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| Error::format(path, format!("not valid CSV: {e}")))?;
        records.push(
            rec.iter()
                .map(|c| {
                    if dialect.decimal_comma && is_decimal_comma(c) {
                        c.replacen(',', ".", 1)
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
        );
    }
    records.retain(|r| !(r.len() == 1 && r[0].is_empty()));
    Ok((records, dialect))
}

impl Table {
    /// A column by exact name (case-insensitive) or by zero-based index.
    pub fn column_index(&self, spec: &str) -> Result<usize> {
        if let Some(i) = self
            .columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(spec))
        {
            return Ok(i);
        }
        match spec.parse::<usize>() {
            Ok(i) if i < self.columns.len() => Ok(i),
            _ => Err(Error::invalid(format!(
                "{} has no column '{spec}'; columns are: {} (or give an index 0..{})",
                self.path.display(),
                self.columns.join(", "),
                self.columns.len() - 1
            ))),
        }
    }

    pub fn column(&self, i: usize) -> Vec<f64> {
        self.rows.iter().map(|r| r[i]).collect()
    }

    /// Splits into features (every other column) and the target column.
    pub fn features_and_target(&self, target: &str) -> Result<FeaturesAndTarget> {
        let t = self.column_index(target)?;
        let names = self
            .columns
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != t)
            .map(|(_, c)| c.clone())
            .collect();
        let x = self
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .filter(|(i, _)| *i != t)
                    .map(|(_, v)| *v)
                    .collect()
            })
            .collect();
        Ok((names, x, self.column(t)))
    }
}

fn is_number(s: &str) -> bool {
    s.parse::<f64>().is_ok_and(f64::is_finite)
}

fn is_missing(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "" | "na" | "nan" | "null" | "?"
    )
}

pub fn read_csv(path: &Path) -> Result<Table> {
    read(path, false).map(|(t, _)| t)
}

/// Like [`read_csv`], but rows with a missing value are left out instead of being an error;
/// returns how many were left out.
pub fn read_csv_dropping_missing(path: &Path) -> Result<(Table, usize)> {
    read(path, true)
}

fn read(path: &Path, drop_missing: bool) -> Result<(Table, usize)> {
    let (mut records, dialect) = records(path)?;
    if records.len() < 2 {
        return Err(Error::format(
            path,
            "has fewer than two rows; a table needs data rows",
        ));
    }
    let layout = Layout::take(&mut records);
    check_widths(path, &records, layout.columns.len(), layout.first_data_line)?;
    // Drop columns empty in every row (Kaggle's copy ends each line with a comma).
    let keep: Vec<usize> = (0..layout.columns.len())
        .filter(|&c| records.iter().any(|r| !r[c].is_empty()))
        .collect();
    let columns: Vec<String> = keep.iter().map(|&c| layout.columns[c].clone()).collect();
    let dropped = if drop_missing {
        drop_rows_with_missing(path, &mut records, &keep)?
    } else {
        0
    };
    let (rows, categorical) = encode(path, &records, &keep, &columns, layout.first_data_line)?;
    Ok((
        Table {
            path: path.to_path_buf(),
            dialect,
            columns,
            rows,
            categorical,
            had_header: layout.had_header,
            sklearn_preamble: layout.sklearn_preamble,
        },
        dropped,
    ))
}

/// How a table's first records are laid out: scikit-learn's (a short size line first), a
/// header row, or data from line 1.
struct Layout {
    /// Column names: the header's, scikit-learn's `feature_i` + `target`, or `column_i`.
    columns: Vec<String>,
    had_header: bool,
    sklearn_preamble: Option<Vec<String>>,
    /// The 1-based line number of the first data record.
    first_data_line: usize,
}

impl Layout {
    /// Reads the layout from `records` (at least two), taking a size line and a header off.
    fn take(records: &mut Vec<Vec<String>>) -> Layout {
        let width = records[1].len();
        let mut first_data_line = 1; // 1-based line number of records[0]
        let mut sklearn_preamble = None;
        if is_size_line(&records[0], width) {
            sklearn_preamble = Some(records.remove(0));
            first_data_line = 2;
        }
        let had_header = sklearn_preamble.is_none() && is_header(&records[0], &records[1]);
        let mut columns: Vec<String> = if had_header {
            first_data_line += 1;
            records.remove(0)
        } else {
            (0..width).map(|i| format!("column_{i}")).collect()
        };
        if let Some(pre) = &sklearn_preamble {
            // `569,30,malignant,benign`: N rows, F features, then the target's names.
            if pre[1].parse::<usize>().ok() == Some(width - 1) {
                columns = (0..width - 1).map(|i| format!("feature_{i}")).collect();
                columns.push("target".into());
            }
        }
        Layout {
            columns,
            had_header,
            sklearn_preamble,
            first_data_line,
        }
    }
}

/// A scikit-learn size line: a first record of another width than the data (`width`), starting
/// with two numbers.
fn is_size_line(first: &[String], width: usize) -> bool {
    first.len() != width && first.len() >= 2 && first[..2].iter().all(|s| is_number(s))
}

/// Row 0 is a header when it has text and either every cell of it is text or some column has
/// text in it but a number `below` it.
fn is_header(first: &[String], below: &[String]) -> bool {
    first.iter().any(|s| !s.is_empty() && !is_number(s))
        && (first.iter().all(|s| !is_number(s))
            || first
                .iter()
                .zip(below)
                .any(|(a, b)| !is_number(a) && is_number(b)))
}

/// Refuses a record whose field count is not the table's `width`, naming its line.
fn check_widths(
    path: &Path,
    records: &[Vec<String>],
    width: usize,
    first_data_line: usize,
) -> Result<()> {
    for (k, r) in records.iter().enumerate() {
        if r.len() != width {
            return Err(Error::format(
                path,
                format!(
                    "line {} has {} fields but the table has {width} columns",
                    first_data_line + k,
                    r.len()
                ),
            ));
        }
    }
    Ok(())
}

/// Leaves out the records with a missing value in a `keep` column; returns how many. A table
/// with none left is an error.
fn drop_rows_with_missing(
    path: &Path,
    records: &mut Vec<Vec<String>>,
    keep: &[usize],
) -> Result<usize> {
    let before = records.len();
    records.retain(|r| keep.iter().all(|&c| !is_missing(&r[c])));
    if records.is_empty() {
        return Err(Error::format(path, "every row has a missing value"));
    }
    Ok(before - records.len())
}

/// The `keep` columns of `records` (named `columns`) as rows of numbers, and the text columns
/// encoded as categories.
fn encode(
    path: &Path,
    records: &[Vec<String>],
    keep: &[usize],
    columns: &[String],
    first_data_line: usize,
) -> Result<(Vec<Vec<f64>>, Vec<Categorical>)> {
    let mut rows = vec![Vec::with_capacity(keep.len()); records.len()];
    let mut categorical = Vec::new();
    for (out_col, &c) in keep.iter().enumerate() {
        let name = &columns[out_col];
        let (values, levels) = encode_column(path, records, c, name, first_data_line)?;
        for (row, v) in rows.iter_mut().zip(values) {
            row.push(v);
        }
        categorical.extend(levels);
    }
    Ok((rows, categorical))
}

/// Column `c` (named `name`) as numbers. A column whose every filled cell is text is
/// categorical: each cell becomes its index among the sorted levels. A missing cell, or text
/// among numbers, is an error naming its line.
fn encode_column(
    path: &Path,
    records: &[Vec<String>],
    c: usize,
    name: &str,
    first_data_line: usize,
) -> Result<(Vec<f64>, Option<Categorical>)> {
    let text_cells = records
        .iter()
        .filter(|r| !is_missing(&r[c]) && !is_number(&r[c]))
        .count();
    let filled = records.iter().filter(|r| !is_missing(&r[c])).count();
    let is_categorical = text_cells > 0 && text_cells == filled;
    let mut levels: Vec<String> = Vec::new();
    if is_categorical {
        levels = records.iter().map(|r| r[c].clone()).collect();
        levels.sort();
        levels.dedup();
    }
    let mut values = Vec::with_capacity(records.len());
    for (k, r) in records.iter().enumerate() {
        let cell = &r[c];
        let line = first_data_line + k;
        if is_missing(cell) {
            return Err(Error::format(
                path,
                format!(
                    "missing value at line {line}, column '{name}'; fill it in or drop the row"
                ),
            ));
        }
        let v = if is_categorical {
            levels.iter().position(|l| l == cell).unwrap() as f64
        } else {
            cell.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| {
                Error::format(
                    path,
                    format!("non-numeric value '{cell}' at line {line}, column '{name}', whose other values are numbers"),
                )
            })?
        };
        values.push(v);
    }
    let categorical = is_categorical.then(|| Categorical {
        column: name.to_string(),
        levels,
    });
    Ok((values, categorical))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_and_decimal_commas_are_sniffed() {
        let eu = Dialect::sniff("a;b;y\n1,5;2;3,25\n2,5;3;4,5\n");
        assert_eq!((eu.delimiter, eu.decimal_comma), (b';', true));
        let tab = Dialect::sniff("a\tb\n1\t2\n3\t4\n");
        assert_eq!((tab.delimiter, tab.decimal_comma), (b'\t', false));
        // Commas inside quotes do not count; a size line first does not decide.
        let plain = Dialect::sniff("569,30,malignant,benign\n\"x,y\",1,2\n\"z,w\",3,4\n");
        assert_eq!((plain.delimiter, plain.decimal_comma), (b',', false));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("eu.csv");
        std::fs::write(&p, "a;b;y\n1,5;2;3,25\n2,5;NA;4,5\n3,0;4;5,75\n").unwrap();
        let (t, dropped) = read_csv_dropping_missing(&p).unwrap();
        assert_eq!(dropped, 1);
        assert_eq!(t.columns, ["a", "b", "y"]);
        assert_eq!(t.rows, vec![vec![1.5, 2.0, 3.25], vec![3.0, 4.0, 5.75]]);
    }

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    #[test]
    fn header_categorical_and_target_by_name_or_index() {
        let (_d, p) = write("id,diagnosis,radius,\n1,M,17.5,\n2,B,11.0,\n3,M,20.1,\n");
        let t = read_csv(&p).unwrap();
        assert!(t.had_header);
        assert_eq!(t.columns, ["id", "diagnosis", "radius"]);
        assert_eq!(
            t.categorical,
            vec![Categorical {
                column: "diagnosis".into(),
                levels: vec!["B".into(), "M".into()]
            }]
        );
        assert_eq!(t.column(1), vec![1.0, 0.0, 1.0]);
        let (names, x, y) = t.features_and_target("radius").unwrap();
        assert_eq!(names, ["id", "diagnosis"]);
        assert_eq!(x[1], vec![2.0, 0.0]);
        assert_eq!(y, vec![17.5, 11.0, 20.1]);
        assert_eq!(t.column_index("2").unwrap(), 2);
        assert!(
            t.column_index("area")
                .unwrap_err()
                .to_string()
                .contains("no column 'area'")
        );
    }

    #[test]
    fn headerless_and_errors_name_line_and_column() {
        let (_d, p) = write("1,2.5\n2,3.5\n");
        let t = read_csv(&p).unwrap();
        assert!(!t.had_header);
        assert_eq!(t.rows, vec![vec![1.0, 2.5], vec![2.0, 3.5]]);

        let (_d, p) = write("a,b\n1,2\n3,\n");
        let e = read_csv(&p).unwrap_err().to_string();
        assert!(
            e.contains("t.csv") && e.contains("missing value at line 3, column 'b'"),
            "{e}"
        );

        let (_d, p) = write("a,b\n1,2\n3,x7\n");
        let e = read_csv(&p).unwrap_err().to_string();
        assert!(
            e.contains("non-numeric value 'x7' at line 3, column 'b'"),
            "{e}"
        );
    }
}
