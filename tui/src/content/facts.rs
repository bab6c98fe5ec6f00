//! Dataset facts quoted in course text, checked against what Petri knows of the data: split
//! sizes ("546 / 78 / 156"), class counts ("147 malignant"), class shares ("27% of the test
//! images are malignant") and label coding ("0 = malignant", "[malignant, benign]").
//!
//! A sentence's numbers are read against the dataset it (or the text before it) last names, so
//! "147 malignant" is checked against BreastMNIST in a paragraph about BreastMNIST and against
//! Breast Cancer Wisconsin in one about the tumour table. Only patterns that say one thing are
//! read; prose the reader cannot parse is left alone rather than guessed at.

use super::Problem;
use petri_engine::data::breast_cancer::BreastCancer;
use petri_engine::data::registry::MEDMNIST;
use std::path::Path;

/// Split names, in the order of the counts below; the last is the whole dataset.
const SPLITS: [&str; 4] = ["training", "validation", "test", "all"];

/// What a text may say about one dataset.
#[derive(Debug, Clone)]
pub struct DatasetFacts {
    /// How the dataset is named in messages.
    pub name: String,
    /// Lower-case words that mention it (`breastmnist`).
    mentions: Vec<String>,
    /// Training / validation / test / all, where the dataset has official splits.
    splits: Option<[usize; 4]>,
    classes: Vec<ClassFacts>,
}

#[derive(Debug, Clone)]
struct ClassFacts {
    /// Label index.
    label: usize,
    /// The registry's name, for messages.
    name: String,
    /// Word sequences that name the class ("normal", "benign" for "normal, benign").
    aliases: Vec<Vec<String>>,
    /// Images of the class per split (training / validation / test / all), where known.
    counts: Option<[usize; 4]>,
}

impl DatasetFacts {
    fn new(name: &str, mentions: &[&str], splits: Option<[usize; 3]>) -> Self {
        DatasetFacts {
            name: name.to_string(),
            mentions: mentions.iter().map(|m| m.to_string()).collect(),
            splits: splits.map(|[a, b, c]| [a, b, c, a + b + c]),
            classes: Vec::new(),
        }
    }

    fn class(&mut self, name: &str, counts: Option<[usize; 4]>) {
        let mut aliases: Vec<Vec<String>> = name
            .split([',', '/'])
            .flat_map(|p| p.split(" or "))
            .map(words)
            .filter(|w| !w.is_empty())
            .collect();
        let whole = words(name);
        if !aliases.contains(&whole) {
            aliases.push(whole);
        }
        // Longest first, so "normal or benign" wins over "normal".
        aliases.sort_by_key(|a| std::cmp::Reverse(a.len()));
        self.classes.push(ClassFacts {
            label: self.classes.len(),
            name: name.to_string(),
            aliases,
            counts,
        });
    }

    /// The class named by the words at `at`, and how many words name it.
    fn class_at(&self, toks: &[Token], at: usize) -> Option<(&ClassFacts, usize)> {
        self.classes.iter().find_map(|c| {
            c.aliases.iter().find_map(|alias| {
                let fits = alias
                    .iter()
                    .enumerate()
                    .all(|(k, w)| matches!(toks.get(at + k), Some(Token { kind: Kind::Word(t), .. }) if t == w));
                fits.then_some((c, alias.len()))
            })
        })
    }
}

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric() && c != '-')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The facts of the course's datasets: the MedMNIST registry (split sizes; class counts where
/// the registry has them) and the Breast Cancer Wisconsin table embedded in the binary (its
/// class counts computed from the rows themselves).
pub fn course_facts() -> Vec<DatasetFacts> {
    let mut out = Vec::new();
    for d in MEDMNIST {
        let title = d.title.split(':').next().unwrap_or(d.flag);
        let mut f = DatasetFacts::new(title, &[d.flag], Some(d.splits));
        for (label, name) in d.class_names.iter().enumerate() {
            let counts = d.class_counts.map(|c| {
                let [a, b, t] = c[label];
                [a, b, t, a + b + t]
            });
            f.class(name, counts);
        }
        out.push(f);
    }
    let bc = BreastCancer::embedded();
    let malignant = bc.malignant.iter().filter(|&&m| m).count();
    let mut f = DatasetFacts::new("Breast Cancer Wisconsin", &["wisconsin", "wdbc"], None);
    // No official split: only the whole table's counts are facts.
    let all = |n: usize| Some([usize::MAX, usize::MAX, usize::MAX, n]);
    f.class("malignant", all(malignant));
    f.class("benign", all(bc.len() - malignant));
    out.push(f);
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Word(String),
    Number {
        value: f64,
        integer: bool,
    },
    Punct(char),
    /// The end of a sentence, a paragraph, a list item or a table row.
    Break,
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    /// Byte offset in the text, for the line number.
    at: usize,
}

fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let peek = |j: usize| chars.get(j).map(|&(_, c)| c);
    while i < chars.len() {
        let (at, c) = chars[i];
        if c.is_whitespace() {
            let start = i;
            while peek(i).is_some_and(char::is_whitespace) {
                i += 1;
            }
            let gap: String = chars[start..i].iter().map(|&(_, c)| c).collect();
            let newlines = gap.matches('\n').count();
            // A blank line, or a new line that opens a list item, heading or table row.
            let opens_item = newlines == 1
                && (matches!(peek(i), Some('-' | '*' | '|' | '#' | '+' | '['))
                    || (peek(i).is_some_and(|c| c.is_ascii_digit())
                        && matches!(peek(i + 1), Some('.' | ')'))));
            if newlines >= 2 || opens_item {
                out.push(Token {
                    kind: Kind::Break,
                    at,
                });
            }
            continue;
        }
        if c.is_ascii_digit() {
            let mut raw = String::new();
            let mut integer = true;
            while let Some(d) = peek(i) {
                if d.is_ascii_digit() {
                    raw.push(d);
                    i += 1;
                } else if d == ','
                    && (1..=3).all(|k| peek(i + k).is_some_and(|c| c.is_ascii_digit()))
                    && !peek(i + 4).is_some_and(|c| c.is_ascii_digit())
                {
                    i += 1; // a thousands separator: 89,996
                } else if d == '.' && integer && peek(i + 1).is_some_and(|c| c.is_ascii_digit()) {
                    raw.push('.');
                    integer = false;
                    i += 1;
                } else {
                    break;
                }
            }
            out.push(Token {
                kind: Kind::Number {
                    value: raw.parse().unwrap_or(f64::NAN),
                    integer,
                },
                at,
            });
            continue;
        }
        if c.is_alphabetic() {
            let mut w = String::new();
            while let Some(d) = peek(i) {
                if d.is_alphanumeric() || d == '-' || d == '_' {
                    w.extend(d.to_lowercase());
                    i += 1;
                } else if matches!(d, '\'' | '’') && peek(i + 1).is_some_and(char::is_alphabetic)
                {
                    // BreastMNIST's: the possessive names the dataset.
                    i += 1;
                    while peek(i).is_some_and(char::is_alphabetic) {
                        i += 1;
                    }
                    break;
                } else {
                    break;
                }
            }
            let w = w.trim_end_matches('-').to_string();
            out.push(Token {
                kind: Kind::Word(w),
                at,
            });
            continue;
        }
        i += 1;
        match c {
            '.' | '!' | '?' if peek(i).is_none_or(char::is_whitespace) => out.push(Token {
                kind: Kind::Break,
                at,
            }),
            '%' | '/' | '=' | '[' | ']' | '(' | ')' | ':' | ',' | ';' => out.push(Token {
                kind: Kind::Punct(c),
                at,
            }),
            _ => {}
        }
    }
    out
}

/// Checks every dataset fact in `text` (a file's whole content) against `facts`.
pub fn check_text(file: &Path, text: &str, facts: &[DatasetFacts]) -> Vec<Problem> {
    check_text_after(file, text, facts, "")
}

/// `check_text` for a file read after `preceding` (a challenge's hints after its statement):
/// the dataset `preceding` names last is the one the file's first sentences are about.
pub fn check_text_after(
    file: &Path,
    text: &str,
    facts: &[DatasetFacts],
    preceding: &str,
) -> Vec<Problem> {
    let toks = tokenize(text);
    let mut problems = Vec::new();
    let mut current: Option<&DatasetFacts> =
        tokenize(preceding)
            .iter()
            .rev()
            .find_map(|t| match &t.kind {
                Kind::Word(w) => facts.iter().find(|d| d.mentions.contains(w)),
                _ => None,
            });
    let mut start = 0;
    while start < toks.len() {
        let end = toks[start..]
            .iter()
            .position(|t| t.kind == Kind::Break)
            .map_or(toks.len(), |p| start + p);
        let sentence = &toks[start..end];
        // The dataset named last before each token is the one its numbers are about.
        let mut in_sentence = Vec::new();
        for (k, t) in sentence.iter().enumerate() {
            if let Kind::Word(w) = &t.kind
                && let Some(d) = facts.iter().find(|d| d.mentions.contains(w))
            {
                in_sentence.push((k, d));
            }
        }
        // A sentence that names its dataset only after the number ("73% of BreastMNIST's test
        // images") is about that dataset throughout.
        let first = in_sentence.first().map(|&(_, d)| d).or(current);
        let about = |k: usize| {
            in_sentence
                .iter()
                .rev()
                .find(|&&(at, _)| at <= k)
                .map(|&(_, d)| d)
                .or(first)
        };
        let mut say = |at: usize, message: String| {
            problems.push(Problem {
                file: file.to_path_buf(),
                line: super::line_of(text, at),
                message,
            })
        };
        check_sentence(sentence, &about, &mut say);
        if let Some(&(_, d)) = in_sentence.last() {
            current = Some(d);
        }
        // A paragraph break keeps the dataset: a section is usually about one dataset.
        start = end + 1;
    }
    problems
}

