//! Reports of a grading run, kept current as submissions finish: JSON lines (appended),
//! Gradescope `results.json` (one per submission), JUnit XML and a CSV gradebook (rewritten
//! atomically). A submission the grader could not grade is an error in every format, never 0.

use crate::result::{Lost, SubmissionResult};
use petri_engine::atomic::{write_atomic, write_json_atomic};
use petri_engine::{Error, Result};
use serde_json::json;
use std::collections::BTreeMap;
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

/// Gradescope's results.json for one graded submission. An ungraded one gets none: Gradescope
/// then says the autograder failed (and shows the reason the grader printed), where any
/// results.json would put a score on the student's page.
pub fn gradescope(r: &SubmissionResult) -> Option<serde_json::Value> {
    let score = r.score?;
    let tests: Vec<_> = r
        .checks
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "number": c.id,
                "score": c.score.unwrap_or(0.0),
                "max_score": c.max_score,
                "status": if c.passed() { "passed" } else { "failed" },
                "output": c.output,
                "visibility": if c.visible { "visible" } else { "after_published" },
            })
        })
        .collect();
    let mut v = json!({
        "score": score,
        "execution_time": r.seconds,
        "output": if r.notes.is_empty() { String::new() } else { format!("Grader notes: {}", r.notes.join("; ")) },
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    });
    if let Some(l) = &r.leaderboard {
        v["leaderboard"] = json!([{ "name": l.name, "value": l.value, "order": l.order }]);
    }
    Some(v)
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

/// `secs` since the Unix epoch as ISO 8601 UTC (`2026-12-01T11:42:26`), JUnit's timestamp.
pub fn iso_utc(secs: u64) -> String {
    // Days to civil date: Howard Hinnant's algorithm (proleptic Gregorian).
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// JUnit XML: one test suite per submission, one test case per check. A check short of full
/// marks is a `<failure>` whose message holds the score; a submission the grader could not
/// grade has an `<error>` in every case (the grader's fault, not a failed test).
/// `title` names the run (`petri grade`, or a partial merge with what it lacks).
pub fn junit(results: &[SubmissionResult], title: &str) -> String {
    let short = |c: &crate::result::CheckResult| c.score.is_some() && !c.passed();
    let erred = |c: &crate::result::CheckResult| c.score.is_none();
    let all = || results.iter().flat_map(|r| &r.checks);
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str(&format!(
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3}\">\n",
        xml_escape(title),
        all().count(),
        all().filter(|c| short(c)).count(),
        all().filter(|c| erred(c)).count(),
        results.iter().map(|r| r.seconds).sum::<f64>()
    ));
    for r in results {
        s.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\" time=\"{:.3}\" timestamp=\"{}\">\n",
            xml_escape(&format!("{} / {}", r.challenge, r.submission)),
            r.checks.len(),
            r.checks.iter().filter(|c| short(c)).count(),
            r.checks.iter().filter(|c| erred(c)).count(),
            r.seconds,
            iso_utc(r.graded_at),
        ));
        s.push_str(&format!(
            "    <properties><property name=\"score\" value=\"{}\"/><property name=\"max_score\" value=\"{}\"/></properties>\n",
            r.score.map_or("not graded".to_string(), |v| v.to_string()),
            r.max_score
        ));
        for c in &r.checks {
            // A check's time is its cases' as the harness measured them; where the work of
            // the checks cannot be told apart (a build that failed, a trained model serving
            // several checks), no time is made up: the suite's time is the whole submission's.
            let time = c
                .seconds
                .map_or(String::new(), |t| format!(" time=\"{t:.6}\""));
            s.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\"{time}>\n",
                xml_escape(&r.submission),
                xml_escape(&c.name)
            ));
            match c.score {
                None => s.push_str(&format!(
                    "      <error type=\"grader\" message=\"not graded: the grader's fault, not the submission's\">{}</error>\n",
                    xml_escape(r.error.as_deref().unwrap_or(&c.output))
                )),
                Some(score) if !c.passed() => s.push_str(&format!(
                    "      <failure type=\"{}\" message=\"{score} of {} points: {}\">{}</failure>\n",
                    c.lost.unwrap_or(Lost::WrongAnswer).label(),
                    c.max_score,
                    c.lost.unwrap_or(Lost::WrongAnswer).label(),
                    xml_escape(&c.output)
                )),
                Some(_) => s.push_str(&format!(
                    "      <system-out>{}</system-out>\n",
                    xml_escape(&c.output)
                )),
            }
            s.push_str("    </testcase>\n");
        }
        s.push_str("  </testsuite>\n");
    }
    s.push_str("</testsuites>\n");
    s
}

