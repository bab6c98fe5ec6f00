//! Reports of a grading run, each written atomically: Gradescope `results.json` (one per
//! submission), JUnit XML, JSON lines and a CSV gradebook (one per batch).

use crate::grade::SubmissionResult;
use petri_engine::atomic::{write_atomic, write_json_atomic};
use petri_engine::{Error, Result};
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Gradescope,
    Junit,
    Json,
    Csv,
}

impl Format {
    pub fn parse_list(s: &str) -> Result<Vec<Format>> {
        s.split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(|f| match f {
                "gradescope" => Ok(Format::Gradescope),
                "junit" => Ok(Format::Junit),
                "json" | "jsonl" => Ok(Format::Json),
                "csv" => Ok(Format::Csv),
                other => Err(Error::invalid(format!(
                    "unknown report format '{other}': use gradescope, junit, json, csv (comma-separated)"
                ))),
            })
            .collect()
    }
}

/// Gradescope's results.json for one submission.
pub fn gradescope(r: &SubmissionResult) -> serde_json::Value {
    let tests: Vec<_> = r
        .checks
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "number": c.id,
                "score": c.score,
                "max_score": c.max_score,
                "status": if c.score >= c.max_score { "passed" } else { "failed" },
                "output": c.output,
                "visibility": if c.visible { "visible" } else { "after_published" },
            })
        })
        .collect();
    let mut v = json!({
        "score": r.score,
        "output": if r.notes.is_empty() { String::new() } else { format!("Grader notes: {}", r.notes.join("; ")) },
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    });
    if let Some(l) = &r.leaderboard {
        v["leaderboard"] = json!([{ "name": l.name, "value": l.value, "order": l.order }]);
    }
    v
}

fn xml_escape(s: &str) -> String {
    s.chars()
        .filter(|&c| c == '\n' || c == '\t' || !c.is_control())
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&apos;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// JUnit XML: one test suite per submission, one test case per check; a check short of full
/// marks is a failure whose message holds the score.
pub fn junit(results: &[SubmissionResult]) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let failures: usize = results
        .iter()
        .flat_map(|r| &r.checks)
        .filter(|c| c.score < c.max_score)
        .count();
    let tests: usize = results.iter().map(|r| r.checks.len()).sum();
    s.push_str(&format!(
        "<testsuites name=\"petri grade\" tests=\"{tests}\" failures=\"{failures}\">\n"
    ));
    for r in results {
        let f = r.checks.iter().filter(|c| c.score < c.max_score).count();
        s.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" time=\"{:.3}\">\n",
            xml_escape(&format!("{} / {}", r.challenge, r.submission)),
            r.checks.len(),
            r.seconds
        ));
        s.push_str(&format!(
            "    <properties><property name=\"score\" value=\"{}\"/><property name=\"max_score\" value=\"{}\"/></properties>\n",
            r.score, r.max_score
        ));
        for c in &r.checks {
            s.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\">\n",
                xml_escape(&r.submission),
                xml_escape(&c.name)
            ));
            if c.score < c.max_score {
                s.push_str(&format!(
                    "      <failure message=\"{} of {} points\">{}</failure>\n",
                    c.score,
                    c.max_score,
                    xml_escape(&c.output)
                ));
            } else {
                s.push_str(&format!(
                    "      <system-out>{}</system-out>\n",
                    xml_escape(&c.output)
                ));
            }
            s.push_str("    </testcase>\n");
        }
        s.push_str("  </testsuite>\n");
    }
    s.push_str("</testsuites>\n");
    s
}