/// A sentence's tokens, read by position, and the one split it names (if exactly one).
struct Sentence<'s> {
    tokens: &'s [Token],
    split: Option<usize>,
}

impl<'s> Sentence<'s> {
    fn new(tokens: &'s [Token]) -> Sentence<'s> {
        let mut s = Sentence {
            tokens,
            split: None,
        };
        let mut named: Vec<usize> = (0..tokens.len())
            .filter_map(|k| s.word(k).and_then(split_named))
            .collect();
        named.dedup();
        s.split = (named.len() == 1).then(|| named[0]);
        s
    }

    fn num(&self, k: usize) -> Option<(f64, bool)> {
        match self.tokens.get(k).map(|t| &t.kind) {
            Some(Kind::Number { value, integer }) => Some((*value, *integer)),
            _ => None,
        }
    }

    fn punct(&self, k: usize, c: char) -> bool {
        matches!(self.tokens.get(k).map(|t| &t.kind), Some(Kind::Punct(p)) if *p == c)
    }

    fn word(&self, k: usize) -> Option<&'s str> {
        match self.tokens.get(k).map(|t| &t.kind) {
            Some(Kind::Word(w)) => Some(w.as_str()),
            _ => None,
        }
    }
}

/// The split a word names: 0 training, 1 validation, 2 test.
fn split_named(w: &str) -> Option<usize> {
    match w {
        "train" | "training" => Some(0),
        "val" | "validation" => Some(1),
        "test" | "testing" => Some(2),
        _ => None,
    }
}

/// Checks one sentence's claims about the datasets it names (`about(k)`: the dataset token
/// `k` speaks of), each kind of claim in its own function.
fn check_sentence<'f>(
    tokens: &[Token],
    about: &dyn Fn(usize) -> Option<&'f DatasetFacts>,
    say: &mut dyn FnMut(usize, String),
) {
    let s = Sentence::new(tokens);
    for (k, token) in tokens.iter().enumerate() {
        let Some(d) = about(k) else { continue };
        let at = token.at;
        check_split_sizes(&s, k, d, at, say);
        check_class_count(&s, k, d, at, say);
        check_share(&s, k, d, about, at, say);
        check_label_order(&s, k, d, at, say);
        check_label_coding(&s, k, d, at, say);
    }
}

/// Split sizes: "546 / 78 / 156".
fn check_split_sizes(
    s: &Sentence,
    k: usize,
    d: &DatasetFacts,
    at: usize,
    say: &mut dyn FnMut(usize, String),
) {
    if let (Some((a, true)), true, Some((b, true)), true, Some((c, true))) = (
        s.num(k),
        s.punct(k + 1, '/'),
        s.num(k + 2),
        s.punct(k + 3, '/'),
        s.num(k + 4),
    ) && let Some(splits) = d.splits
        && a >= 10.0
    {
        let said = [a as usize, b as usize, c as usize];
        if said != splits[..3] {
            say(
                at,
                format!(
                    "{} has {} / {} / {} training / validation / test images; the text says {} / {} / {}",
                    d.name, splits[0], splits[1], splits[2], said[0], said[1], said[2]
                ),
            );
        }
    }
}

