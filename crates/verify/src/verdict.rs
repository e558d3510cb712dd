//! The verdict: one status and one sentence per file, as a pure function of what was found —
//! the credentials' state, the watermark evidence and what recovery from a store gave.

use candor_manifest::CredentialState;
use candor_watermark::{SpatialMap, TemporalEvent};

use crate::watermark::ForgeryKind;
use serde::{Deserialize, Serialize};

/// What a file's check concluded, for machines (the JSON's `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Credentials intact (trusted or not), or recovered, and nothing contradicts them.
    Verified,
    /// Checked and failed: credentials invalid, or contradicted by the watermark.
    Failed,
    /// No credentials in the file.
    NoCredentials,
    /// The file could not be checked (unreadable, not a video).
    Error,
}

impl Status {
    /// The name used in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Status::Verified => "verified",
            Status::Failed => "failed",
            Status::NoCredentials => "no_credentials",
            Status::Error => "error",
        }
    }

    /// The status the credentials alone give.
    pub fn of_credentials(state: CredentialState) -> Self {
        match state {
            CredentialState::Trusted | CredentialState::Valid => Status::Verified,
            CredentialState::Invalid => Status::Failed,
            CredentialState::None => Status::NoCredentials,
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The credentials' side of the evidence.
#[derive(Debug, Clone, Copy)]
pub struct CredentialEvidence<'a> {
    pub state: CredentialState,
    /// The manifest check's own sentence.
    pub summary: &'a str,
    /// The soft binding the manifest declares (the watermark payload it names), if any.
    pub soft_binding: Option<&'a [u8]>,
}

/// The watermark's side of the evidence; `None` in [`Evidence`] when it was not checked.
#[derive(Debug, Clone, Copy)]
pub struct WatermarkEvidence<'a> {
    pub present: bool,
    /// The payload read (or identified) from the mark.
    pub payload: Option<&'a [u8]>,
    /// The check's false-positive rate per clip.
    pub false_positive_rate: f64,
    pub temporal: &'a [TemporalEvent],
    pub spatial: Option<&'a SpatialMap>,
    /// Set when the pattern was judged forged or copied (then `present` is false).
    pub forgery: Option<ForgeryKind>,
    /// The key's pilots without a payload read or matched (then `present` is false).
    pub trace: bool,
    /// Where in a longer file the marked clips are: (start, end) seconds of each segment, and
    /// the file's duration. Empty for a file checked as one clip.
    pub segments: &'a [(f64, f64)],
    pub duration_s: Option<f64>,
    /// Platform transforms named from the evidence (not edits).
    pub transforms: &'a [String],
    /// The video stops decoding part-way: how much of it was checked.
    pub damaged: Option<&'a str>,
    /// Edits read off the timeline against the clip's credentials (a change of speed), in words.
    pub edits: &'a [String],
    /// The file shows part of its clip: where, in words ("Excerpt of a Candor clip: seconds
    /// 12.0–14.0 of its 30.0 …"). Not an edit: what is shown is unchanged.
    pub excerpt: Option<&'a str>,
    /// Edits the credentials declare, in words ("Edited with Candor as declared: region …"), when
    /// the tamper map agrees with them (its declared blocks are then not in `spatial`).
    pub declared_edits: Option<&'a str>,
}

/// What recovery through the watermark gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Not attempted, or the store holds nothing for the payload.
    NotFound,
    /// A stored manifest whose signature verifies and whose soft binding is the payload.
    Accepted,
    /// A stored manifest was found but did not verify, or cannot be bound to this content (it
    /// records no fingerprint, or the frames could not be compared).
    Rejected,
    /// A stored manifest verifies and names the payload, but was made for other content.
    Copied,
    /// No mark under this installation's keys; a resolver found one with its own key and
    /// returned a manifest that verifies here, names the payload it read, and matches the content.
    AcceptedByResolver,
}

/// Everything the verdict depends on.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    pub credentials: CredentialEvidence<'a>,
    pub watermark: Option<WatermarkEvidence<'a>>,
    pub recovery: Recovery,
    /// Where accepted credentials came from ("the manifest store", a resolver's URL).
    pub recovered_from: Option<&'a str>,
    /// Whether marks under other organisations' keys were looked for (resolvers asked by
    /// content), for a file where none of this installation's keys found one.
    pub other_keys: OtherKeys,
}