/// CSV gradebook: one row per submission, one column per check.
pub fn gradebook(results: &[SubmissionResult]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let ids: Vec<String> = results
        .first()
        .map(|r| r.checks.iter().map(|c| c.id.clone()).collect())
        .unwrap_or_default();
    let mut header = vec![
        "submission".to_string(),
        "challenge".into(),
        "score".into(),
        "max_score".into(),
    ];
    header.extend(ids.iter().cloned());
    header.push("leaderboard".into());
    let err = |e: csv::Error| Error::invalid(format!("cannot write the gradebook: {e}"));
    w.write_record(&header).map_err(err)?;
    for r in results {
        let mut row = vec![
            r.submission.clone(),
            r.challenge.clone(),
            r.score.to_string(),
            r.max_score.to_string(),
        ];
        for id in &ids {
            row.push(
                r.checks
                    .iter()
                    .find(|c| &c.id == id)
                    .map_or(String::new(), |c| c.score.to_string()),
            );
        }
        row.push(
            r.leaderboard
                .as_ref()
                .map_or(String::new(), |l| format!("{}", l.value)),
        );
        w.write_record(&row).map_err(err)?;
    }
    w.into_inner().map_err(|e| Error::invalid(e.to_string()))
}

/// Writes the requested formats under `out`; returns the files written. Gradescope gets
/// `out/results.json` for a single submission (the autograder's layout), else one folder per
/// submission.
pub fn write(out: &Path, results: &[SubmissionResult], formats: &[Format]) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let mut written = Vec::new();
    for f in formats {
        match f {
            Format::Gradescope if results.len() == 1 => {
                let p = out.join("results.json");
                write_json_atomic(&p, &gradescope(&results[0]))?;
                written.push(p);
            }
            Format::Gradescope => {
                for r in results {
                    let dir = out.join("gradescope").join(&r.submission);
                    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                    let p = dir.join("results.json");
                    write_json_atomic(&p, &gradescope(r))?;
                    written.push(p);
                }
            }
            Format::Junit => {
                let p = out.join("junit.xml");
                write_atomic(&p, junit(results).as_bytes())?;
                written.push(p);
            }
            Format::Json => {
                let p = out.join("results.jsonl");
                let mut body = String::new();
                for r in results {
                    body.push_str(
                        &serde_json::to_string(r).map_err(|e| Error::invalid(e.to_string()))?,
                    );
                    body.push('\n');
                }
                write_atomic(&p, body.as_bytes())?;
                written.push(p);
            }
            Format::Csv => {
                let p = out.join("gradebook.csv");
                write_atomic(&p, &gradebook(results)?)?;
                written.push(p);
            }
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grade::{CheckResult, Leaderboard};

    fn result() -> SubmissionResult {
        SubmissionResult {
            submission: "ada <x>".into(),
            challenge: "segmentation/dice".into(),
            score: 3.0,
            max_score: 5.0,
            checks: vec![
                CheckResult {
                    id: "a".into(),
                    name: "example".into(),
                    score: 2.0,
                    max_score: 2.0,
                    visible: true,
                    output: "ok".into(),
                },
                CheckResult {
                    id: "b".into(),
                    name: "hidden & random".into(),
                    score: 1.0,
                    max_score: 3.0,
                    visible: false,
                    output: "1 of 3 \"cases\"".into(),
                },
            ],
            leaderboard: Some(Leaderboard {
                name: "RMSE".into(),
                value: 0.1,
                order: "asc",
            }),
            notes: vec![],
            seconds: 1.0,
        }
    }

    #[test]
    fn gradescope_marks_hidden_checks_after_published_and_has_a_leaderboard() {
        let v = gradescope(&result());
        assert_eq!(v["score"], 3.0);
        assert_eq!(v["tests"][0]["status"], "passed");
        assert_eq!(v["tests"][1]["status"], "failed");
        assert_eq!(v["tests"][1]["visibility"], "after_published");
        assert_eq!(v["leaderboard"][0]["order"], "asc");
    }

    #[test]
    fn junit_escapes_and_counts_failures() {
        let x = junit(&[result()]);
        assert!(x.contains("failures=\"1\""));
        assert!(x.contains("ada &lt;x&gt;"));
        assert!(x.contains("hidden &amp; random"));
        assert!(!x.contains("\"cases\"<"));
    }

    #[test]
    fn gradebook_has_a_column_per_check() {
        let csv = String::from_utf8(gradebook(&[result()]).unwrap()).unwrap();
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some("submission,challenge,score,max_score,a,b,leaderboard")
        );
        assert_eq!(lines.next(), Some("ada <x>,segmentation/dice,3,5,2,1,0.1"));
    }
}
