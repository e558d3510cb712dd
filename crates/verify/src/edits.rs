//! Edits a clip's credentials declare, checked against its watermark: a `candor edit` re-marks
//! the region it redraws with a payload of its own over the span it redraws, and leaves the
//! clip's own mark everywhere else. With the key, both are checked in the region: the edit's
//! payload over its span, the clip's outside it. An edit that is there is confirmed; a region
//! that carries neither where the mark is strong enough to tell is contradicted (someone else
//! changed it, or the credentials describe another file); a faint mark leaves it unconfirmed.

use candor_manifest::EditInfo;
use candor_watermark::stats::ln_binomial_upper_tail;
use candor_watermark::{region_agreement, LatentShape, Payload, RegionAgreement};
use serde::{Deserialize, Serialize};

use crate::watermark::WatermarkReport;

/// A region's agreement with a payload is evidence of it at p ≤ 10^this.
const CONFIRM_LOG10_P: f64 = -6.0;
/// The mark is strong enough to expect that evidence when the clip's own agreement rate, over
/// the region's elements, would give this many standard deviations (a 64×64-pixel region of one
/// frame of a default clip re-encoded at CRF 23: about 7; measured genuine frames of such a
/// region: 10 to 20)…
const EXPECTED_Z: f64 = 6.0;
/// …and then a region whose agreement is still no better than p = 10^this carries neither mark.
const CONTRADICT_LOG10_P: f64 = -2.0;

/// What the watermark says about one declared edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EditCheck {
    /// None of its frames are in this file.
    NotInView,
    /// Its region carries its payload over its span, and the clip's outside the span.
    Confirmed,
    /// The mark is too faint in the region to say.
    Unconfirmed,
    /// Its region carries neither, where the mark is strong enough to tell.
    Contradicted,
}

/// A declared edit with frames in this file, and what the watermark says of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeclaredEdit {
    #[serde(flatten)]
    pub edit: EditInfo,
    pub check: EditCheck,
}

/// Checks each of `edits` against the mark `report` found (`None` when no mark with a payload
/// was found, or the latent was not kept).
pub fn check(report: &WatermarkReport, edits: &[EditInfo]) -> Option<Vec<EditCheck>> {
    let (latent, shape, key) = report.latent.as_ref()?;
    let clip = report.detection.payload()?;
    let pairs = report.alignment_pairs();
    let strength = 1.0 - f64::from(report.detection.bit_error_rate());
    Some(
        edits
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let span = e.first_frame as usize..(e.first_frame + e.frames) as usize;
                type Pairs = Vec<(usize, usize)>;
                let (inside, outside): (Pairs, Pairs) =
                    pairs.iter().partition(|(_, t)| span.contains(t));
                if inside.is_empty() {
                    return EditCheck::NotInView;
                }
                let Some(own) = u64::from_str_radix(&e.content_id, 16)
                    .ok()
                    .map(Payload::new)
                else {
                    return EditCheck::Contradicted;
                };
                // Cells another edit redrew over a frame belong to that edit there (a later one
                // drew over this one; an earlier one is what this one kept): they are left out.
                let others: Vec<&EditInfo> = edits
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, o)| o)
                    .collect();
                let counted = |pairs: &[(usize, usize)], p: Payload, versus: Option<Payload>| {
                    let (mut agreeing, mut compared) = (0u64, 0u64);
                    for pair in pairs {
                        let covering: Vec<&&EditInfo> = others
                            .iter()
                            .filter(|l| {
                                (l.first_frame as usize..(l.first_frame + l.frames) as usize)
                                    .contains(&pair.1)
                            })
                            .collect();
                        let cells = |cy: usize, cx: usize| {
                            touches(e, *shape, cy, cx)
                                && !covering.iter().any(|l| touches(l, *shape, cy, cx))
                        };
                        let a = region_agreement(
                            key,
                            p,
                            versus,
                            latent,
                            *shape,
                            std::slice::from_ref(pair),
                            &cells,
                        )
                        .ok()?;
                        agreeing += a.agreeing;
                        compared += a.compared;
                    }
                    Some(RegionAgreement {
                        agreeing,
                        compared,
                        log10_p_value: if compared == 0 {
                            0.0
                        } else {
                            ln_binomial_upper_tail(compared, agreeing) / std::f64::consts::LN_10
                        },
                    })
                };
                // Over all its frames, each payload against the other on the elements where
                // they differ (what tells which of the two a region carries); frame by frame,
                // every element (what tells a mark from none, with twice the elements).
                let agree = |p: Payload, pairs: &[(usize, usize)]| {
                    counted(pairs, p, Some(if p == own { clip } else { own }))
                };
                let agree_all = |p: Payload, pairs: &[(usize, usize)]| counted(pairs, p, None);
                let judge = |a: Option<RegionAgreement>| -> EditCheck {
                    let Some(a) = a.filter(|a| a.compared > 0) else {
                        return EditCheck::Unconfirmed;
                    };
                    if a.log10_p_value <= CONFIRM_LOG10_P {
                        return EditCheck::Confirmed;
                    }
                    let expected_z = (strength - 0.5) * 2.0 * (a.compared as f64).sqrt();
                    if expected_z >= EXPECTED_Z && a.log10_p_value > CONTRADICT_LOG10_P {
                        EditCheck::Contradicted
                    } else {
                        EditCheck::Unconfirmed
                    }
                };
                // Frame by frame too: a change to some frames of the region is not hidden by the
                // others (where one frame's region holds enough elements to tell).
                let any_frame_contradicts = |p: Payload, pairs: &[(usize, usize)]| {
                    pairs.iter().any(|pair| {
                        judge(agree_all(p, std::slice::from_ref(pair))) == EditCheck::Contradicted
                    })
                };
                if any_frame_contradicts(own, &inside) || any_frame_contradicts(clip, &outside) {
                    return EditCheck::Contradicted;
                }
                let edited = judge(agree(own, &inside));
                let kept = if outside.is_empty() {
                    EditCheck::Confirmed
                } else {
                    judge(agree(clip, &outside))
                };
                match (edited, kept) {
                    (EditCheck::Contradicted, _) | (_, EditCheck::Contradicted) => {
                        EditCheck::Contradicted
                    }
                    (EditCheck::Confirmed, EditCheck::Confirmed) => EditCheck::Confirmed,
                    _ => EditCheck::Unconfirmed,
                }
            })
            .collect(),
    )
}

