//! Breast Cancer Wisconsin Diagnostic (569 tumours, 30 nuclear features) in one canonical form,
//! whichever of its three common layouts it comes from: embedded (no download, via smartcore),
//! scikit-learn's headerless CSV, or the Kaggle/UCI CSV (`id,diagnosis,radius_mean,...`).

use super::tabular::{self, Table};
use crate::{Error, Result};
use std::path::Path;

/// The ten measures, in the dataset's order; each comes as mean, standard error and worst.
pub const MEASURES: [&str; 10] = [
    "radius",
    "texture",
    "perimeter",
    "area",
    "smoothness",
    "compactness",
    "concavity",
    "concave points",
    "symmetry",
    "fractal dimension",
];

/// Feature names in the canonical order: `mean radius` .. , `radius error` .. , `worst radius` ..
pub fn feature_names() -> Vec<String> {
    let mut names = Vec::with_capacity(30);
    names.extend(MEASURES.iter().map(|m| format!("mean {m}")));
    names.extend(MEASURES.iter().map(|m| format!("{m} error")));
    names.extend(MEASURES.iter().map(|m| format!("worst {m}")));
    names
}

#[derive(Debug, Clone, PartialEq)]
pub struct BreastCancer {
    /// 569 rows of the 30 features in `feature_names()` order.
    pub features: Vec<[f64; 30]>,
    /// `true` for malignant.
    pub malignant: Vec<bool>,
}

/// The regression problem of the course: predict mean radius from everything else.
#[derive(Debug, Clone)]
pub struct RadiusRegression {
    /// The other 29 measures, then `diagnosis` (malignant = 1, benign = 0).
    pub feature_names: Vec<String>,
    pub x: Vec<Vec<f64>>,
    /// Mean radius.
    pub y: Vec<f64>,
}

impl BreastCancer {
    pub fn len(&self) -> usize {
        self.features.len()
    }

    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// The copy inside the binary: no download needed.
    pub fn embedded() -> Self {
        let ds = smartcore::dataset::breast_cancer::load_dataset();
        // smartcore stores f32; going through the shortest decimal gives back exactly the
        // published values (17.99, not 17.9899997711), so every layout yields the same matrix.
        let exact = |v: f32| format!("{v}").parse::<f64>().unwrap_or(v as f64);
        let features = ds
            .data
            .chunks_exact(ds.num_features)
            .map(|row| std::array::from_fn(|j| exact(row[j])))
            .collect();
        // smartcore follows scikit-learn: target 0 = malignant, 1 = benign.
        let malignant = ds.target.iter().map(|&t| t == 0).collect();
        BreastCancer {
            features,
            malignant,
        }
    }

    /// The table in scikit-learn's `breast_cancer.csv` layout: `569,30,malignant,benign`, then
    /// the 30 features and the target (0 = malignant) per row, numbers in their shortest form.
    pub fn sklearn_csv(&self) -> String {
        let mut out = format!("{},30,malignant,benign\n", self.len());
        for (f, &m) in self.features.iter().zip(&self.malignant) {
            for v in f {
                out += &format!("{v},");
            }
            out += if m { "0\n" } else { "1\n" };
        }
        out
    }

    /// SHA-256 of `sklearn_csv`: the embedded copy's checksum in run records, byte for byte
    /// scikit-learn's file (tested), so `sha256sum breast_cancer.csv` gives the same digest.
    pub fn sha256(&self) -> String {
        crate::download::sha256_hex(self.sklearn_csv().as_bytes())
    }

    /// Reads either CSV layout.
    pub fn load(path: &Path) -> Result<Self> {
        let table = tabular::read_csv(path)?;
        Self::from_table(&table)
    }

    pub fn from_table(t: &Table) -> Result<Self> {
        let bad = |why: String| Error::format(&t.path, why);
        if let Some(pre) = &t.sklearn_preamble {
            // scikit-learn: 30 features then the target, 0 = malignant (its first target name).
            if t.columns.len() != 31 {
                return Err(bad(format!(
                    "has {} columns; the scikit-learn layout has 31",
                    t.columns.len()
                )));
            }
            let malignant_code = if pre.get(2).is_some_and(|s| s.eq_ignore_ascii_case("benign")) {
                1.0
            } else {
                0.0
            };
            let features = t
                .rows
                .iter()
                .map(|r| std::array::from_fn(|j| r[j]))
                .collect();
            let malignant = t.rows.iter().map(|r| r[30] == malignant_code).collect();
            return Ok(BreastCancer {
                features,
                malignant,
            });
        }
        // Kaggle / UCI: `diagnosis` plus `radius_mean`, `radius_se`, `radius_worst`, ...
        let norm = |s: &str| s.to_ascii_lowercase().replace([' ', '_'], "");
        let find = |name: &str| t.columns.iter().position(|c| norm(c) == norm(name));
        let mut idx = [0usize; 30];
        for (g, suffix) in ["mean", "se", "worst"].iter().enumerate() {
            for (m, measure) in MEASURES.iter().enumerate() {
                let name = format!("{measure}_{suffix}");
                idx[g * 10 + m] = find(&name).ok_or_else(|| {
                    bad(format!("has no column '{name}'; expected the Kaggle/UCI layout (id,diagnosis,radius_mean,...) or scikit-learn's"))
                })?;
            }
        }
        let d = find("diagnosis").ok_or_else(|| bad("has no 'diagnosis' column".into()))?;
        let levels = t
            .categorical
            .iter()
            .find(|c| c.column == t.columns[d])
            .map(|c| c.levels.clone());
        let m_code = match levels {
            Some(l) => l
                .iter()
                .position(|v| v.eq_ignore_ascii_case("M"))
                .map(|p| p as f64),
            None => Some(1.0),
        }
        .ok_or_else(|| bad("diagnosis column has no 'M' (malignant) value".into()))?;
        let features = t
            .rows
            .iter()
            .map(|r| std::array::from_fn(|j| r[idx[j]]))
            .collect();
        let malignant = t.rows.iter().map(|r| r[d] == m_code).collect();
        Ok(BreastCancer {
            features,
            malignant,
        })
    }

    pub fn radius_regression(&self) -> RadiusRegression {
        let names = feature_names();
        let mut feature_names: Vec<String> = names[1..].to_vec();
        feature_names.push("diagnosis (malignant=1)".into());
        let x = self
            .features
            .iter()
            .zip(&self.malignant)
            .map(|(f, &m)| {
                let mut row = f[1..].to_vec();
                row.push(if m { 1.0 } else { 0.0 });
                row
            })
            .collect();
        let y = self.features.iter().map(|f| f[0]).collect();
        RadiusRegression {
            feature_names,
            x,
            y,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_copy_has_the_published_shape() {
        let bc = BreastCancer::embedded();
        assert_eq!(bc.len(), 569);
        assert_eq!(bc.malignant.iter().filter(|&&m| m).count(), 212);
        assert_eq!(bc.features[0][0], 17.99);
        let r = bc.radius_regression();
        assert_eq!(r.x[0].len(), 30);
        assert_eq!(r.y[0], 17.99);
    }

    #[test]
    fn embedded_copy_is_scikit_learns_file_byte_for_byte() {
        let shared =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/wdbc/breast_cancer.csv");
        let Ok(file) = std::fs::read_to_string(&shared) else {
            eprintln!("skipped: {} is absent", shared.display());
            return;
        };
        let embedded = BreastCancer::embedded();
        assert_eq!(embedded.sklearn_csv(), file);
        assert_eq!(
            embedded.sha256(),
            crate::download::digests(&shared).unwrap().1
        );
    }
}
