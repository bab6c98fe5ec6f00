//! `petri content check`, `petri lesson`, `petri quiz`: the course content without the
//! full-screen tutor. Quiz answers are saved one by one, exactly as the tutor saves them.

use crate::content::{
    Answer, COURSE_FACTS, Lesson, Problem, Question, QuestionKind, check_lesson, facts,
};
use crate::progress::Progress;
use crate::{lessons, paths};
use anyhow::{Result, bail};
use std::io::{BufRead, Write};
use std::path::Path;

/// Parses every lesson and check; prints each problem as `file:line: message`.
pub fn check(dir: Option<&Path>, command_ok: &dyn Fn(&str) -> Result<(), String>) -> Result<()> {
    let mut problems = Vec::new();
    let mut questions = 0;
    let mut parsed = Vec::new();
    for lesson in lessons::load(dir)? {
        match lesson {
            Ok(l) => {
                questions += l.check.len();
                problems.extend(check_lesson(&l, command_ok));
                parsed.push(l);
            }
            Err(p) => problems.push(p),
        }
    }
    let lessons_n = parsed.len();
    problems.extend(check_parts(&parsed));
    let challenges = check_challenges(&paths::challenges_dir(), &parsed, &mut problems);
    for p in &problems {
        eprintln!("{p}");
    }
    if !problems.is_empty() {
        bail!("{} problem(s) in the course content", problems.len());
    }
    crate::outln!(
        "content ok: {lessons_n} lessons, {questions} questions, {challenges} challenges"
    )?;
    Ok(())
}

/// Checks the dataset facts in every challenge's statement and hints; returns how many
/// challenges were read. A missing challenges folder is not the lessons' problem.
fn check_challenges(root: &Path, lessons: &[Lesson], problems: &mut Vec<Problem>) -> usize {
    if !root.is_dir() {
        return 0;
    }
    let all = match petri_grader::challenge::load_all(root) {
        Ok(all) => all,
        Err(e) => {
            problems.push(Problem {
                file: root.to_path_buf(),
                line: 1,
                message: e.to_string(),
            });
            return 0;
        }
    };
    for c in &all {
        if crate::course::part_named(lessons, &c.part).is_none() {
            problems.push(Problem {
                file: c.dir.join("challenge.toml"),
                line: 1,
                message: format!(
                    "part '{}' is not the name of a lesson's part ({})",
                    c.part,
                    part_names(lessons)
                ),
            });
        }
        // The hints (in challenge.toml) are read after the statement, about the same data.
        let mut preceding = String::new();
        for file in [c.dir.join(&c.statement), c.dir.join("challenge.toml")] {
            match std::fs::read_to_string(&file) {
                Ok(text) => {
                    problems.extend(facts::check_text_after(
                        &file,
                        &text,
                        &COURSE_FACTS,
                        &preceding,
                    ));
                    preceding = text;
                }
                Err(e) => problems.push(Problem {
                    file,
                    line: 1,
                    message: format!("cannot read: {e}"),
                }),
            }
        }
    }
    all.len()
}

fn find(dir: Option<&Path>, part: &str) -> Result<Lesson> {
    let all = lessons::load_ok(dir)?;
    match lessons::find(&all, part) {
        Some(l) => Ok(l.clone()),
        None => {
            let ids: Vec<&str> = all.iter().map(|l| l.part.id.as_str()).collect();
            bail!("no lesson '{part}'; lessons are: {}", ids.join(", "))
        }
    }
}

pub fn lesson(dir: Option<&Path>, part: &str, state: &Path) -> Result<()> {
    let l = find(dir, part)?;
    crate::outln!(
        "{}\n{}\n",
        l.part.title,
        "=".repeat(l.part.title.chars().count())
    )?;
    crate::outln!("{}", l.body)?;
    let path = paths::progress_file(state);
    Progress::update(&path, |p| p.part(&l.part.id).lesson_read = true)?;
    Ok(())
}

/// Reads an answer typed as shown positions (1-based) and returns it as option indices.
fn parse_answer(q: &Question, order: &[usize], line: &str) -> Option<Answer> {
    let line = line.trim();
    match q.kind {
        QuestionKind::Numeric => line.parse::<f64>().ok().map(Answer::Number),
        _ => {
            let picks: Option<Vec<usize>> = line
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<usize>()
                        .ok()
                        .filter(|&n| n >= 1 && n <= order.len())
                        .map(|n| order[n - 1])
                })
                .collect();
            let picks = picks.filter(|p| !p.is_empty())?;
            (q.kind == QuestionKind::Multiple || picks.len() == 1).then_some(Answer::Choices(picks))
        }
    }
}

