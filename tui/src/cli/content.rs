//! `petri content check`, `petri lesson`, `petri quiz`: the course content without the
//! full-screen tutor. Quiz answers are saved one by one, exactly as the tutor saves them.

use crate::{lessons, paths};
use anyhow::{Result, bail};
use petri_engine::content::{Answer, Lesson, Question, QuestionKind, check_lesson};
use petri_engine::progress::Progress;
use std::io::{BufRead, Write};
use std::path::Path;

/// Parses every lesson and check; prints each problem as `file:line: message`.
pub fn check(dir: Option<&Path>, command_ok: &dyn Fn(&str) -> Result<(), String>) -> Result<()> {
    let mut problems = Vec::new();
    let mut lessons_n = 0;
    let mut questions = 0;
    for lesson in lessons::load(dir)? {
        match lesson {
            Ok(l) => {
                lessons_n += 1;
                questions += l.check.len();
                problems.extend(check_lesson(&l, command_ok));
            }
            Err(p) => problems.push(p),
        }
    }
    for p in &problems {
        eprintln!("{p}");
    }
    if !problems.is_empty() {
        bail!("{} problem(s) in the course content", problems.len());
    }
    println!("content ok: {lessons_n} lessons, {questions} questions");
    Ok(())
}

fn find(dir: Option<&Path>, part: &str) -> Result<Lesson> {
    let all = lessons::load_ok(dir)?;
    match lessons::find(&all, part) {
        Some(l) => Ok(l.clone()),
        None => {
            let ids: Vec<&str> = all.iter().map(|l| l.meta.id.as_str()).collect();
            bail!("no lesson '{part}'; lessons are: {}", ids.join(", "))
        }
    }
}

pub fn lesson(dir: Option<&Path>, part: &str, state: &Path) -> Result<()> {
    let l = find(dir, part)?;
    println!(
        "{}\n{}\n",
        l.meta.title,
        "=".repeat(l.meta.title.chars().count())
    );
    println!("{}", l.body);
    let path = paths::progress_file(state);
    let mut progress = Progress::load(&path)?;
    progress.part(&l.meta.id).lesson_read = true;
    progress.save(&path)?;
    Ok(())
}

fn parse_answer(q: &Question, line: &str) -> Option<Answer> {
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
                        .filter(|&n| n >= 1 && n <= q.options.len())
                        .map(|n| n - 1)
                })
                .collect();
            let picks = picks.filter(|p| !p.is_empty())?;
            (q.kind == QuestionKind::Multiple || picks.len() == 1).then_some(Answer::Choices(picks))
        }
    }
}

/// Runs a knowledge check line by line on stdin/stdout.
pub fn quiz(dir: Option<&Path>, part: &str, state: &Path) -> Result<()> {
    let l = find(dir, part)?;
    let path = paths::progress_file(state);
    let mut progress = Progress::load(&path)?;
    let total = l.check.len();
    println!("Knowledge check: {} ({total} questions)\n", l.meta.title);
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut right = 0;
    for (n, q) in l.check.iter().enumerate() {
        println!("Question {} of {total}\n{}", n + 1, q.prompt.trim_end());
        for (i, o) in q.options.iter().enumerate() {
            println!("  {}. {}", i + 1, o.text);
        }
        let hint = match q.kind {
            QuestionKind::Single => "your answer (a number)",
            QuestionKind::Multiple => "your answers (numbers separated by commas)",
            QuestionKind::Numeric => "your answer (a number)",
        };
        let answer = loop {
            print!("{hint}> ");
            std::io::stdout().flush()?;
            let Some(line) = lines.next().transpose()? else {
                println!("\nStopped; your answers so far are saved.");
                return Ok(());
            };
            match parse_answer(q, &line) {
                Some(a) => break a,
                None => println!("  That is not an answer to this question; try again."),
            }
        };
        let correct = q.is_correct(&answer);
        right += correct as usize;
        progress.record_answer(&path, &l.meta.id, &q.id, correct, total)?;
        println!("{}", if correct { "Correct." } else { "Not quite." });
        match &answer {
            Answer::Choices(picks) => {
                for &p in picks {
                    if let Some(f) = &q.options[p].feedback {
                        println!("  {}: {f}", p + 1);
                    }
                }
                if !correct {
                    let c: Vec<String> = q
                        .correct_options()
                        .iter()
                        .map(|i| (i + 1).to_string())
                        .collect();
                    println!("  The right answer: {}", c.join(", "));
                }
            }
            Answer::Number(_) => {
                if !correct {
                    println!(
                        "  The right answer: {} {}",
                        q.answer.unwrap_or(f64::NAN),
                        q.unit.as_deref().unwrap_or("")
                    );
                }
            }
        }
        if let Some(e) = &q.explanation {
            println!("  {}", e.trim());
        }
        println!();
    }
    println!("Score: {right} of {total}. Saved to {}", path.display());
    Ok(())
}
