//! What Petri knows about the datasets it can fetch: the official MedMNIST 2D sets (task,
//! channels, class names, split sizes, checksum, download address, licence) and the course's
//! other data. Numbers come from MedMNIST v2 and `shared/design/module.md`.

use serde::Serialize;
use std::fmt;
use std::path::Path;

/// What a dataset asks a network to predict. This is the first question of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    /// One of two classes per input.
    Binary,
    /// One of several classes per input.
    MultiClass,
    /// Several independent yes/no labels per input.
    MultiLabel,
    /// A class for every pixel.
    Segmentation,
    /// A continuous number per input.
    Regression,
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Task::Binary => "binary classification",
            Task::MultiClass => "multi-class classification",
            Task::MultiLabel => "multi-label classification",
            Task::Segmentation => "semantic segmentation",
            Task::Regression => "regression",
        })
    }
}

/// Image sizes MedMNIST publishes (28 px is MedMNIST v2; the others are MedMNIST+).
pub const MEDMNIST_SIZES: [u32; 4] = [28, 64, 128, 224];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MedMnistInfo {
    pub flag: &'static str,
    pub title: &'static str,
    pub task: Task,
    pub channels: usize,
    pub class_names: &'static [&'static str],
    /// Train / validation / test sizes of the official split.
    pub splits: [usize; 3],
    /// Images of each class in the training / validation / test split (label order), where Petri
    /// has them from the official file. Lessons' class counts and shares are checked against these.
    pub class_counts: Option<&'static [[usize; 3]]>,
    /// MD5 of the official 28 px file, where Petri has it from a published source.
    pub md5_28: Option<&'static str>,
    /// Approximate size of the 28 px file in bytes (for listings; never used to verify).
    pub approx_bytes_28: u64,
    pub licence: &'static str,
}

/// Whether a file with a MedMNIST set's splits and shape is that set's official file.
/// `MedMnistInfo::provenance` decides it for `data list`, `data info`, `data verify` and
/// `identify` alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provenance {
    /// Its MD5 is MedMNIST's.
    Official,
    /// Other bytes (a re-saved or edited copy): usable, and runs record its own checksum.
    NotOfficial { why: String },
    /// Petri has no checksum for this image size.
    Unknown,
}

impl MedMnistInfo {
    /// Whether `path`, a file of this set at `size` px, is the official file (by checksum).
    pub fn provenance(&self, path: &Path, size: u32) -> Provenance {
        let (28, Some(md5)) = (size, self.md5_28) else {
            return Provenance::Unknown;
        };
        match crate::download::digests(path) {
            Ok((got, _)) if got == md5 => Provenance::Official,
            Ok((got, _)) => Provenance::NotOfficial {
                why: format!(
                    "its checksum differs from the official file's (MD5 {got}, not {md5})"
                ),
            },
            Err(e) => Provenance::NotOfficial {
                why: format!("it cannot be read: {e}"),
            },
        }
    }

    /// The file name of the `size` px version: `pathmnist.npz`, `pathmnist_64.npz`.
    pub fn file_name(&self, size: u32) -> String {
        if size == 28 {
            format!("{}.npz", self.flag)
        } else {
            format!("{}_{size}.npz", self.flag)
        }
    }

    pub fn url(&self, size: u32) -> String {
        format!(
            "https://zenodo.org/records/10519652/files/{}?download=1",
            self.file_name(size)
        )
    }

    pub fn total_images(&self) -> usize {
        self.splits.iter().sum()
    }
}

const CC_BY: &str = "CC BY 4.0";

