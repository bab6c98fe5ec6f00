//! What a record concludes, as stored in it: the lessons' claims checked on its runs
//! (`Expected`, made by `expected::check`) and its runs compared over seeds (`Comparison`, made
//! by `seeds::compare`). Only the types live here: the record embeds them, so they must not
//! reach back to the code that reads records to make them.

use crate::metrics::MeanStd;
use serde::{Deserialize, Deserializer, Serialize};

/// What a record says about one claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Shown,
    NotShown,
    /// The difference is inside the spread between splits or seeds: these runs cannot tell.
    WithinSpread,
}

impl Verdict {
    /// Several differences that must all hold: shown when each is, not shown when any goes the
    /// other way beyond the spread, otherwise not decided.
    pub(super) fn all(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
        let mut out = Verdict::Shown;
        for v in verdicts {
            match v {
                Verdict::NotShown => return Verdict::NotShown,
                Verdict::WithinSpread => out = Verdict::WithinSpread,
                Verdict::Shown => {}
            }
        }
        out
    }
}

/// Records written before verdicts had three values stored `shown: bool`.
fn verdict_or_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Verdict, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Old(bool),
        New(Verdict),
    }
    Ok(match Stored::deserialize(d)? {
        Stored::Old(true) => Verdict::Shown,
        Stored::Old(false) => Verdict::NotShown,
        Stored::New(v) => v,
    })
}

/// One claim of a lesson, checked on one record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expected {
    /// The lesson's words.
    pub claim: String,
    #[serde(alias = "shown", deserialize_with = "verdict_or_bool")]
    pub verdict: Verdict,
    /// The numbers that decide it, e.g. "unmodified 0.821, augmented 0.795 test accuracy"
    /// (with ± std where there is a spread).
    pub evidence: String,
    /// Seeds the numbers are means over (1: a single run).
    #[serde(default = "one")]
    pub seeds: usize,
    /// What the spread was measured over ("5 splits", "3 seeds"), when the verdict weighed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread: Option<String>,
}

fn one() -> usize {
    1
}

impl Expected {
    pub fn shown(&self) -> bool {
        self.verdict == Verdict::Shown
    }

    /// The sentence students read.
    pub fn sentence(&self) -> String {
        let (claim, evidence) = (&self.claim, &self.evidence);
        match (&self.spread, self.verdict) {
            (Some(over), Verdict::Shown) => format!(
                "The lesson expects: {claim}. Shown: the difference is larger than the spread \
                 over {over} ({evidence})."
            ),
            (Some(over), Verdict::NotShown) => format!(
                "The lesson expects: {claim}. Not shown: the difference goes the other way by more \
                 than the spread over {over} ({evidence})."
            ),
            (Some(over), Verdict::WithinSpread) => format!(
                "The lesson expects: {claim}. Not decided: within the spread over {over} \
                 ({evidence}); these runs cannot tell the models apart."
            ),
            (None, Verdict::Shown) => format!(
                "The lesson expects: {claim}. This run shows it ({evidence}); one run has no spread \
                 to weigh it against (--seeds 3 gives one)."
            ),
            (None, _) => format!(
                "The lesson expects: {claim}. This run does not show it ({evidence}); single runs \
                 are noisy: repeat it over seeds (--seeds 3) before concluding."
            ),
        }
    }
}

/// Two runs of a record compared on one test metric over the seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub a: String,
    pub b: String,
    pub metric: String,
    pub a_value: MeanStd,
    pub b_value: MeanStd,
    /// The ±1 standard deviation ranges do not overlap: the difference is larger than the
    /// seed-to-seed spread.
    pub beyond_spread: bool,
}

impl Comparison {
    /// The sentence students read.
    pub fn sentence(&self) -> String {
        let diff = self.a_value.mean - self.b_value.mean;
        let verdict = if self.beyond_spread {
            "larger than the seed-to-seed spread (the ±1 std ranges do not overlap)"
        } else {
            "within the seed-to-seed spread (the ±1 std ranges overlap): these seeds cannot tell the two apart"
        };
        format!(
            "{} vs {}, test {} over {} seeds: {:.3} vs {:.3}; the difference ({diff:+.3}) is {verdict}.",
            self.a,
            self.b,
            self.metric.replace('_', " "),
            self.a_value.n,
            self.a_value,
            self.b_value,
        )
    }
}
