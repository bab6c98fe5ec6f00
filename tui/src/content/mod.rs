//! Course content as data: lessons (Markdown with TOML front matter between `+++` lines) and
//! their knowledge checks (TOML), read from `lessons/<id>/`. Checking the content reports every
//! problem with its file and line, so instructors can add lessons without touching code.

pub mod facts;

use petri_engine::{Error, Result, rng::Rng};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A part of the course, as its lesson's front matter defines it: the one description of a
/// part that the tutor, `petri doctor`, challenges, progress and `identify` use. Adding a part
/// is adding a lesson folder.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Part {
    /// The lesson's folder name, `01-classification`: its place in the course and the key of
    /// its progress.
    pub id: String,
    /// The short name commands and challenges use: `classification`.
    pub name: String,
    /// The part in lists: `Classification`.
    pub short_title: String,
    /// One line on what the part does.
    #[serde(default)]
    pub summary: String,
    /// The lesson's title.
    pub title: String,
    #[serde(default)]
    pub minutes: u32,
    /// The experiment suites of `petri run` this part uses (a name that is not one fails to
    /// parse, with its line).
    #[serde(default)]
    pub experiments: Vec<petri_engine::experiment::Suite>,
}

impl Part {
    /// Registry name of the part's main dataset: its first suite's (`Suite::dataset`), none
    /// for a part that trains nothing.
    pub fn dataset(&self) -> Option<&'static str> {
        self.experiments.first().map(|s| s.dataset())
    }

    /// Its transfer-learning runs need ImageNet ResNet-18 weights.
    pub fn imagenet_weights(&self) -> bool {
        self.experiments.iter().any(|s| s.needs_imagenet_weights())
    }
}

#[derive(Debug, Clone)]
pub struct Lesson {
    pub dir: PathBuf,
    pub part: Part,
    /// The Markdown body, after the front matter.
    pub body: String,
    /// Line in `lesson.md` where the body starts (1-based).
    pub body_line: usize,
    pub check: Vec<Question>,
    /// The files' full texts, for reporting problems by line.
    md_text: String,
    check_text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum QuestionKind {
    Single,
    Multiple,
    Numeric,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AnswerOption {
    pub text: String,
    #[serde(default)]
    pub correct: bool,
    #[serde(default)]
    pub feedback: Option<String>,
    /// Shown after the shuffled options, in file order ("all of the above", "none of these").
    #[serde(default)]
    pub keep_last: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Question {
    pub id: String,
    pub kind: QuestionKind,
    pub prompt: String,
    #[serde(default)]
    pub explanation: Option<String>,
    #[serde(default, rename = "option")]
    pub options: Vec<AnswerOption>,
    #[serde(default)]
    pub answer: Option<f64>,
    #[serde(default)]
    pub tolerance: Option<f64>,
    #[serde(default)]
    pub unit: Option<String>,
}

#[derive(Deserialize)]
struct CheckFile {
    #[serde(default, rename = "question")]
    questions: Vec<Question>,
}

/// A student's answer to one question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    /// Indices of the chosen options (one for single-answer questions).
    Choices(Vec<usize>),
    Number(f64),
}

impl Question {
    pub fn correct_options(&self) -> Vec<usize> {
        self.options
            .iter()
            .enumerate()
            .filter(|(_, o)| o.correct)
            .map(|(i, _)| i)
            .collect()
    }

    /// The order a student sees the options in (indices into `options`): shuffled by the
    /// attempt's seed and the question's id, so every question of an attempt gets its own order
    /// and the same attempt always shows the same one; `keep_last` options follow, in file order.
    pub fn shown_order(&self, seed: u64) -> Vec<usize> {
        let (mut free, last): (Vec<usize>, Vec<usize>) =
            (0..self.options.len()).partition(|&i| !self.options[i].keep_last);
        Rng::derive(seed, &self.id).shuffle(&mut free);
        free.extend(last);
        free
    }

    /// Whether `answer` is right: the exact set of correct options, or a number within tolerance.
    pub fn is_correct(&self, answer: &Answer) -> bool {
        match (self.kind, answer) {
            (QuestionKind::Numeric, Answer::Number(x)) => match (self.answer, self.tolerance) {
                (Some(a), Some(t)) => (x - a).abs() <= t,
                _ => false,
            },
            (QuestionKind::Single | QuestionKind::Multiple, Answer::Choices(chosen)) => {
                let mut c = chosen.clone();
                c.sort_unstable();
                c.dedup();
                c == self.correct_options()
            }
            _ => false,
        }
    }
}

/// One problem found in the content, with where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line where `needle` first appears, or 1.
fn find_line(text: &str, needle: &str) -> usize {
    text.find(needle).map_or(1, |o| line_of(text, o))
}

/// Reads one lesson folder. Problems that stop parsing are returned as `Err`.
pub fn load_lesson(dir: &Path) -> std::result::Result<Lesson, Problem> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).map_err(|e| Problem {
            file: path,
            line: 1,
            message: format!("cannot read: {e}"),
        })
    };
    parse_lesson(dir, read("lesson.md")?, read("check.toml")?)
}