/// A text cell a spreadsheet will not run: one starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return is a formula to Excel, LibreOffice and Google Sheets even when quoted, so
/// it gets a leading `'` (OWASP's advice for CSV injection).
pub fn spreadsheet_text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// CSV gradebook: one row per submission, one column per check. An ungraded submission has
/// empty score cells (a spreadsheet sums it as nothing, a gradebook import refuses it) and
/// its reason in `error`.
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
    header.extend(ids.iter().map(|id| spreadsheet_text(id)));
    header.push("leaderboard".into());
    header.push("lost".into());
    header.push("error".into());
    let err = |e: csv::Error| Error::invalid(format!("cannot write the gradebook: {e}"));
    w.write_record(&header).map_err(err)?;
    let number = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    for r in results {
        let mut row = vec![
            spreadsheet_text(&r.submission),
            spreadsheet_text(&r.challenge),
            number(r.score),
            r.max_score.to_string(),
        ];
        for id in &ids {
            row.push(number(
                r.checks.iter().find(|c| &c.id == id).and_then(|c| c.score),
            ));
        }
        row.push(number(r.leaderboard.as_ref().map(|l| l.value)));
        row.push(spreadsheet_text(&lost_points(r)));
        row.push(spreadsheet_text(r.error.as_deref().unwrap_or("")));
        w.write_record(&row).map_err(err)?;
    }
    w.into_inner().map_err(|e| Error::invalid(e.to_string()))
}

/// Every lost point with its reason, one check after another: "random: 2.5 of 5 points lost,
/// wrong answer (3 of 6 cases right; ...)". Empty at full marks and for ungraded submissions
/// (the `error` column says why those have no score).
pub fn lost_points(r: &SubmissionResult) -> String {
    r.checks
        .iter()
        .filter_map(|c| {
            let score = c.score?;
            let missing = c.max_score - score;
            (missing > 0.0).then(|| {
                let detail: String = c
                    .output
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .take(160)
                    .collect();
                format!(
                    "{}: {missing} of {} points lost, {} ({detail})",
                    c.id,
                    c.max_score,
                    c.lost.unwrap_or(Lost::WrongAnswer).label()
                )
            })
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// What a check covered and what waits for the instructor's grading: the visible checks'
/// points are often a small share, and "all pass" would promise what hidden checks decide.
pub fn check_summary(c: &crate::Challenge, r: &SubmissionResult) -> String {
    let visible: Vec<_> = r.checks.iter().filter(|k| k.visible).collect();
    let passed = visible.iter().filter(|k| k.passed()).count();
    let checked: f64 = visible.iter().map(|k| k.max_score).sum();
    let hidden: Vec<_> = c.checks.iter().filter(|k| !k.visible).collect();
    let hidden_points: f64 = hidden.iter().map(|k| k.points).sum();
    let mut s = format!(
        "Checked here: {passed} of {} visible check(s) at full marks, {} of the challenge's {} points.",
        visible.len(),
        r.score
            .map_or("none".to_string(), |v| format!("{v:.2} of {checked}")),
        c.max_points()
    );
    if !hidden.is_empty() {
        let names: Vec<&str> = hidden.iter().map(|k| k.name.as_str()).collect();
        s.push_str(&format!(
            "\nNot checked here: {hidden_points} points of hidden checks, scored when your instructor grades: {}.",
            names.join("; ")
        ));
    }
    s
}

/// Where Gradescope's results.json of `r` goes: `out/results.json` when grading a single
/// submission (the autograder's layout), else one folder per submission.
fn gradescope_path(out: &Path, r: &SubmissionResult, single: bool) -> PathBuf {
    if single {
        out.join("results.json")
    } else {
        out.join("gradescope")
            .join(&r.submission)
            .join("results.json")
    }
}

/// Reads a results.jsonl; a torn last line (the run was killed while appending) is skipped.
pub fn read_journal(path: &Path) -> Result<Vec<SubmissionResult>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(path, e)),
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        match serde_json::from_str(line) {
            Ok(r) => out.push(r),
            Err(_) if i + 1 == lines.len() => {}
            Err(e) => {
                return Err(Error::invalid(format!(
                    "{} line {}: not a result of `petri grade` ({e})",
                    path.display(),
                    i + 1
                )));
            }
        }
    }
    Ok(out)
}