/// Whether latent cell `(cy, cx)` of a latent of `shape` touches edit `e`'s region (given in
/// pixels of the clip's frames).
fn touches(e: &EditInfo, shape: LatentShape, cy: usize, cx: usize) -> bool {
    let [x, y, w, h] = e.region.map(f64::from);
    let [fw, fh] = e.frame_size.map(|v| f64::from(v.max(1)));
    let (cw, ch) = (
        fw / shape.width.max(1) as f64,
        fh / shape.height.max(1) as f64,
    );
    let (x0, y0) = (cx as f64 * cw, cy as f64 * ch);
    x0 < x + w && x0 + cw > x && y0 < y + h && y0 + ch > y
}

/// How well a manifest's declared edits fit what the watermark shows, for choosing among the
/// manifests a payload names (a clip and its edits share one): `None` when one of them is
/// contradicted; else (edits confirmed in view, minus the edits not confirmed in view, minus
/// the edits declared in all), larger is better.
pub fn fit(checks: &[EditCheck]) -> Option<(usize, isize, isize)> {
    if checks.contains(&EditCheck::Contradicted) {
        return None;
    }
    let confirmed = checks
        .iter()
        .filter(|c| **c == EditCheck::Confirmed)
        .count();
    let unconfirmed = checks
        .iter()
        .filter(|c| **c == EditCheck::Unconfirmed)
        .count();
    Some((confirmed, -(unconfirmed as isize), -(checks.len() as isize)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contradicted_edit_rules_a_manifest_out_and_fewer_claims_win_ties() {
        use EditCheck::*;
        assert_eq!(fit(&[Confirmed, Contradicted]), None);
        assert!(fit(&[Confirmed]) > fit(&[]), "a confirmed edit beats none");
        assert!(
            fit(&[]) > fit(&[NotInView]),
            "an edit out of view is a claim not shown"
        );
        assert!(fit(&[]) > fit(&[Unconfirmed]));
        assert!(fit(&[Confirmed, NotInView]) < fit(&[Confirmed]));
    }
}