/// Parses a lesson from its two texts; `dir` names it in messages (it need not exist, so
/// lessons embedded in the binary parse the same way).
pub fn parse_lesson(
    dir: &Path,
    md_text: String,
    check_text: String,
) -> std::result::Result<Lesson, Problem> {
    let md = dir.join("lesson.md");
    let text = md_text.replace("\r\n", "\n");
    let rest = text.strip_prefix("+++\n").ok_or_else(|| Problem {
        file: md.clone(),
        line: 1,
        message: "must start with a `+++` line opening the TOML front matter".into(),
    })?;
    let end = rest.find("\n+++").ok_or_else(|| Problem {
        file: md.clone(),
        line: 1,
        message: "front matter is not closed by a `+++` line".into(),
    })?;
    let part: Part = toml::from_str(&rest[..end]).map_err(|e| Problem {
        file: md.clone(),
        line: 1 + e.span().map_or(1, |s| line_of(&rest[..end], s.start)),
        message: format!("front matter: {}", e.message()),
    })?;
    let body_start = 4 + end + 4;
    let body = text
        .get(body_start..)
        .unwrap_or("")
        .trim_start_matches('\n')
        .to_string();
    let body_line = line_of(&text, body_start) + 1;

    let check_path = dir.join("check.toml");
    let check: CheckFile = toml::from_str(&check_text).map_err(|e| Problem {
        file: check_path.clone(),
        line: e.span().map_or(1, |s| line_of(&check_text, s.start)),
        message: e.message().to_string(),
    })?;
    Ok(Lesson {
        dir: dir.to_path_buf(),
        part,
        body,
        body_line,
        check: check.questions,
        md_text: text,
        check_text,
    })
}