/// Class counts: "147 malignant", "42 malignant test images", "malignant: 147".
fn check_class_count(
    s: &Sentence,
    k: usize,
    d: &DatasetFacts,
    at: usize,
    say: &mut dyn FnMut(usize, String),
) {
    let count_then_class = s.num(k).filter(|&(_, int)| int).and_then(|(n, _)| {
        if s.punct(k + 1, '%') || s.word(k + 1) == Some("percent") {
            return None;
        }
        (1..=2).find_map(|skip| {
            let fillers_ok =
                (1..skip).all(|f| s.word(k + f).is_some_and(|w| split_named(w).is_some()));
            if !fillers_ok {
                return None;
            }
            d.class_at(s.tokens, k + skip).map(|(c, _)| {
                (
                    n,
                    c,
                    (1..skip).find_map(|f| s.word(k + f).and_then(split_named)),
                )
            })
        })
    });
    let class_then_count = d.class_at(s.tokens, k).and_then(|(c, len)| {
        let after = k + len;
        (s.punct(after, ':') || s.punct(after, '('))
            .then(|| s.num(after + 1))
            .flatten()
            .filter(|&(_, int)| int && !s.punct(after + 2, '%'))
            .map(|(n, _)| (n, c, None))
    });
    if let Some((n, c, split)) = count_then_class.or(class_then_count)
        && let Some(counts) = c.counts
    {
        let n = n as usize;
        let ok = match split {
            Some(i) => counts[i] == n,
            None => counts.contains(&n),
        };
        if !ok {
            say(
                at,
                format!(
                    "{} has {}; the text says {n} {}",
                    d.name,
                    describe_counts(c, &counts),
                    c.name
                ),
            );
        }
    }
}

/// Shares: a percentage in a sentence that names one class of the dataset.
fn check_share<'f>(
    s: &Sentence,
    k: usize,
    d: &DatasetFacts,
    about: &dyn Fn(usize) -> Option<&'f DatasetFacts>,
    at: usize,
    say: &mut dyn FnMut(usize, String),
) {
    if let Some((p, _)) = s.num(k)
        && (s.punct(k + 1, '%') || s.word(k + 1) == Some("percent"))
    {
        let mut named: Vec<&ClassFacts> = Vec::new();
        for j in 0..s.tokens.len() {
            if about(j).is_some_and(|dj| std::ptr::eq(dj, d))
                && let Some((c, _)) = d.class_at(s.tokens, j)
                && !named.iter().any(|x| x.label == c.label)
            {
                named.push(c);
            }
        }
        if let ([c], Some(counts), Some(splits)) = (
            named.as_slice(),
            named.first().and_then(|c| c.counts),
            d.splits,
        ) {
            let share = |i: usize| 100.0 * counts[i] as f64 / splits[i] as f64;
            let candidates: Vec<usize> = match s.split {
                Some(i) => vec![i],
                None => (0..4).collect(),
            };
            if !candidates.iter().any(|&i| (share(i) - p).abs() <= 1.0) {
                let shares: Vec<String> = (0..4)
                    .map(|i| format!("{:.1}% of {}", share(i), SPLITS[i]))
                    .collect();
                say(
                    at,
                    format!(
                        "{} images of {} are {}; the text says {p}%",
                        c.name,
                        d.name,
                        shares.join(", ")
                    ),
                );
            }
        }
    }
}

/// Label order: "[malignant, benign]" lists classes by label.
fn check_label_order(
    s: &Sentence,
    k: usize,
    d: &DatasetFacts,
    at: usize,
    say: &mut dyn FnMut(usize, String),
) {
    if s.punct(k, '[') {
        let mut labels = Vec::new();
        let mut j = k + 1;
        while let Some((c, len)) = d.class_at(s.tokens, j) {
            labels.push(c);
            j += len;
            if s.punct(j, ',') {
                j += 1;
            } else {
                break;
            }
        }
        if labels.len() >= 2
            && s.punct(j, ']')
            && labels.windows(2).any(|w| w[0].label >= w[1].label)
        {
            let order: Vec<String> = d
                .classes
                .iter()
                .map(|c| format!("{} = {}", c.label, c.name))
                .collect();
            say(
                at,
                format!(
                    "this list does not follow {}'s label order ({})",
                    d.name,
                    order.join(", ")
                ),
            );
        }
    }
}