/// The reports of one grading run, kept current as submissions finish: `results.jsonl` (always
/// written: it is what `--resume`, `--only` and `petri grade-merge` read) gets a line per
/// finished submission, and the other formats are rewritten atomically after each one. A run
/// killed at submission 190 of 200 leaves 189 graded in every report.
pub struct Reports {
    out: PathBuf,
    formats: Vec<Format>,
    /// By submission name: reports list submissions in name order, so a merge of shards equals
    /// one machine's run.
    results: BTreeMap<String, SubmissionResult>,
    /// Gradescope's single-submission layout (`out/results.json`).
    single: bool,
    /// What a partial merge of shards lacks (`petri grade-merge --partial`); empty otherwise.
    partial: Vec<String>,
}

impl Reports {
    /// Opens the reports in `out` for `challenge`. With `keep`, the results already there are
    /// kept (resuming, regrading some); without, the run starts empty.
    pub fn open(
        out: &Path,
        challenge: &str,
        formats: &[Format],
        keep: bool,
        single: bool,
    ) -> Result<Reports> {
        std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        let mut results = BTreeMap::new();
        let journal = out.join("results.jsonl");
        if keep {
            for r in read_journal(&journal)? {
                if r.challenge != challenge {
                    return Err(Error::invalid(format!(
                        "{} holds results of '{}', not '{challenge}': give another --out",
                        out.display(),
                        r.challenge
                    )));
                }
                results.insert(r.submission.clone(), r);
            }
        }
        let reports = Reports {
            out: out.to_path_buf(),
            formats: formats.to_vec(),
            results,
            single,
            partial: Vec::new(),
        };
        // The journal now holds exactly what is kept.
        reports.write_journal()?;
        Ok(reports)
    }

    /// The recorded result of `submission`, if any.
    pub fn get(&self, submission: &str) -> Option<&SubmissionResult> {
        self.results.get(submission)
    }

    /// Every recorded result, in submission order.
    pub fn results(&self) -> Vec<SubmissionResult> {
        self.results.values().cloned().collect()
    }

