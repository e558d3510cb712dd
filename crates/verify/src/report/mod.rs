//! What verification reports about one file, and its renderings for people: text and HTML.

mod html;
mod text;

pub use html::{escape, render_html};
pub use text::render_text;

use std::path::PathBuf;

use candor_manifest::{CredentialState, ManifestReport};
use serde::Serialize;

use crate::recovery::RecoveredManifest;
use crate::verdict::Status;
use crate::watermark::WatermarkReport;

/// The watermark half of a file's report.
#[derive(Debug, Serialize)]
pub struct WatermarkHalf {
    #[serde(flatten)]
    pub report: WatermarkReport,
    pub recovered: Option<RecoveredManifest>,
    /// What each source of manifests (the store, resolvers) was asked and answered.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub lookups: Vec<String>,
}

/// What verification says about one file (`candor verify --json` prints one per line).
#[derive(Debug, Serialize)]
pub struct FileReport {
    pub file: PathBuf,
    pub status: Status,
    /// One sentence for people.
    pub verdict: String,
    /// The Content Credentials half; absent when the file could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<ManifestReport>,
    /// The watermark half; `null` when not checked (`--no-watermark`, or no model or key).
    pub watermark: Option<WatermarkHalf>,
    /// Why the watermark was not checked, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watermark_note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a caller requires of a file beyond intact credentials.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// A file without credentials (and none recovered) fails.
    pub require_credentials: bool,
    /// Intact credentials from a signer that is not trusted fail.
    pub require_trusted: bool,
}

/// How a file's check ends under a [`Policy`] (the CLI's exit code: 0, 1, 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Pass,
    Fail,
    Unreadable,
}

impl FileReport {
    /// The outcome of this file under `policy`.
    pub fn outcome(&self, policy: Policy) -> Outcome {
        let Some(m) = &self.manifest else {
            return Outcome::Unreadable;
        };
        match self.status {
            Status::Error => return Outcome::Unreadable,
            Status::Failed => return Outcome::Fail,
            Status::Verified | Status::NoCredentials => {}
        }
        let recovered = self
            .watermark
            .as_ref()
            .and_then(|w| w.recovered.as_ref())
            .is_some_and(|r| r.accepted);
        match m.state {
            CredentialState::Invalid => Outcome::Fail,
            CredentialState::None if policy.require_credentials && !recovered => Outcome::Fail,
            CredentialState::Valid if policy.require_trusted => Outcome::Fail,
            _ => Outcome::Pass,
        }
    }

    /// A report for a file that could not be checked.
    pub(crate) fn unreadable(file: PathBuf, message: String) -> Self {
        FileReport {
            file,
            status: Status::Error,
            verdict: format!("Could not check: {message}"),
            manifest: None,
            watermark: None,
            watermark_note: None,
            error: Some(message),
        }
    }
}

/// How far the signing time can be believed, in words: the signer's own clock, or an RFC 3161
/// time-stamp from an authority that is or is not trusted.
pub fn time_stamp_words(signer: &candor_manifest::SignerReport) -> &'static str {
    match (signer.time_stamped, signer.time_stamp_trusted) {
        (false, _) => "no time-stamp: the time is the signer's own claim",
        (true, Some(true)) => "time-stamped by a trusted time-stamp authority",
        (true, Some(false)) => {
            "time-stamped, but the time-stamp authority is not trusted (--tsa-trust-list, --trust)"
        }
        (true, None) => "time-stamped; authority not checked (no trust anchors given)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(state: Option<CredentialState>, status: Status) -> FileReport {
        FileReport {
            file: PathBuf::from("x.mp4"),
            status,
            verdict: String::new(),
            manifest: state.map(|s| {
                let mut m = ManifestReport::none(false);
                m.state = s;
                m
            }),
            watermark: None,
            watermark_note: None,
            error: None,
        }
    }

    #[test]
    fn outcomes_follow_the_policy() {
        let strict = Policy {
            require_credentials: true,
            require_trusted: true,
        };
        let lax = Policy::default();
        use CredentialState as C;
        let cases = [
            (None, Status::Error, lax, Outcome::Unreadable),
            (Some(C::Trusted), Status::Verified, strict, Outcome::Pass),
            (Some(C::Valid), Status::Verified, lax, Outcome::Pass),
            (Some(C::Valid), Status::Verified, strict, Outcome::Fail),
            (Some(C::Invalid), Status::Failed, lax, Outcome::Fail),
            (Some(C::None), Status::NoCredentials, lax, Outcome::Pass),
            (Some(C::None), Status::NoCredentials, strict, Outcome::Fail),
            // The watermark contradicted valid credentials.
            (Some(C::Valid), Status::Failed, lax, Outcome::Fail),
        ];
        for (state, status, policy, outcome) in cases {
            assert_eq!(
                report(state, status).outcome(policy),
                outcome,
                "{state:?} {status:?}"
            );
        }
    }
}

/// `text` safe to print on a terminal: control characters other than line breaks (an escape
/// sequence in a manifest's title or prompt could recolour or rewrite what a reader sees) and
/// invisible formatting characters (a right-to-left override reverses what follows it) are shown
/// as `\u{..}` escapes.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let invisible = matches!(
            u32::from(c),
            0x061C | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x2069
                | 0xFEFF
        );
        if (c.is_control() && c != '\n') || invisible {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod printable_tests {
    #[test]
    fn control_characters_are_shown_not_sent() {
        assert_eq!(
            super::printable("a red \u{1b}[31mcircle\u{7}\nnext"),
            "a red \\u{1b}[31mcircle\\u{7}\nnext"
        );
        assert_eq!(super::printable("crème brûlée ✓"), "crème brûlée ✓");
        assert_eq!(
            super::printable("a\u{202e}b\u{200b}"),
            "a\\u{202e}b\\u{200b}"
        );
    }
}