/// Label coding: "0 = malignant", "label 1 is benign", "malignant = 0".
fn check_label_coding(
    s: &Sentence,
    k: usize,
    d: &DatasetFacts,
    at: usize,
    say: &mut dyn FnMut(usize, String),
) {
    let coded = match (s.num(k), s.word(k)) {
        (Some((n, true)), _) if s.punct(k + 1, '=') => {
            d.class_at(s.tokens, k + 2).map(|(c, _)| (n, c))
        }
        (_, Some("label" | "class")) => s.num(k + 1).filter(|&(_, int)| int).and_then(|(n, _)| {
            let verb = s.punct(k + 2, '=')
                || s.punct(k + 2, ':')
                || matches!(s.word(k + 2), Some("is" | "means"));
            let at = if s.word(k + 3) == Some("the") {
                k + 4
            } else {
                k + 3
            };
            verb.then(|| d.class_at(s.tokens, at).map(|(c, _)| (n, c)))
                .flatten()
        }),
        _ => d.class_at(s.tokens, k).and_then(|(c, len)| {
            s.punct(k + len, '=')
                .then(|| s.num(k + len + 1))
                .flatten()
                .filter(|&(_, int)| int)
                .map(|(n, _)| (n, c))
        }),
    };
    if let Some((n, c)) = coded
        && n as usize != c.label
        && (n as usize) < d.classes.len()
    {
        say(
            at,
            format!("in {}, label {} is {}, not {n}", d.name, c.label, c.name),
        );
    }
}

/// "147 malignant images in training, 21 in validation, 42 in test (210 in all)".
fn describe_counts(c: &ClassFacts, counts: &[usize; 4]) -> String {
    let splits: Vec<String> = (0..3)
        .filter(|&i| counts[i] != usize::MAX)
        .map(|i| format!("{} in {}", counts[i], SPLITS[i]))
        .collect();
    if splits.is_empty() {
        format!("{} {} in all", counts[3], c.name)
    } else {
        format!(
            "{} {}: {} ({} in all)",
            c.name,
            "images",
            splits.join(", "),
            counts[3]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Vec<String> {
        check_text(Path::new("t.md"), text, &course_facts())
            .iter()
            .map(|p| p.to_string())
            .collect()
    }

    #[test]
    fn the_wrong_breastmnist_statements_of_old_fail() {
        // challenges/classification/imbalance/statement.md and its hint, as they were.
        let old = "BreastMNIST's training set has 399 malignant, 147 benign images.\n\n\
                   Give the class weights as [benign, malignant].\n\n\
                   Benign images are 27% of the training set.";
        let p = check(old);
        assert!(
            p.iter().any(|m| m.contains("t.md:1")
                && m.contains("399 malignant")
                && m.contains("malignant images: 147 in training")),
            "{p:?}"
        );
        assert!(p.iter().any(|m| m.contains("147 normal, benign")), "{p:?}");
        assert!(
            p.iter()
                .any(|m| m.contains("t.md:3") && m.contains("label order")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|m| m.contains("t.md:5") && m.contains("73.1% of training")),
            "{p:?}"
        );
        // challenges/classification/confusion-matrix/statement.md, as it was.
        let p = check("About 73% of BreastMNIST's test images are malignant.");
        assert!(p.iter().any(|m| m.contains("26.9% of test")), "{p:?}");
    }

    #[test]
    fn true_statements_pass() {
        let good = "BreastMNIST (546 / 78 / 156) codes 0 = malignant: the training set has 147 \
                    malignant and 399 normal or benign images. Weights are given as [malignant, \
                    benign]. Malignant images are 27% of the training set, and 42 malignant test \
                    images. Label 1 is normal, benign.\n\n\
                    The Breast Cancer Wisconsin table has 212 malignant and 357 benign tumours; \
                    PathMNIST has 89,996 / 10,004 / 7,180 images.";
        assert_eq!(check(good), Vec::<String>::new());
    }

    #[test]
    fn numbers_are_read_against_the_dataset_in_context() {
        let p = check("Breast Cancer Wisconsin has 147 malignant tumours.");
        assert!(
            p.iter().any(|m| m.contains("212 malignant in all")),
            "{p:?}"
        );
        // A hint read after its statement is about the statement's dataset.
        let p = check_text_after(
            Path::new("h.toml"),
            "Benign images are 27% of the training set.",
            &course_facts(),
            "About BreastMNIST.",
        );
        assert!(
            p.iter().any(|m| m.message.contains("73.1% of training")),
            "{p:?}"
        );
        let p = check("PathMNIST splits 546 / 78 / 156.");
        assert!(
            p.iter().any(|m| m.contains("89996 / 10004 / 7180")),
            "{p:?}"
        );
        let p = check("In BreastMNIST, 1 = malignant.");
        assert!(
            p.iter().any(|m| m.contains("label 0 is malignant, not 1")),
            "{p:?}"
        );
        // No dataset named: nothing to check against.
        assert!(check("147 malignant").is_empty());
    }
}