/// Every lesson under `root`, in folder order.
pub fn load_all(root: &Path) -> Result<Vec<std::result::Result<Lesson, Problem>>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .map_err(|e| Error::io(root, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    Ok(dirs.iter().map(|d| load_lesson(d)).collect())
}

/// What the course's datasets are known to hold, read once.
pub static COURSE_FACTS: std::sync::LazyLock<Vec<facts::DatasetFacts>> =
    std::sync::LazyLock::new(facts::course_facts);

/// `text` with the wrong options' texts blanked out (lines kept): a distractor such as "Class 0:
/// normal or benign" is wrong on purpose, and its feedback says why.
fn without_distractors(text: &str, questions: &[Question]) -> String {
    let mut out = text.to_string();
    for o in questions
        .iter()
        .flat_map(|q| &q.options)
        .filter(|o| !o.correct)
    {
        if o.text.len() >= 4 {
            let blank: String = o
                .text
                .chars()
                .map(|c| if c == '\n' { '\n' } else { ' ' })
                .collect();
            out = out.replace(&o.text, &blank);
        }
    }
    out
}

/// Where the right answers sit in the file. Students see shuffled options, but the file order is
/// what `petri lesson` readers, authors and any unshuffled copy see: when one position holds the
/// right answer of more than half the single-answer questions (25 of 25 were option 1 once),
/// the order gives the answers away. `keep_last` options must come last in the file.
fn check_positions(file: &Path, text: &str, questions: &[Question]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let singles: Vec<usize> = questions
        .iter()
        .filter(|q| q.kind == QuestionKind::Single)
        .filter_map(|q| q.correct_options().first().copied())
        .collect();
    if singles.len() >= 3 {
        let mut at = std::collections::BTreeMap::<usize, usize>::new();
        for &p in &singles {
            *at.entry(p).or_default() += 1;
        }
        if let Some((&pos, &n)) = at.iter().max_by_key(|&(_, &n)| n)
            && 2 * n > singles.len()
        {
            problems.push(Problem {
                file: file.to_path_buf(),
                line: 1,
                message: format!(
                    "the right answer is option {} in {n} of {} single-answer questions; vary its position",
                    pos + 1,
                    singles.len()
                ),
            });
        }
    }
    for q in questions {
        if let Some(first_last) = q.options.iter().position(|o| o.keep_last)
            && q.options[first_last..].iter().any(|o| !o.keep_last)
        {
            problems.push(Problem {
                file: file.to_path_buf(),
                line: find_line(text, &format!("\"{}\"", q.id)),
                message: format!(
                    "question '{}': options with keep_last must come after all the others",
                    q.id
                ),
            });
        }
    }
    problems
}

/// Checks a lesson's questions and references. `command_ok` says whether a `petri ...` line in
/// a shell block is a valid command (the binary passes its own argument parser).
pub fn check_lesson(
    lesson: &Lesson,
    command_ok: &dyn Fn(&str) -> std::result::Result<(), String>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let md = lesson.dir.join("lesson.md");
    let md_text = &lesson.md_text;
    let check_path = lesson.dir.join("check.toml");
    let check_text = &lesson.check_text;
    let folder = lesson
        .dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if lesson.part.id != folder {
        problems.push(Problem {
            file: md.clone(),
            line: find_line(md_text, "id ="),
            message: format!("id '{}' differs from its folder '{folder}'", lesson.part.id),
        });
    }
    // Shell blocks: every `petri ...` line must parse as a command.
    let mut in_sh = false;
    for (i, line) in md_text.lines().enumerate() {
        let t = line.trim();
        if let Some(lang) = t.strip_prefix("```") {
            in_sh = !in_sh && matches!(lang.trim(), "sh" | "bash" | "shell");
            continue;
        }
        if in_sh
            && t.starts_with("petri ")
            && let Err(why) = command_ok(t)
        {
            problems.push(Problem {
                file: md.clone(),
                line: i + 1,
                message: format!("`{t}` is not a valid command: {why}"),
            });
        }
    }
    let mut seen = std::collections::HashSet::new();
    for q in &lesson.check {
        let line = find_line(check_text, &format!("\"{}\"", q.id));
        let mut bad = |message: String| {
            problems.push(Problem {
                file: check_path.clone(),
                line,
                message: format!("question '{}': {message}", q.id),
            })
        };
        if !seen.insert(q.id.clone()) {
            bad("duplicate id".into());
        }
        if q.prompt.trim().is_empty() {
            bad("empty prompt".into());
        }
        match q.kind {
            QuestionKind::Single | QuestionKind::Multiple => {
                let correct = q.correct_options().len();
                if q.options.len() < 2 {
                    bad("needs at least two options".into());
                }
                if q.kind == QuestionKind::Single && correct != 1 {
                    bad(format!(
                        "single-answer question has {correct} correct options; it needs exactly one"
                    ));
                }
                if q.kind == QuestionKind::Multiple && correct == 0 {
                    bad("multiple-answer question has no correct option".into());
                }
                for (i, o) in q.options.iter().enumerate() {
                    if o.feedback.as_deref().is_none_or(|f| f.trim().is_empty()) {
                        bad(format!("option {} ('{}') has no feedback", i + 1, o.text));
                    }
                }
            }
            QuestionKind::Numeric => {
                if q.answer.is_none() {
                    bad("numeric question has no answer".into());
                }
                if !q.tolerance.is_some_and(|t| t > 0.0) {
                    bad("numeric question needs a tolerance above 0".into());
                }
                if !q.options.is_empty() {
                    bad("numeric question must not have options".into());
                }
            }
        }
    }
    problems.extend(check_positions(&check_path, check_text, &lesson.check));
    problems.extend(facts::check_text(&md, md_text, &COURSE_FACTS));
    problems.extend(facts::check_text(
        &check_path,
        &without_distractors(check_text, &lesson.check),
        &COURSE_FACTS,
    ));
    if lesson.check.is_empty() {
        problems.push(Problem {
            file: check_path,
            line: 1,
            message: "the knowledge check has no questions".into(),
        });
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(kind: QuestionKind, correct: &[bool]) -> Question {
        Question {
            id: "q".into(),
            kind,
            prompt: "?".into(),
            explanation: None,
            options: correct
                .iter()
                .map(|&c| AnswerOption {
                    text: "o".into(),
                    correct: c,
                    feedback: Some("f".into()),
                    keep_last: false,
                })
                .collect(),
            answer: Some(0.947),
            tolerance: Some(0.005),
            unit: None,
        }
    }

    #[test]
    fn grading_choices_and_numbers() {
        let m = q(QuestionKind::Multiple, &[true, false, true]);
        assert!(m.is_correct(&Answer::Choices(vec![2, 0])));
        assert!(!m.is_correct(&Answer::Choices(vec![0])));
        let n = q(QuestionKind::Numeric, &[]);
        assert!(n.is_correct(&Answer::Number(0.95)));
        assert!(!n.is_correct(&Answer::Number(0.96)));
        assert!(!n.is_correct(&Answer::Choices(vec![0])));
    }

    #[test]
    fn check_finds_broken_questions_with_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let l = dir.path().join("01-x");
        std::fs::create_dir_all(&l).unwrap();
        std::fs::write(
            l.join("lesson.md"),
            "+++\nid = \"01-x\"\nname = \"x\"\nshort_title = \"X\"\ntitle = \"X\"\n+++\n# X\n\n```sh\npetri nope\n```\n",
        )
        .unwrap();
        std::fs::write(
            l.join("check.toml"),
            "[[question]]\nid = \"two-right\"\nkind = \"single\"\nprompt = \"p\"\n\
             [[question.option]]\ntext = \"a\"\ncorrect = true\nfeedback = \"f\"\n\
             [[question.option]]\ntext = \"b\"\ncorrect = true\n\
             [[question]]\nid = \"num\"\nkind = \"numeric\"\nprompt = \"p\"\nanswer = 1.0\n",
        )
        .unwrap();
        let lesson = load_lesson(&l).unwrap();
        assert_eq!(lesson.body_line, 7);
        let problems = check_lesson(&lesson, &|c| {
            if c == "petri nope" {
                Err("unknown".into())
            } else {
                Ok(())
            }
        });
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert!(
            text.iter()
                .any(|t| t.contains("lesson.md:10") && t.contains("petri nope")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.contains("check.toml:2") && t.contains("2 correct options")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.contains("option 2 ('b') has no feedback")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|t| t.contains("needs a tolerance")),
            "{text:?}"
        );
    }

    #[test]
    fn options_are_shuffled_per_attempt_and_keep_last_stays_last() {
        let mut m = q(QuestionKind::Single, &[true, false, false, false, false]);
        m.options[4].keep_last = true;
        let order = m.shown_order(7);
        assert_eq!(order, m.shown_order(7), "one attempt, one order");
        assert_eq!(order[4], 4);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, vec![0, 1, 2, 3, 4]);
        // Across attempts the right answer lands in every free position.
        let firsts: std::collections::BTreeSet<usize> = (0..64)
            .map(|seed| m.shown_order(seed).iter().position(|&i| i == 0).unwrap())
            .collect();
        assert_eq!(firsts, [0, 1, 2, 3].into_iter().collect());
    }

    #[test]
    fn right_answers_all_in_one_position_are_reported() {
        let qs: Vec<Question> = (0..4)
            .map(|i| {
                let mut x = q(QuestionKind::Single, &[true, false, false]);
                x.id = format!("q{i}");
                x
            })
            .collect();
        let p = check_positions(Path::new("check.toml"), "", &qs);
        assert!(
            p.iter().any(|p| p.message.contains("option 1 in 4 of 4")),
            "{p:?}"
        );
        let mut spread = qs.clone();
        spread[1].options.swap(0, 1);
        spread[2].options.swap(0, 2);
        assert!(check_positions(Path::new("check.toml"), "", &spread).is_empty());
        let mut last = qs;
        last[0].options[0].keep_last = true;
        let p = check_positions(Path::new("check.toml"), "", &last);
        assert!(p.iter().any(|p| p.message.contains("keep_last")), "{p:?}");
    }

    #[test]
    fn toml_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let l = dir.path().join("02-y");
        std::fs::create_dir_all(&l).unwrap();
        std::fs::write(
            l.join("lesson.md"),
            "+++\nid = \"02-y\"\nname = \"y\"\nshort_title = \"Y\"\ntitle = \"Y\"\n+++\nbody\n",
        )
        .unwrap();
        std::fs::write(
            l.join("check.toml"),
            "[[question]]\nid = \"a\"\nkind = \"single\"\nprompt = \n",
        )
        .unwrap();
        let p = load_lesson(&l).unwrap_err();
        assert!(p.to_string().contains("check.toml:4"), "{p}");
    }
}