pub static MEDMNIST: &[MedMnistInfo] = &[
    MedMnistInfo {
        flag: "pathmnist",
        title: "PathMNIST: colon pathology (NCT-CRC-HE-100K)",
        task: Task::MultiClass,
        channels: 3,
        class_names: &[
            "adipose",
            "background",
            "debris",
            "lymphocytes",
            "mucus",
            "smooth muscle",
            "normal colon mucosa",
            "cancer-associated stroma",
            "colorectal adenocarcinoma epithelium",
        ],
        splits: [89_996, 10_004, 7_180],
        class_counts: None,
        md5_28: Some("a8b06965200029087d5bd730944a56c1"),
        approx_bytes_28: 205_615_438,
        licence: CC_BY,
    },
    MedMnistInfo {
        flag: "chestmnist",
        title: "ChestMNIST: chest X-ray (NIH ChestX-ray14)",
        task: Task::MultiLabel,
        channels: 1,
        class_names: &[
            "atelectasis",
            "cardiomegaly",
            "effusion",
            "infiltration",
            "mass",
            "nodule",
            "pneumonia",
            "pneumothorax",
            "consolidation",
            "edema",
            "emphysema",
            "fibrosis",
            "pleural thickening",
            "hernia",
        ],
        splits: [78_468, 11_219, 22_433],
        class_counts: None,
        md5_28: Some("02c8a6516a18b556561a56cbdd36c4a8"),
        approx_bytes_28: 82_802_576,
        licence: CC_BY,
    },
    MedMnistInfo {
        flag: "dermamnist",
        title: "DermaMNIST: dermatoscope images (HAM10000)",
        task: Task::MultiClass,
        channels: 3,
        class_names: &[
            "actinic keratoses and intraepithelial carcinoma",
            "basal cell carcinoma",
            "benign keratosis-like lesions",
            "dermatofibroma",
            "melanoma",
            "melanocytic nevi",
            "vascular lesions",
        ],
        splits: [7_007, 1_003, 2_005],
        class_counts: None,
        md5_28: Some("0744692d530f8e62ec473284d019b0c7"),
        approx_bytes_28: 19_725_078,
        licence: "CC BY-NC 4.0",
    },
    MedMnistInfo {
        flag: "breastmnist",
        title: "BreastMNIST: breast ultrasound",
        task: Task::Binary,
        channels: 1,
        class_names: &["malignant", "normal, benign"],
        splits: [546, 78, 156],
        // Counted in the official breastmnist.npz (engine/tests/real_data.rs checks them).
        class_counts: Some(&[[147, 21, 42], [399, 57, 114]]),
        md5_28: Some("750601b1f35ba3300ea97c75c52ff8f6"),
        approx_bytes_28: 559_580,
        licence: CC_BY,
    },
    MedMnistInfo {
        flag: "bloodmnist",
        title: "BloodMNIST: blood cell microscopy",
        task: Task::MultiClass,
        channels: 3,
        class_names: &[
            "basophil",
            "eosinophil",
            "erythroblast",
            "immature granulocytes",
            "lymphocyte",
            "monocyte",
            "neutrophil",
            "platelet",
        ],
        splits: [11_959, 1_712, 3_421],
        class_counts: None,
        md5_28: Some("7053d0359d879ad8a5505303e11de1dc"),
        approx_bytes_28: 35_461_855,
        licence: CC_BY,
    },
    MedMnistInfo {
        flag: "pneumoniamnist",
        title: "PneumoniaMNIST: paediatric chest X-ray",
        task: Task::Binary,
        channels: 1,
        class_names: &["normal", "pneumonia"],
        splits: [4_708, 524, 624],
        class_counts: None,
        md5_28: None,
        approx_bytes_28: 4_170_669,
        licence: CC_BY,
    },
    MedMnistInfo {
        flag: "organamnist",
        title: "OrganAMNIST: abdominal CT, axial",
        task: Task::MultiClass,
        channels: 1,
        class_names: &[
            "bladder",
            "femur-left",
            "femur-right",
            "heart",
            "kidney-left",
            "kidney-right",
            "liver",
            "lung-left",
            "lung-right",
            "pancreas",
            "spleen",
        ],
        splits: [34_561, 6_491, 17_778],
        class_counts: None,
        md5_28: None,
        approx_bytes_28: 38_247_903,
        licence: CC_BY,
    },
    MedMnistInfo {
        flag: "octmnist",
        title: "OCTMNIST: retinal OCT",
        task: Task::MultiClass,
        channels: 1,
        class_names: &[
            "choroidal neovascularization",
            "diabetic macular edema",
            "drusen",
            "normal",
        ],
        splits: [97_477, 10_832, 1_000],
        class_counts: None,
        md5_28: None,
        approx_bytes_28: 54_938_180,
        licence: CC_BY,
    },
    MedMnistInfo {
        flag: "tissuemnist",
        title: "TissueMNIST: kidney cortex microscopy",
        task: Task::MultiClass,
        channels: 1,
        class_names: &[
            "collecting duct, connecting tubule",
            "distal convoluted tubule",
            "glomerular endothelial cells",
            "interstitial endothelial cells",
            "leukocytes",
            "podocytes",
            "proximal tubule segments",
            "thick ascending limb",
        ],
        splits: [165_466, 23_640, 47_280],
        class_counts: None,
        md5_28: None,
        approx_bytes_28: 124_962_739,
        licence: CC_BY,
    },
];