    /// Records a finished submission: one line appended to results.jsonl, then the other
    /// reports rewritten.
    pub fn record(&mut self, r: SubmissionResult) -> Result<()> {
        let journal = self.out.join("results.jsonl");
        let mut line = serde_json::to_string(&r).map_err(|e| Error::invalid(e.to_string()))?;
        line.push('\n');
        {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&journal)
                .map_err(|e| Error::io(&journal, e))?;
            f.write_all(line.as_bytes())
                .and_then(|()| f.sync_data())
                .map_err(|e| Error::io(&journal, e))?;
        }
        if self.formats.contains(&Format::Gradescope) {
            let p = gradescope_path(&self.out, &r, self.single);
            match gradescope(&r) {
                Some(v) => {
                    if let Some(dir) = p.parent() {
                        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                    }
                    write_json_atomic(&p, &v)?;
                }
                // A regrade that now fails must not leave the old score standing.
                None => {
                    let _ = std::fs::remove_file(&p);
                }
            }
        }
        self.results.insert(r.submission.clone(), r);
        self.write_batch()
    }

    /// The batch-wide formats (JUnit, CSV) from every recorded result.
    fn write_batch(&self) -> Result<()> {
        let all = self.results();
        if self.formats.contains(&Format::Junit) {
            let title = if self.partial.is_empty() {
                "petri grade".to_string()
            } else {
                format!("petri grade (PARTIAL merge: {})", self.partial.join("; "))
            };
            write_atomic(&self.out.join("junit.xml"), junit(&all, &title).as_bytes())?;
        }
        if self.formats.contains(&Format::Csv) {
            write_atomic(&self.out.join("gradebook.csv"), &gradebook(&all)?)?;
        }
        Ok(())
    }

    fn write_journal(&self) -> Result<()> {
        let mut body = String::new();
        for r in self.results.values() {
            body.push_str(&serde_json::to_string(r).map_err(|e| Error::invalid(e.to_string()))?);
            body.push('\n');
        }
        write_atomic(&self.out.join("results.jsonl"), body.as_bytes())
    }

    /// Ends the run: results.jsonl rewritten with one line per submission in name order, every
    /// report current. Returns the files that hold the reports.
    pub fn finish(&self) -> Result<Vec<PathBuf>> {
        self.write_journal()?;
        self.write_batch()?;
        let mut written = vec![self.out.join("results.jsonl")];
        for f in &self.formats {
            match f {
                Format::Gradescope => written.extend(
                    self.results
                        .values()
                        .map(|r| gradescope_path(&self.out, r, self.single))
                        .filter(|p| p.is_file()),
                ),
                Format::Junit => written.push(self.out.join("junit.xml")),
                Format::Csv => written.push(self.out.join("gradebook.csv")),
                Format::Json => {}
            }
        }
        Ok(written)
    }

    /// Writes every result of `results` as one run's reports (what `petri grade-merge` does
    /// with shards' journals). `partial` says what the shards lack when the merge was told to go
    /// on without it; the reports say so (`merge.json`, JUnit's title).
    pub fn write_all(
        out: &Path,
        challenge: &str,
        formats: &[Format],
        results: Vec<SubmissionResult>,
        partial: Vec<String>,
    ) -> Result<Vec<PathBuf>> {
        let single = results.len() == 1;
        let mut reports = Reports::open(out, challenge, formats, false, single)?;
        reports.partial = partial;
        write_json_atomic(
            &out.join("merge.json"),
            &json!({ "partial": !reports.partial.is_empty(), "missing": reports.partial }),
        )?;
        for r in results {
            if reports.results.contains_key(&r.submission) {
                return Err(Error::invalid(format!(
                    "submission '{}' is in two of the reports being merged: each submission belongs to one shard",
                    r.submission
                )));
            }
            reports.record(r)?;
        }
        let mut written = reports.finish()?;
        written.push(out.join("merge.json"));
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{CheckResult, Leaderboard, Order};

    fn check(id: &str, name: &str, score: Option<f64>, max: f64, output: &str) -> CheckResult {
        CheckResult {
            id: id.into(),
            name: name.into(),
            score,
            max_score: max,
            visible: id == "a",
            output: output.into(),
            lost: score.filter(|&s| s < max).map(|_| Lost::WrongAnswer),
            seconds: Some(0.25),
        }
    }

    fn result() -> SubmissionResult {
        SubmissionResult {
            submission: "ada <x>".into(),
            challenge: "segmentation/dice".into(),
            score: Some(3.0),
            max_score: 5.0,
            checks: vec![
                check("a", "example", Some(2.0), 2.0, "ok"),
                check("b", "hidden & random", Some(1.0), 3.0, "1 of 3 \"cases\""),
            ],
            leaderboard: Some(Leaderboard {
                name: "RMSE".into(),
                value: 0.1,
                order: Order::Asc,
            }),
            notes: vec![],
            seconds: 1.0,
            graded_at: 1_796_125_346,
            error: None,
            digest: String::new(),
        }
    }

    fn ungraded(name: &str) -> SubmissionResult {
        SubmissionResult {
            submission: name.into(),
            score: None,
            checks: vec![
                check("a", "example", None, 2.0, "not graded: no Rust toolchain"),
                check(
                    "b",
                    "hidden & random",
                    None,
                    3.0,
                    "not graded: no Rust toolchain",
                ),
            ],
            leaderboard: None,
            error: Some("no Rust toolchain".into()),
            ..result()
        }
    }

    #[test]
    fn gradescope_marks_hidden_checks_after_published_and_has_a_leaderboard() {
        let v = gradescope(&result()).unwrap();
        assert_eq!(v["score"], 3.0);
        assert_eq!(v["tests"][0]["status"], "passed");
        assert_eq!(v["tests"][1]["status"], "failed");
        assert_eq!(v["tests"][1]["visibility"], "after_published");
        assert_eq!(v["leaderboard"][0]["order"], "asc");
        assert!(
            gradescope(&ungraded("bob")).is_none(),
            "no score for a grader fault"
        );
    }

    #[test]
    fn junit_escapes_counts_failures_and_reports_grader_faults_as_errors() {
        let x = junit(&[result(), ungraded("bob")], "petri grade");
        assert!(
            x.contains("<testsuites name=\"petri grade\" tests=\"4\" failures=\"1\" errors=\"2\""),
            "{x}"
        );
        assert!(x.contains("ada &lt;x&gt;"));
        assert!(x.contains("hidden &amp; random"));
        assert!(!x.contains("\"cases\"<"));
        assert!(x.contains("timestamp=\"2026-12-01T11:42:26\""), "{x}");
        // Each check's own measured time, not the submission's split evenly.
        assert!(
            x.contains("<testcase classname=\"ada &lt;x&gt;\" name=\"example\" time=\"0.250000\">"),
            "{x}"
        );
        assert!(
            x.contains("<failure type=\"wrong answer\" message=\"1 of 3 points: wrong answer\">"),
            "{x}"
        );
        assert_eq!(x.matches("<error type=\"grader\"").count(), 2);
    }

    #[test]
    fn gradebook_has_a_column_per_check_and_blank_scores_for_grader_faults() {
        let csv = String::from_utf8(gradebook(&[result(), ungraded("bob")]).unwrap()).unwrap();
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some("submission,challenge,score,max_score,a,b,leaderboard,lost,error")
        );
        assert_eq!(
            lines.next(),
            Some(
                "ada <x>,segmentation/dice,3,5,2,1,0.1,\"b: 2 of 3 points lost, wrong answer (1 of 3 \"\"cases\"\")\","
            )
        );
        assert_eq!(
            lines.next(),
            Some("bob,segmentation/dice,,5,,,,,no Rust toolchain")
        );
    }

    #[test]
    fn gradebook_cells_are_never_formulas() {
        for name in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+1",
            "-1+2",
            "@SUM(A1)",
            "\tx",
        ] {
            let mut r = result();
            r.submission = name.into();
            let csv = String::from_utf8(gradebook(&[r]).unwrap()).unwrap();
            let row = csv.lines().nth(1).unwrap();
            let mut reader = csv::Reader::from_reader(csv.as_bytes());
            let first = reader.records().next().unwrap().unwrap()[0].to_string();
            assert_eq!(first, format!("'{name}"), "{row}");
        }
    }

    #[test]
    fn timestamps_are_iso_utc() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00");
        assert_eq!(iso_utc(951_782_400), "2000-02-29T00:00:00");
        assert_eq!(iso_utc(1_796_125_346), "2026-12-01T11:42:26");
    }

    #[test]
    fn reports_grow_as_submissions_finish_and_survive_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let formats = [Format::Csv, Format::Junit, Format::Gradescope];
        let mut reports = Reports::open(out, "segmentation/dice", &formats, false, false).unwrap();
        reports.record(result()).unwrap();
        let csv = std::fs::read_to_string(out.join("gradebook.csv")).unwrap();
        assert_eq!(csv.lines().count(), 2, "the gradebook is current after one");
        assert!(out.join("gradescope/ada <x>/results.json").is_file());
        reports.record(ungraded("bob")).unwrap();
        // A run killed while appending leaves half a line.
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(out.join("results.jsonl"))
            .unwrap();
        f.write_all(b"{\"submission\": \"car").unwrap();
        drop(f);
        let again = Reports::open(out, "segmentation/dice", &formats, true, false).unwrap();
        assert_eq!(again.results().len(), 2);
        assert_eq!(
            again.get("bob").unwrap().error.as_deref(),
            Some("no Rust toolchain")
        );
        assert!(Reports::open(out, "regression/network", &formats, true, false).is_err());
    }
}