/// Marks under keys this installation does not hold: who was asked to look for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtherKeys {
    /// No resolver to ask (or the question did not arise).
    #[default]
    NotAsked,
    /// Resolvers asked by content: how many answered, how many could not be asked.
    Asked { answered: usize, failed: usize },
}

/// A file's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    /// One sentence for people.
    pub sentence: String,
}

/// The verdict for one file. Edits the watermark found lead the sentence: they matter more than
/// anything after them.
pub fn decide(evidence: &Evidence<'_>) -> Verdict {
    let credentials = &evidence.credentials;
    let mut status = Status::of_credentials(credentials.state);
    let Some(wm) = &evidence.watermark else {
        return Verdict {
            status,
            sentence: credentials.summary.to_string(),
        };
    };
    let fpr = format!("{:.0e}", wm.false_positive_rate);
    if let Some(kind) = wm.forgery {
        let what = match kind {
            ForgeryKind::Copied => "the mark names a Candor clip whose signed credentials were made for other content; they are not attached to this video",
            ForgeryKind::ForgedPattern => "the key's pattern is there without the payload every authentic mark carries",
        };
        return Verdict {
            status: Status::Failed,
            sentence: format!("Forged or copied watermark: {what}"),
        };
    }
    let mismatch = matches!((credentials.soft_binding, wm.payload), (Some(b), Some(p)) if b != p);
    let mut sentence = match (credentials.state, wm.present) {
        (CredentialState::Invalid, _) => credentials.summary.to_string(),
        (_, true) if mismatch => {
            status = Status::Failed;
            "Credentials do not match the watermark: the manifest's soft binding names another clip".into()
        }
        (CredentialState::Trusted | CredentialState::Valid, true) => {
            "AI-generated by Candor: credentials valid and watermark matches".into()
        }
        (CredentialState::None, true) => match evidence.recovery {
            Recovery::Accepted => format!(
                "AI-generated: watermark found, credentials stripped - recovered from {}",
                evidence.recovered_from.unwrap_or("the manifest store")
            ),
            Recovery::Rejected | Recovery::Copied | Recovery::AcceptedByResolver => "Candor watermark found: a mark of a Candor clip whose credentials could not be checked (the stored manifest did not verify or cannot be bound to this content)".into(),
            Recovery::NotFound => "Candor watermark found: a mark of a Candor clip whose credentials could not be checked (stripped, and not in this store)".into(),
        },
        (CredentialState::Trusted | CredentialState::Valid, false) => {
            format!("Content Credentials valid, no Candor watermark (false-positive rate of this check: {fpr})")
        }
        (CredentialState::None, false) if evidence.recovery == Recovery::AcceptedByResolver => format!(
            "AI-generated: credentials stripped - {} found a Candor watermark with a key this installation does not hold, and the credentials it returned were checked here (signature valid, soft binding is the payload it read, content matches)",
            evidence.recovered_from.unwrap_or("a resolver")
        ),
        (CredentialState::None, false) => format!(
            "No provenance found (false-positive rate of this check: {fpr} per {}){}",
            if wm.duration_s.is_some() { "file" } else { "clip" },
            match evidence.other_keys {
                OtherKeys::NotAsked => ". Not checked: marks under other organisations' keys (no --resolver to ask)".to_string(),
                OtherKeys::Asked { answered, failed: 0 } => format!(". {answered} resolver(s) asked by content found no mark under their keys"),
                OtherKeys::Asked { answered, failed } => format!(". Not fully checked: {failed} of {} resolver(s) could not be asked (see watermark.lookups)", answered + failed),
            }
        ),
    };
    if wm.present {
        let mut edits = Vec::new();
        if !wm.temporal.is_empty() {
            edits.push(describe_temporal(wm.temporal));
        }
        if let Some(region) = wm.spatial.and_then(describe_region) {
            edits.push(format!("region edited: {region}"));
        }
        edits.extend(wm.edits.iter().cloned());
        if !edits.is_empty() {
            // An edited clip fails verification, whatever its credentials say.
            status = Status::Failed;
            sentence = format!("Tampered: {}. {sentence}", edits.join("; "));
        }
        if let Some(declared) = wm.declared_edits {
            sentence = format!("{declared}. {sentence}");
        }
        if let Some(excerpt) = wm.excerpt {
            sentence = format!("{excerpt}. {sentence}");
        }
        if let Some(part) = describe_segments(wm.segments, wm.duration_s) {
            sentence = format!("{part}. {sentence}");
        }
        if !wm.transforms.is_empty() {
            sentence = format!(
                "{sentence}. Platform transforms, not edits: {}",
                wm.transforms.join("; ")
            );
        }
    }
    if wm.trace && !wm.present {
        sentence = format!(
            "{sentence}. A trace of Candor's pattern without a payload was seen: a damaged mark and a forgery look the same, so it is evidence of neither"
        );
    }
    if let Some(damage) = wm.damaged {
        sentence = format!("Damaged file: {damage}. {sentence}");
    }
    Verdict { status, sentence }
}