/// Looks a dataset up by flag, accepting `path`, `pathmnist` or `PathMNIST`.
pub fn medmnist(name: &str) -> Option<&'static MedMnistInfo> {
    let name = name.to_ascii_lowercase();
    let name = name.trim_end_matches(".npz");
    MEDMNIST
        .iter()
        .find(|d| d.flag == name || d.flag.strip_suffix("mnist") == Some(name))
}

/// Recognises an official file by its name (`breastmnist.npz`, `breastmnist_64.npz`) and split
/// sizes, or, for a renamed copy, by split sizes and channels alone. A file whose sizes differ is
/// a custom dataset, even if it is named like an official one.
pub fn identify_medmnist(
    path: &Path,
    train: usize,
    val: usize,
    test: usize,
    channels: usize,
) -> Option<&'static MedMnistInfo> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let flag = stem.split('_').next().unwrap_or_default();
    let fits = |d: &&MedMnistInfo| d.splits == [train, val, test] && d.channels == channels;
    MEDMNIST
        .iter()
        .find(|d| d.flag == flag)
        .filter(fits)
        .or_else(|| MEDMNIST.iter().find(fits))
}

/// The course's non-MedMNIST data.
#[derive(Debug, Clone, Serialize)]
pub struct OtherDataset {
    pub name: &'static str,
    pub title: &'static str,
    pub task: Task,
    pub source: &'static str,
    pub licence: &'static str,
}

pub static OTHER: &[OtherDataset] = &[
    OtherDataset {
        name: "breast-cancer-wisconsin",
        title: "Breast Cancer Wisconsin Diagnostic: 569 tumours, 30 nuclear features",
        task: Task::Regression,
        source: "embedded in Petri (no download)",
        licence: CC_BY,
    },
    OtherDataset {
        name: "skin-autofluorescence",
        title: "In vivo skin autofluorescence, 512x512, 4 tissue classes",
        task: Task::Segmentation,
        source: "https://storage.googleapis.com/nigms-sandbox/nosi-uams-alml/segmentation_data_small/",
        licence: "CC BY-NC-SA 4.0",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_and_identification() {
        assert_eq!(medmnist("path").unwrap().flag, "pathmnist");
        assert_eq!(medmnist("BreastMNIST").unwrap().splits, [546, 78, 156]);
        assert!(medmnist("nope").is_none());
        assert_eq!(medmnist("chest").unwrap().class_names.len(), 14);
        assert_eq!(
            medmnist("breast").unwrap().url(64),
            "https://zenodo.org/records/10519652/files/breastmnist_64.npz?download=1"
        );
        let p = Path::new("copy.npz");
        assert_eq!(
            identify_medmnist(p, 546, 78, 156, 1).unwrap().flag,
            "breastmnist"
        );
        assert!(identify_medmnist(Path::new("breastmnist.npz"), 100, 10, 10, 1).is_none());
        for d in MEDMNIST {
            assert!(
                d.task == Task::MultiLabel || d.class_names.len() >= 2,
                "{}",
                d.flag
            );
        }
    }
}