/// Runs a knowledge check line by line on stdin/stdout.
pub fn quiz(dir: Option<&Path>, part: &str, state: &Path, fresh: bool) -> Result<()> {
    let l = find(dir, part)?;
    let path = paths::progress_file(state);
    let mut progress = Progress::load(&path)?;
    let seed = if fresh {
        progress.fresh_quiz(&path, &l.part.id)?
    } else {
        progress.quiz_seed(&path, &l.part.id)?
    };
    let total = l.check.len();
    crate::outln!("Knowledge check: {} ({total} questions)\n", l.part.title)?;
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut right = 0;
    for (n, q) in l.check.iter().enumerate() {
        crate::outln!("Question {} of {total}\n{}", n + 1, q.prompt.trim_end())?;
        let order = q.shown_order(seed);
        // Where each option is shown, for feedback in the student's numbering.
        let shown_at = |i: usize| order.iter().position(|&o| o == i).map_or(0, |p| p + 1);
        for (p, &i) in order.iter().enumerate() {
            crate::outln!("  {}. {}", p + 1, q.options[i].text)?;
        }
        let hint = match q.kind {
            QuestionKind::Single => "your answer (a number)",
            QuestionKind::Multiple => "your answers (numbers separated by commas)",
            QuestionKind::Numeric => "your answer (a number)",
        };
        let answer = loop {
            crate::out!("{hint}> ")?;
            std::io::stdout().flush()?;
            let Some(line) = lines.next().transpose()? else {
                crate::outln!("\nStopped; your answers so far are saved.")?;
                return Ok(());
            };
            match parse_answer(q, &order, &line) {
                Some(a) => break a,
                None => crate::outln!("  That is not an answer to this question; try again.")?,
            }
        };
        let correct = q.is_correct(&answer);
        right += correct as usize;
        progress.record_answer(&path, &l.part.id, &q.id, correct, total)?;
        crate::outln!("{}", if correct { "Correct." } else { "Not quite." })?;
        match &answer {
            Answer::Choices(picks) => {
                for &i in picks {
                    if let Some(f) = &q.options[i].feedback {
                        crate::outln!("  {}: {f}", shown_at(i))?;
                    }
                }
                if !correct {
                    let mut c: Vec<usize> =
                        q.correct_options().iter().map(|&i| shown_at(i)).collect();
                    c.sort_unstable();
                    let c: Vec<String> = c.iter().map(usize::to_string).collect();
                    crate::outln!("  The right answer: {}", c.join(", "))?;
                }
            }
            Answer::Number(_) => {
                if !correct {
                    crate::outln!(
                        "  The right answer: {} {}",
                        q.answer.unwrap_or(f64::NAN),
                        q.unit.as_deref().unwrap_or("")
                    )?;
                }
            }
        }
        if let Some(e) = &q.explanation {
            crate::outln!("  {}", e.trim())?;
        }
        crate::outln!()?;
    }
    crate::outln!(
        "Score: {right} of {total}. Saved to {}. `petri quiz {part}` retakes it in the same order; \
         add --fresh for a new attempt.",
        path.display()
    )?;
    Ok(())
}

fn part_names(lessons: &[Lesson]) -> String {
    lessons
        .iter()
        .map(|l| l.part.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The parts the lessons' front matter defines: names unique and lower case, datasets known,
/// and every lesson `identify` cites among them.
fn check_parts(lessons: &[Lesson]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let file = |l: &Lesson| l.dir.join("lesson.md");
    for (i, l) in lessons.iter().enumerate() {
        let p = &l.part;
        if p.name.is_empty() || p.name != p.name.to_ascii_lowercase() || p.name.contains(' ') {
            problems.push(Problem {
                file: file(l),
                line: 2,
                message: format!("name '{}' must be one lower-case word", p.name),
            });
        }
        if let Some(other) = lessons[..i].iter().find(|o| o.part.name == p.name) {
            problems.push(Problem {
                file: file(l),
                line: 2,
                message: format!("name '{}' is also the name of {}", p.name, other.part.id),
            });
        }
    }
    for (part, heading) in petri_engine::train::coach::SECTIONS_CITED {
        let found = crate::course::part_named(lessons, part).is_some_and(|_| {
            lessons.iter().any(|l| {
                l.part.name == part
                    && l.body
                        .lines()
                        .any(|line| line.trim_start_matches('#').trim() == heading)
            })
        });
        if !found {
            problems.push(Problem {
                file: std::path::PathBuf::from("engine/src/train/coach.rs"),
                line: 1,
                message: format!(
                    "the coach cites the section '{heading}' of lesson '{part}', which has no such heading"
                ),
            });
        }
    }
    let folded = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    for (_, part, phrase) in petri_engine::experiment::expected::CLAIMS {
        let found = lessons
            .iter()
            .any(|l| l.part.name == part && folded(&l.body).contains(phrase));
        if !found {
            problems.push(Problem {
                file: std::path::PathBuf::from("engine/src/experiment/expected.rs"),
                line: 1,
                message: format!(
                    "a finished run is checked against \"{phrase}\", which lesson '{part}' no longer says"
                ),
            });
        }
    }
    for cited in petri_engine::identify::LESSONS_CITED {
        if crate::course::part_named(lessons, cited).is_none() {
            problems.push(Problem {
                file: std::path::PathBuf::from("engine/src/identify/mod.rs"),
                line: 1,
                message: format!(
                    "identify cites the lesson '{cited}', which no lesson's part is named ({})",
                    part_names(lessons)
                ),
            });
        }
    }
    problems
}