/// Which seconds of a longer file carry Candor marks ("Seconds 3.0–5.0 of 7.0 carry a Candor
/// clip's mark"); `None` when the marks cover (nearly) the whole file.
pub fn describe_segments(segments: &[(f64, f64)], duration: Option<f64>) -> Option<String> {
    let duration = duration?;
    let covered: f64 = segments.iter().map(|(a, b)| (b - a).max(0.0)).sum();
    if segments.is_empty() || covered >= 0.9 * duration {
        return None;
    }
    let spans: Vec<String> = segments
        .iter()
        .map(|(a, b)| format!("{a:.1}–{b:.1}"))
        .collect();
    Some(if segments.len() == 1 {
        format!(
            "Seconds {} of {duration:.1} carry a Candor clip's mark; the rest shows none",
            spans[0]
        )
    } else {
        format!(
            "{} segments carry Candor marks: seconds {} of {duration:.1}; the rest shows none",
            segments.len(),
            spans.join(", ")
        )
    })
}

/// Frame edits in words: "frames 5-7 removed (before frame 5), frame 9 inserted".
pub fn describe_temporal(events: &[candor_watermark::TemporalEvent]) -> String {
    use candor_watermark::TemporalEvent as E;
    events
        .iter()
        .map(|e| match e {
            E::Dropped {
                first,
                last,
                before,
            } if first == last => format!("frame {first} removed (before frame {before})"),
            E::Dropped {
                first,
                last,
                before,
            } => format!("frames {first}-{last} removed (before frame {before})"),
            E::Inserted { observed } => format!("frame {observed} inserted"),
            E::Reordered { observed, template } => {
                format!("frame {observed} out of order (was {template})")
            }
            E::Duplicated { observed, template } => format!("frame {observed} repeats {template}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where the tampered blocks of a spatial map sit, in words ("top-left, 4 of 64 blocks").
pub fn describe_region(map: &candor_watermark::SpatialMap) -> Option<String> {
    let (gh, gw) = (map.grid_height, map.grid_width);
    let cells: Vec<(usize, usize)> = (0..gh * gw)
        .filter(|&i| map.tampered.get(i).copied().unwrap_or(false))
        .map(|i| (i / gw, i % gw))
        .collect();
    if cells.is_empty() || gh == 0 || gw == 0 {
        return None;
    }
    let (rows, cols): (Vec<usize>, Vec<usize>) = cells.iter().copied().unzip();
    let third = |v: &[usize], n: usize| {
        let centre = (v.iter().sum::<usize>() as f64 + 0.5 * v.len() as f64) / v.len() as f64;
        ((centre * 3.0 / n as f64) as usize).min(2)
    };
    let vertical = ["top", "middle", "bottom"][third(&rows, gh)];
    let horizontal = ["left", "centre", "right"][third(&cols, gw)];
    let place = match (vertical, horizontal) {
        ("middle", "centre") => "centre".to_string(),
        (v, h) => format!("{v}-{h}"),
    };
    Some(format!("{place}, {} of {} blocks", cells.len(), gh * gw))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candor_watermark::SpatialMap;

    fn map(tampered: &[usize]) -> SpatialMap {
        let mut flags = vec![false; 64];
        for &i in tampered {
            flags[i] = true;
        }
        SpatialMap {
            block: 1,
            grid_height: 8,
            grid_width: 8,
            agreement: vec![0.6; 64],
            tampered: flags,
            per_frame: Vec::new(),
        }
    }

    #[test]
    fn regions_are_named_by_where_their_blocks_sit() {
        assert_eq!(describe_region(&map(&[])), None);
        assert_eq!(
            describe_region(&map(&[0, 1, 8, 9])).as_deref(),
            Some("top-left, 4 of 64 blocks")
        );
        assert_eq!(
            describe_region(&map(&[63])).as_deref(),
            Some("bottom-right, 1 of 64 blocks")
        );
        assert_eq!(
            describe_region(&map(&[27, 28, 35, 36])).as_deref(),
            Some("centre, 4 of 64 blocks")
        );
    }

    const STATES: [CredentialState; 4] = [
        CredentialState::Trusted,
        CredentialState::Valid,
        CredentialState::Invalid,
        CredentialState::None,
    ];

    /// Every combination of credentials (4 states × declared binding or not), watermark (not
    /// checked, absent, present with no payload / the declared payload / another payload, each
    /// with and without edits) and recovery (3 outcomes): the status and sentence of each.
    #[test]
    fn every_combination_of_evidence_has_its_verdict() {
        let ours: &[u8] = &[1, 2, 3];
        let other: &[u8] = &[9, 9, 9];
        let drop = [TemporalEvent::Dropped {
            first: 3,
            last: 4,
            before: 3,
        }];
        let mut cases = 0;
        for state in STATES {
            for binding in [None, Some(ours)] {
                let credentials = CredentialEvidence {
                    state,
                    summary: "the manifest's own words",
                    soft_binding: binding,
                };
                for recovery in [
                    Recovery::NotFound,
                    Recovery::Accepted,
                    Recovery::Rejected,
                    Recovery::Copied,
                ] {
                    // Not checked: the credentials alone speak.
                    let v = decide(&Evidence {
                        credentials,
                        watermark: None,
                        recovery,
                        recovered_from: None,
                        other_keys: OtherKeys::NotAsked,
                    });
                    assert_eq!(v.status, Status::of_credentials(state));
                    assert_eq!(v.sentence, "the manifest's own words");
                    cases += 1;
                    for (present, payload, forgery) in [
                        (false, None, None),
                        (true, None, None),
                        (true, Some(ours), None),
                        (true, Some(other), None),
                        (false, Some(ours), Some(ForgeryKind::Copied)),
                        (false, None, Some(ForgeryKind::ForgedPattern)),
                    ] {
                        for edited in [false, true] {
                            let temporal: &[TemporalEvent] = if edited { &drop } else { &[] };
                            let v = decide(&Evidence {
                                credentials,
                                watermark: Some(WatermarkEvidence {
                                    present,
                                    payload,
                                    false_positive_rate: 1e-9,
                                    temporal,
                                    spatial: None,
                                    forgery,
                                    trace: false,
                                    segments: &[],
                                    duration_s: None,
                                    transforms: &[],
                                    damaged: None,
                                    edits: &[],
                                    excerpt: None,
                                    declared_edits: None,
                                }),
                                recovery,
                                recovered_from: None,
                                other_keys: OtherKeys::NotAsked,
                            });
                            cases += 1;
                            let mismatch = binding.is_some() && payload == Some(other);
                            let (status, core) = match forgery {
                                Some(ForgeryKind::Copied) => (Status::Failed, "Forged or copied watermark: the mark names a Candor clip whose signed credentials were made for other content; they are not attached to this video"),
                                Some(ForgeryKind::ForgedPattern) => (Status::Failed, "Forged or copied watermark: the key's pattern is there without the payload every authentic mark carries"),
                                None => expected(state, present, mismatch, recovery),
                            };
                            let status = if present && edited && forgery.is_none() {
                                Status::Failed
                            } else {
                                status
                            };
                            assert_eq!(
                                v.status, status,
                                "{state:?} {binding:?} {present} {payload:?} {recovery:?}"
                            );
                            let sentence = if present && edited {
                                format!("Tampered: frames 3-4 removed (before frame 3). {core}")
                            } else {
                                core.to_string()
                            };
                            assert_eq!(v.sentence, sentence);
                        }
                    }
                }
            }
        }
        assert_eq!(cases, 4 * 2 * 4 * (1 + 6 * 2));
    }

    /// The table the verdict must follow, written out independently of `decide`.
    fn expected(
        state: CredentialState,
        present: bool,
        mismatch: bool,
        recovery: Recovery,
    ) -> (Status, &'static str) {
        use CredentialState as C;
        match (state, present, mismatch, recovery) {
            (C::Invalid, ..) => (Status::Failed, "the manifest's own words"),
            (_, true, true, _) => (
                Status::Failed,
                "Credentials do not match the watermark: the manifest's soft binding names another clip",
            ),
            (C::Trusted | C::Valid, true, false, _) => (
                Status::Verified,
                "AI-generated by Candor: credentials valid and watermark matches",
            ),
            (C::Trusted | C::Valid, false, ..) => (
                Status::Verified,
                "Content Credentials valid, no Candor watermark (false-positive rate of this check: 1e-9)",
            ),
            (C::None, true, false, Recovery::Accepted | Recovery::AcceptedByResolver) => (
                Status::NoCredentials,
                "AI-generated: watermark found, credentials stripped - recovered from the manifest store",
            ),
            (C::None, true, false, Recovery::Rejected | Recovery::Copied) => (
                Status::NoCredentials,
                "Candor watermark found: a mark of a Candor clip whose credentials could not be checked (the stored manifest did not verify or cannot be bound to this content)",
            ),
            (C::None, true, false, Recovery::NotFound) => (
                Status::NoCredentials,
                "Candor watermark found: a mark of a Candor clip whose credentials could not be checked (stripped, and not in this store)",
            ),
            (C::None, false, ..) => (
                Status::NoCredentials,
                "No provenance found (false-positive rate of this check: 1e-9 per clip). Not checked: marks under other organisations' keys (no --resolver to ask)",
            ),
        }
    }

    #[test]
    fn a_tampered_region_leads_the_sentence() {
        let mut m = map(&[0, 1, 8, 9]);
        m.agreement[0] = 0.5;
        let v = decide(&Evidence {
            credentials: CredentialEvidence {
                state: CredentialState::None,
                summary: "No Content Credentials",
                soft_binding: None,
            },
            watermark: Some(WatermarkEvidence {
                present: true,
                payload: Some(&[1]),
                false_positive_rate: 1e-9,
                temporal: &[],
                spatial: Some(&m),
                forgery: None,
                trace: false,
                segments: &[],
                duration_s: None,
                transforms: &[],
                damaged: None,
                edits: &[],
                excerpt: None,
                declared_edits: None,
            }),
            recovery: Recovery::NotFound,
            recovered_from: None,
            other_keys: OtherKeys::NotAsked,
        });
        assert!(
            v.sentence.starts_with(
                "Tampered: region edited: top-left, 4 of 64 blocks. Candor watermark found"
            ),
            "{}",
            v.sentence
        );
    }

    #[test]
    fn a_trace_without_a_payload_is_said_and_claims_nothing() {
        let v = decide(&Evidence {
            credentials: CredentialEvidence {
                state: CredentialState::None,
                summary: "No Content Credentials",
                soft_binding: None,
            },
            watermark: Some(WatermarkEvidence {
                present: false,
                payload: None,
                false_positive_rate: 1e-9,
                temporal: &[],
                spatial: None,
                forgery: None,
                trace: true,
                segments: &[],
                duration_s: None,
                transforms: &[],
                damaged: None,
                edits: &[],
                excerpt: None,
                declared_edits: None,
            }),
            recovery: Recovery::NotFound,
            recovered_from: None,
            other_keys: OtherKeys::NotAsked,
        });
        assert_eq!(v.status, Status::NoCredentials);
        assert!(
            v.sentence.starts_with("No provenance found"),
            "{}",
            v.sentence
        );
        assert!(
            v.sentence.ends_with("A trace of Candor's pattern without a payload was seen: a damaged mark and a forgery look the same, so it is evidence of neither"),
            "{}",
            v.sentence
        );
        assert!(!v.sentence.contains("AI-generated") && !v.sentence.contains("watermark found"));
    }

    #[test]
    fn segments_and_transforms_are_said_and_are_not_edits() {
        let credentials = CredentialEvidence {
            state: CredentialState::None,
            summary: "No Content Credentials",
            soft_binding: None,
        };
        let transforms = vec!["frame rate converted 8 → 25 fps".to_string()];
        let spliced = decide(&Evidence {
            credentials,
            watermark: Some(WatermarkEvidence {
                present: true,
                payload: Some(&[1]),
                false_positive_rate: 1e-9,
                temporal: &[],
                spatial: None,
                forgery: None,
                trace: false,
                segments: &[(3.0, 5.0)],
                duration_s: Some(7.0),
                transforms: &transforms,
                damaged: None,
                edits: &[],
                excerpt: None,
                declared_edits: None,
            }),
            recovery: Recovery::Accepted,
            recovered_from: None,
            other_keys: OtherKeys::NotAsked,
        });
        assert_eq!(spliced.status, Status::NoCredentials);
        assert_eq!(
            spliced.sentence,
            "Seconds 3.0–5.0 of 7.0 carry a Candor clip's mark; the rest shows none. AI-generated: watermark found, credentials stripped - recovered from the manifest store. Platform transforms, not edits: frame rate converted 8 → 25 fps"
        );
        assert!(!spliced.sentence.contains("Tampered"));
        // A clip that fills its file is not called a segment of it.
        assert_eq!(describe_segments(&[(0.0, 2.0)], Some(2.0)), None);
        assert_eq!(
            describe_segments(&[(1.0, 3.0), (5.0, 7.0)], Some(10.0)).as_deref(),
            Some("2 segments carry Candor marks: seconds 1.0–3.0, 5.0–7.0 of 10.0; the rest shows none")
        );
        // A damaged file says how much of it was checked, found or not.
        let cut = decide(&Evidence {
            credentials,
            watermark: Some(WatermarkEvidence {
                present: false,
                payload: None,
                false_positive_rate: 1e-9,
                temporal: &[],
                spatial: None,
                forgery: None,
                trace: false,
                segments: &[],
                duration_s: None,
                transforms: &[],
                damaged: Some("the video stops decoding after 15 frames"),
                edits: &[],
                excerpt: None,
                declared_edits: None,
            }),
            recovery: Recovery::NotFound,
            recovered_from: None,
            other_keys: OtherKeys::NotAsked,
        });
        assert!(cut
            .sentence
            .starts_with("Damaged file: the video stops decoding after 15 frames. No provenance"));
        // Nothing found in a scanned file: the rate is per file.
        let none = decide(&Evidence {
            credentials,
            watermark: Some(WatermarkEvidence {
                present: false,
                payload: None,
                false_positive_rate: 1e-9,
                temporal: &[],
                spatial: None,
                forgery: None,
                trace: false,
                segments: &[],
                duration_s: Some(60.0),
                transforms: &[],
                damaged: None,
                edits: &[],
                excerpt: None,
                declared_edits: None,
            }),
            recovery: Recovery::NotFound,
            recovered_from: None,
            other_keys: OtherKeys::NotAsked,
        });
        assert_eq!(
            none.sentence,
            "No provenance found (false-positive rate of this check: 1e-9 per file). Not checked: marks under other organisations' keys (no --resolver to ask)"
        );
        // Resolvers asked: what they answered is said, and a failed one is not hidden.
        for (other_keys, tail) in [
            (
                OtherKeys::Asked { answered: 2, failed: 0 },
                ". 2 resolver(s) asked by content found no mark under their keys",
            ),
            (
                OtherKeys::Asked { answered: 1, failed: 1 },
                ". Not fully checked: 1 of 2 resolver(s) could not be asked (see watermark.lookups)",
            ),
        ] {
            let v = decide(&Evidence {
                other_keys,
                ..Evidence {
                    credentials,
                    watermark: Some(WatermarkEvidence {
                        present: false,
                        payload: None,
                        false_positive_rate: 1e-9,
                        temporal: &[],
                        spatial: None,
                        forgery: None,
                        trace: false,
                        segments: &[],
                        duration_s: None,
                        transforms: &[],
                        damaged: None,
                        edits: &[],
excerpt: None,
declared_edits: None,
                    }),
                    recovery: Recovery::NotFound,
                    recovered_from: None,
                    other_keys: OtherKeys::NotAsked,
                }
            });
            assert!(v.sentence.ends_with(tail), "{}", v.sentence);
        }
    }

    #[test]
    fn statuses_serialise_as_their_names() {
        for s in [
            Status::Verified,
            Status::Failed,
            Status::NoCredentials,
            Status::Error,
        ] {
            assert_eq!(
                serde_json::to_string(&s).ok(),
                Some(format!("\"{}\"", s.name()))
            );
        }
    }
}
