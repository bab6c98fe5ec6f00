//! The data layer on the real files in `../shared/data`; each test skips with a message when
//! that folder is absent.

use petri_engine::data::breast_cancer::{BreastCancer, MEASURES};
use petri_engine::data::segmentation::{self, LabelMap, Prepare};
use petri_engine::data::{medmnist, registry::Task};
use std::fmt::Write;
use std::path::{Path, PathBuf};

fn shared(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipped: {} is absent", p.display());
        None
    }
}

#[test]
fn breastmnist_loads_with_official_metadata() {
    let Some(p) = shared("medmnist/breastmnist.npz") else {
        return;
    };
    let d = medmnist::load(&p).unwrap();
    assert_eq!(d.flag.as_deref(), Some("breastmnist"));
    assert_eq!(d.task, Task::Binary);
    assert_eq!((d.train.len(), d.val.len(), d.test.len()), (546, 78, 156));
    assert_eq!(
        (d.train.height, d.train.width, d.train.channels),
        (28, 28, 1)
    );
    assert_eq!(d.train.class_counts(2), vec![147, 399]);
    // The registry's class counts (which `petri content check` reads lessons against) are the
    // file's own.
    let registry = petri_engine::data::registry::medmnist("breastmnist").unwrap();
    let counts = registry.class_counts.unwrap();
    for (s, split) in [&d.train, &d.val, &d.test].into_iter().enumerate() {
        let per_class = split.class_counts(2);
        for (c, &n) in per_class.iter().enumerate() {
            assert_eq!(counts[c][s], n, "class {c}, split {s}");
        }
    }
    let img = d.train.image(0);
    assert!(img.data.iter().all(|v| (0.0..=1.0).contains(v)));
}

/// Writes the scikit-learn copy in the Kaggle/UCI layout: `id,diagnosis,radius_mean,...` with
/// M/B diagnoses and the trailing comma Kaggle's file has.
fn kaggle_copy(bc: &BreastCancer, path: &Path) {
    let mut header = String::from("id,diagnosis");
    for suffix in ["mean", "se", "worst"] {
        for m in MEASURES {
            write!(header, ",{}_{suffix}", m.replace(' ', "_")).unwrap();
        }
    }
    header.push_str(",\n");
    let mut text = header;
    for (i, (row, &m)) in bc.features.iter().zip(&bc.malignant).enumerate() {
        write!(text, "{},{}", 842_302 + i, if m { "M" } else { "B" }).unwrap();
        for v in row {
            write!(text, ",{v}").unwrap();
        }
        text.push_str(",\n");
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn breast_cancer_layouts_give_the_same_matrix() {
    let Some(p) = shared("wdbc/breast_cancer.csv") else {
        return;
    };
    let sklearn = BreastCancer::load(&p).unwrap();
    let embedded = BreastCancer::embedded();
    assert_eq!(sklearn.len(), 569);
    assert_eq!(
        sklearn, embedded,
        "scikit-learn CSV and embedded copy differ"
    );
    let dir = tempfile::tempdir().unwrap();
    let kaggle = dir.path().join("data.csv");
    kaggle_copy(&sklearn, &kaggle);
    let from_kaggle = BreastCancer::load(&kaggle).unwrap();
    assert_eq!(from_kaggle, sklearn, "Kaggle layout differs");
    let table = petri_engine::data::tabular::read_csv(&kaggle).unwrap();
    assert_eq!(table.categorical[0].column, "diagnosis");
    assert_eq!(table.categorical[0].levels, vec!["B", "M"]);
}

#[test]
fn nuclei_folder_pairs_labels_and_tiles() {
    let Some(root) = shared("segmentation/nuclei-fluorescence") else {
        return;
    };
    let layout = segmentation::find_pairs(&root).unwrap();
    assert_eq!(layout.total(), 28);
    let d = segmentation::load(
        &root,
        None,
        Prepare::ResizeTile {
            resize: 128,
            tile: 64,
        },
    )
    .unwrap();
    assert_eq!(d.label_map, LabelMap::Instance);
    assert_eq!(d.class_names, vec!["background", "interior", "boundary"]);
    let samples = &d.splits["all"];
    assert_eq!(samples.len(), 28 * 4);
    for s in samples {
        assert_eq!(
            (s.image.channels, s.image.height, s.mask.width),
            (1, 64, 64)
        );
        assert!(s.mask.data.iter().all(|&v| v < 3));
    }
    assert!(samples.iter().any(|s| s.mask.classes().contains(&1)));
}

#[test]
fn isbi_folder_with_split_folders_and_unlabelled_test_images() {
    let Some(root) = shared("segmentation/isbi2012-em") else {
        return;
    };
    let layout = segmentation::find_pairs(&root).unwrap();
    assert_eq!(layout.splits.keys().collect::<Vec<_>>(), vec!["train"]);
    assert_eq!(layout.splits["train"].len(), 30);
    let first = &layout.splits["train"][0];
    let raw = segmentation::read_mask(&first.mask).unwrap();
    assert_eq!(LabelMap::detect(&raw), LabelMap::Binary);
}

#[test]
fn sixteen_bit_tiff_reads_and_stretches() {
    let Some(p) = shared("segmentation/dsb2018-sample/img2d.tif") else {
        return;
    };
    let img = segmentation::read_image(&p).unwrap();
    assert_eq!((img.channels, img.height, img.width), (1, 512, 512));
    let max = img.data.iter().cloned().fold(f32::MIN, f32::max);
    let min = img.data.iter().cloned().fold(f32::MAX, f32::min);
    assert_eq!((min, max), (0.0, 1.0));
    let mask = segmentation::read_mask(&p.with_file_name("mask2d.tif")).unwrap();
    assert_eq!(mask.distinct().len(), 126, "background plus 125 nuclei");
}
