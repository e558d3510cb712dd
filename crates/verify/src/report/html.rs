//! A self-contained HTML report a newsroom can hand on: verdicts, signer, manifest summary,
//! per-frame watermark agreement, frame alignment and tamper heat maps, as inline SVG (no scripts,
//! no external files).

use std::fmt::Write;

use candor_manifest::CredentialState;

use super::FileReport;
use crate::verdict::Status;

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#1b1b1b;max-width:980px}\
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}\
.verdict{padding:.8em 1em;border-radius:6px;font-weight:600;margin:.5em 0}\
.ok{background:#e3f4e6;border-left:6px solid #2e8b3d}.bad{background:#fbe4e4;border-left:6px solid #c0392b}\
.none{background:#eef0f3;border-left:6px solid #7a8593}table{border-collapse:collapse;margin:.5em 0}\
td,th{border:1px solid #d5d9de;padding:.3em .6em;text-align:left;vertical-align:top}th{background:#f4f6f8}\
.small{color:#555;font-size:.9em}";

/// Renders the reports of one `candor verify` run.
pub fn render_html(reports: &[FileReport], generated_by: &str) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Candor verification report</title>\
         <style>{STYLE}</style></head><body><h1>Candor verification report</h1>\
         <p class=\"small\">{} file(s), made by {}. Content Credentials are checked with c2pa-rs; the \
         watermark test states its false-positive rate.</p>",
        reports.len(),
        escape(generated_by)
    );
    for r in reports {
        file_section(&mut h, r);
    }
    h.push_str("</body></html>\n");
    h
}

fn row(h: &mut String, key: &str, value: &str) {
    let _ = write!(
        h,
        "<tr><th>{}</th><td>{}</td></tr>",
        escape(key),
        escape(value)
    );
}

fn file_section(h: &mut String, r: &FileReport) {
    let class = match r.status {
        _ if r
            .watermark
            .as_ref()
            .is_some_and(|w| w.report.present && w.report.detection.tampered()) =>
        {
            "bad"
        }
        Status::Verified => "ok",
        Status::NoCredentials if r.watermark.as_ref().is_some_and(|w| w.report.present) => "ok",
        Status::NoCredentials => "none",
        _ => "bad",
    };
    let _ = write!(
        h,
        "<h2>{}</h2><div class=\"verdict {class}\">{}</div>",
        escape(&r.file.display().to_string()),
        escape(&r.verdict)
    );
    if let Some(e) = &r.error {
        let _ = write!(h, "<p>Error: {}</p>", escape(e));
        return;
    }
    if let Some(m) = &r.manifest {
        h.push_str("<h3>Content Credentials</h3><table>");
        row(h, "State", m.state.name());
        row(h, "Summary", &m.summary);
        if let Some(s) = &m.signer {
            row(h, "Signer", s.common_name.as_deref().unwrap_or("?"));
            row(h, "Issued by", s.issuer.as_deref().unwrap_or("?"));
            row(h, "Algorithm", s.algorithm.as_deref().unwrap_or("?"));
            row(
                h,
                "Signing time",
                &format!(
                    "{} ({})",
                    s.signing_time.as_deref().unwrap_or("not stated"),
                    crate::report::time_stamp_words(s)
                ),
            );
        }
        if let Some(t) = &m.source_type {
            row(h, "Made as", t);
        }
        if let Some(g) = &m.generation {
            row(
                h,
                "Model",
                &format!("{} (sha256 {})", g.model_name, g.model_sha256),
            );
            row(h, "Prompt", &format!("\"{}\" (seed {})", g.prompt, g.seed));
        }
        let actions: Vec<String> = m.actions.iter().map(|a| a.action.clone()).collect();
        if !actions.is_empty() {
            row(h, "Actions", &actions.join(", "));
        }
        for i in &m.ingredients {
            row(
                h,
                "Ingredient",
                &format!(
                    "{} [{}]",
                    i.title.as_deref().unwrap_or("untitled"),
                    i.relationship
                ),
            );
        }
        for f in m.failures.iter().chain(&m.ingredient_failures) {
            row(h, &f.code, &f.explanation);
        }
        if m.state != CredentialState::None && !m.trust_configured {
            row(
                h,
                "Trust",
                "no trust anchors were given: no signer can be trusted",
            );
        }
        h.push_str("</table>");
    }
    match (&r.watermark, &r.watermark_note) {
        (Some(w), _) => {
            let d = &w.report.detection;
            h.push_str("<h3>Watermark</h3><table>");
            row(h, "Result", &w.report.summary);
            row(h, "p-value", &format!("10^{:.1}", d.log10_p_value()));
            row(
                h,
                "False-positive rate of the test",
                &format!(
                    "{:.0e} per {} ({} key(s))",
                    d.false_positive_rate(),
                    if w.report.scan.is_some() {
                        "file"
                    } else {
                        "clip"
                    },
                    d.keys_tried()
                ),
            );
            if let Some(scan) = &w.report.scan {
                row(
                    h,
                    "Scanned",
                    &format!(
                        "{:.1} s, {} frames, {} windows of 2 s ({} tests in the budget)",
                        scan.duration_s, scan.frames_decoded, scan.windows, scan.tests
                    ),
                );
            }
            if !w.report.transforms.is_empty() {
                row(
                    h,
                    "Platform transforms (not edits)",
                    &w.report.transforms.join("; "),
                );
            }
            if let Some(id) = &w.report.content_id {
                row(h, "Content id", id);
            }
            row(h, "Sign error rate", &format!("{:.3}", d.bit_error_rate()));
            row(h, "Frames read", &w.report.frames_read.to_string());
            if let Some(g) = &w.report.geometry {
                row(
                    h,
                    "Alignment",
                    &format!(
                        "{} ({} tests: placements and, with a store, its payloads; the p-value accounts for all of them)",
                        g.placement.name, g.placements_tested
                    ),
                );
            }
            h.push_str("</table>");
            if let Some(scan) = &w.report.scan {
                timeline(h, &w.report.segments, scan.duration_s);
            }
            if let Some(p) = w
                .report
                .placement
                .as_ref()
                .filter(|p| p.excerpt || !p.shots.is_empty())
            {
                clip_timeline(h, p);
            }
            if !w.report.edits.is_empty() {
                h.push_str("<h3>Edits its credentials declare</h3><table>");
                for e in &w.report.edits {
                    let [x, y, ew, eh] = e.edit.region;
                    let (class, word) = match e.check {
                        crate::edits::EditCheck::Confirmed => ("ok", "confirmed by the watermark (the region carries the edit's own mark over its frames, the clip's outside them)"),
                        crate::edits::EditCheck::Contradicted => ("bad", "contradicted by the watermark: the region does not carry what the declaration says"),
                        crate::edits::EditCheck::Unconfirmed => ("", "too faint to confirm"),
                        crate::edits::EditCheck::NotInView => ("", "not in this file"),
                    };
                    let _ = write!(
                        h,
                        "<tr><th>{}</th><td class=\"{class}\">region x {x}, y {y}, {ew}×{eh} px of frames {}–{}: {}</td></tr>",
                        escape(&e.edit.prompt),
                        e.edit.first_frame,
                        (e.edit.first_frame + e.edit.frames).saturating_sub(1),
                        word
                    );
                }
                h.push_str("</table>");
            }
            agreement_plot(h, d);
            if let Some(map) = d.spatial() {
                heat_map(h, map);
            }
            if let Some(rec) = &w.recovered {
                let _ = write!(h, "<h3>Recovered from {}</h3><table>", escape(&rec.source));
                row(h, "Manifest", &rec.origin());
                let class = if rec.accepted { "ok" } else { "bad" };
                let _ = write!(
                    h,
                    "<tr><th>Credentials</th><td class=\"{class}\">{}</td></tr>",
                    escape(&rec.summary)
                );
                row(
                    h,
                    "Checks",
                    &format!(
                        "signature {}; watermark payload {}; content {}; bytes {}",
                        if rec.signature_valid {
                            "valid"
                        } else {
                            "does not verify"
                        },
                        if rec.soft_binding_matches {
                            "matches"
                        } else {
                            "differs"
                        },
                        match rec.content_match {
                            Some(m) if m.same_content() => "matches",
                            Some(_) => "differs",
                            None => "not comparable",
                        },
                        if rec.bytes_match {
                            "the signed original's"
                        } else {
                            "differ from the signed original (expected for a re-encoded copy)"
                        }
                    ),
                );
                if let Some(g) = &rec.manifest.generation {
                    row(h, "Prompt", &g.prompt);
                    row(h, "Model", &g.model_name);
                }
                h.push_str("</table>");
            }
        }
        (None, Some(note)) => {
            let _ = write!(h, "<p>Watermark: {}</p>", escape(note));
        }
        (None, None) => {}
    }
}

/// The file's timeline with the seconds that carry a Candor mark drawn in, each labelled with
/// its span and content id: which part of a longer video was generated.
fn timeline(h: &mut String, segments: &[crate::scan::Segment], duration: f64) {
    let (w, ht, pad) = (640.0f64, 82.0f64, 30.0f64);
    let span = duration.max(1e-3);
    let x = |t: f64| pad + (w - 2.0 * pad) * (t / span).clamp(0.0, 1.0);
    let _ = write!(
        h,
        "<h3>Where the marks are</h3><svg width=\"{w}\" height=\"{ht}\" role=\"img\" \
         aria-label=\"timeline of the seconds carrying a Candor watermark\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\
         <rect x=\"{pad}\" y=\"20\" width=\"{}\" height=\"18\" fill=\"#e8ecef\" stroke=\"#9aa3ad\"/>",
        w - 2.0 * pad
    );
    for (i, s) in segments.iter().enumerate() {
        let (a, b) = (x(s.start_s), x(s.end_s));
        // Labels of neighbouring segments alternate between two rows, so they do not overlap.
        let label_y = if i % 2 == 0 { 54 } else { 70 };
        let _ = write!(
            h,
            "<rect x=\"{a:.1}\" y=\"20\" width=\"{:.1}\" height=\"18\" fill=\"#2e6fb5\"><title>{}</title></rect>\
             <text x=\"{a:.1}\" y=\"{label_y}\" font-size=\"11\" fill=\"#1c2a36\">{:.1}–{:.1} s</text>",
            (b - a).max(1.5),
            escape(&format!(
                "seconds {:.1}–{:.1}, frames {}–{}, content id {}{}",
                s.start_s,
                s.end_s,
                s.first_frame,
                s.last_frame,
                s.content_id.as_deref().unwrap_or("not decoded"),
                s.credentials
                    .as_ref()
                    .map(|c| format!("; {}", c.describe()))
                    .unwrap_or_default()
            )),
            s.start_s,
            s.end_s
        );
    }
    let _ = write!(
        h,
        "<text x=\"{pad}\" y=\"14\" font-size=\"11\" fill=\"#56636f\">0 s</text>\
         <text x=\"{:.1}\" y=\"14\" font-size=\"11\" fill=\"#56636f\" text-anchor=\"end\">{duration:.1} s</text></svg>\
         <p class=\"small\">Blue: seconds carrying a Candor clip's mark ({} segment(s)); grey: no mark found (false-positive rate stated per file above).</p>",
        w - pad,
        segments.len()
    );
}

/// The clip the marked frames come from, drawn whole: the part this file shows (blue, over the
/// grey of the whole clip) and a storyboard's shots (bands labelled with their number and
/// prompt): which seconds of which clip, made from which prompt.
fn clip_timeline(h: &mut String, p: &crate::timeline::ClipPlacement) {
    let (w, pad) = (640.0f64, 30.0f64);
    let frames = p
        .clip_frames
        .unwrap_or(p.last_frame + 1)
        .max(p.last_frame + 1);
    let x = |f: usize| pad + (w - 2.0 * pad) * (f as f64 / frames as f64).clamp(0.0, 1.0);
    let ht = 64.0 + 16.0 * p.shots.len() as f64;
    let _ = write!(
        h,
        "<h3>Where this is in its clip</h3><svg width=\"{w}\" height=\"{ht}\" role=\"img\" \
         aria-label=\"the clip's timeline with the part this file shows\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\
         <rect x=\"{pad}\" y=\"20\" width=\"{}\" height=\"18\" fill=\"#e8ecef\" stroke=\"#9aa3ad\"/>\
         <rect x=\"{:.1}\" y=\"20\" width=\"{:.1}\" height=\"18\" fill=\"#2e6fb5\"><title>{}</title></rect>",
        w - 2.0 * pad,
        x(p.first_frame),
        (x(p.last_frame + 1) - x(p.first_frame)).max(1.5),
        escape(&format!(
            "this file shows seconds {:.1}–{:.1} (frames {}–{})",
            p.start_s, p.end_s, p.first_frame, p.last_frame
        )),
    );
    for (i, shot) in p.shots.iter().enumerate() {
        let y = 50.0 + 16.0 * i as f64;
        let (a, b) = (x(shot.first_frame), x(shot.last_frame + 1));
        let _ = write!(
            h,
            "<rect x=\"{a:.1}\" y=\"{y}\" width=\"{:.1}\" height=\"12\" fill=\"#8fb3dc\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#1c2a36\">shot {}: {}</text>",
            (b - a).max(1.5),
            a + 3.0,
            y + 10.0,
            shot.number,
            escape(&shot.prompt)
        );
    }
    let _ = write!(
        h,
        "<text x=\"{pad}\" y=\"14\" font-size=\"11\" fill=\"#56636f\">0 s</text>\
         <text x=\"{:.1}\" y=\"14\" font-size=\"11\" fill=\"#56636f\" text-anchor=\"end\">{:.1} s{}</text></svg>\
         <p class=\"small\">Grey: the whole clip{}; blue: the part this file shows{}.</p>",
        w - pad,
        frames as f64 / p.clip_fps,
        if p.clip_frames.is_some() { "" } else { " or more" },
        if p.clip_frames.is_some() {
            " (its length from its credentials)"
        } else {
            " (its full length is unknown without credentials)"
        },
        if p.shots.is_empty() {
            ""
        } else {
            "; bands: the storyboard's shots in it"
        }
    );
}

/// Per observed frame: agreement with the template it carries (bars), chance level (dashed line),
/// and the template index found (labels; "?" = no match, i.e. a foreign frame).
fn agreement_plot(h: &mut String, d: &candor_watermark::Detection) {
    let n = d.frames().len().max(1);
    let (w, ht, pad) = (640.0f32, 180.0f32, 30.0f32);
    let bar = (w - 2.0 * pad) / n as f32;
    let y = |a: f32| ht - pad - (ht - 2.0 * pad) * ((a - 0.4) / 0.4).clamp(0.0, 1.0);
    let _ = write!(
        h,
        "<h3>Frame alignment and agreement</h3><svg width=\"{w}\" height=\"{ht}\" role=\"img\" \
         aria-label=\"per-frame watermark agreement\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>"
    );
    for (i, f) in d.frames().iter().enumerate() {
        let x = pad + i as f32 * bar;
        let colour = match (f.template, f.unreadable) {
            (Some(_), _) => "#2e6fb5",
            (None, true) => "#9aa3ad",
            (None, false) => "#c0392b",
        };
        let top = y(f.agreement);
        let _ = write!(
            h,
            "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\"><title>frame {i}: agreement {:.3}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" text-anchor=\"middle\">{}</text>",
            x + 1.0,
            (bar - 2.0).max(1.0),
            (ht - pad - top).max(0.0),
            f.agreement,
            x + bar / 2.0,
            ht - pad + 12.0,
            match (f.template, f.unreadable) {
                (Some(t), _) => t.to_string(),
                (None, true) => "~".into(),
                (None, false) => "?".into(),
            }
        );
    }
    let _ = write!(
        h,
        "<line x1=\"{pad}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#888\" stroke-dasharray=\"4\"/>\
         <text x=\"{pad}\" y=\"14\" font-size=\"11\">agreement with the watermark template (dashed: chance, 0.5); labels: frame index found (? foreign, ~ too weak)</text></svg>",
        w - pad,
        y(0.5),
        y(0.5)
    );
    if !d.temporal().is_empty() {
        let _ = write!(
            h,
            "<p><b>Frame edits:</b> {}</p>",
            escape(&crate::verdict::describe_temporal(d.temporal()))
        );
    }
}

/// Spatial agreement per block: blue where the watermark holds, red where it is at chance.
fn heat_map(h: &mut String, map: &candor_watermark::SpatialMap) {
    let cell = (160 / map.grid_width.max(1)).max(4);
    let (w, ht) = (cell * map.grid_width, cell * map.grid_height);
    let _ = write!(h, "<h3>Where the watermark holds</h3><svg width=\"{w}\" height=\"{ht}\" role=\"img\" aria-label=\"tamper heat map\">");
    for gy in 0..map.grid_height {
        for gx in 0..map.grid_width {
            let i = gy * map.grid_width + gx;
            let a = map.agreement.get(i).copied().unwrap_or(f32::NAN);
            // Grey where there is nothing to compare (outside the picture after a crop).
            let (r, g, b) = if a.is_finite() {
                let t = ((a - 0.5) / 0.3).clamp(0.0, 1.0);
                (
                    (200.0 * (1.0 - t) + 30.0 * t) as u8,
                    (60.0 + 60.0 * t) as u8,
                    (60.0 * (1.0 - t) + 190.0 * t) as u8,
                )
            } else {
                (190, 190, 190)
            };
            let label = if a.is_finite() {
                format!("agreement {a:.3}")
            } else {
                "outside the picture".to_string()
            };
            let stroke = if map.tampered.get(i).copied().unwrap_or(false) {
                "#000"
            } else {
                "none"
            };
            let _ = write!(
                h,
                "<rect x=\"{}\" y=\"{}\" width=\"{cell}\" height=\"{cell}\" fill=\"rgb({r},{g},{b})\" stroke=\"{stroke}\"><title>block ({gy},{gx}): {label}</title></rect>",
                gx * cell,
                gy * cell
            );
        }
    }
    h.push_str("</svg><p class=\"small\">Black outlines: blocks judged replaced (no mark of this clip left there: foreign content, or pasted from another clip). Paler blue alone is not an edit: smooth picture areas keep less of the mark. Grey: outside the observed picture.</p>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeline_draws_each_segment_where_it_is() {
        let seg = |a: f64, b: f64, id: Option<&str>| crate::scan::Segment {
            start_s: a,
            end_s: b,
            first_frame: 0,
            last_frame: 1,
            content_id: id.map(String::from),
            key_id: "k".into(),
            log10_p_value: -50.0,
            template_range: [0, 15],
            removed: Vec::new(),
            credentials: None,
        };
        let mut h = String::new();
        timeline(
            &mut h,
            &[seg(3.0, 5.0, Some("00000000c0ffee01")), seg(7.0, 9.0, None)],
            10.0,
        );
        // 580 px for 10 s from x = 30: 3 s at 204, 7 s at 436.
        assert!(
            h.contains("<rect x=\"204.0\" y=\"20\" width=\"116.0\""),
            "{h}"
        );
        assert!(h.contains("<rect x=\"436.0\""), "{h}");
        assert!(h.contains("3.0–5.0 s") && h.contains("7.0–9.0 s"));
        assert!(h.contains("content id 00000000c0ffee01") && h.contains("not decoded"));
        assert!(h.contains("2 segment(s)"));
        // Nothing found and a zero-length file: still a valid picture.
        let mut empty = String::new();
        timeline(&mut empty, &[], 0.0);
        assert!(empty.ends_with("</p>") && empty.contains("0 segment(s)"));
    }

    #[test]
    fn the_clip_timeline_draws_the_part_shown_and_the_shots() {
        let shots = [
            candor_manifest::ShotInfo {
                prompt: "a <red> circle".into(),
                first_frame: 0,
                frames: 16,
            },
            candor_manifest::ShotInfo {
                prompt: "a blue star".into(),
                first_frame: 16,
                frames: 16,
            },
        ];
        let made = crate::timeline::MadeAs {
            frames: Some(32),
            fps: Some(8),
        };
        let p = crate::timeline::ClipPlacement::new(8, 23, made, &shots, 0.0, true);
        let mut h = String::new();
        clip_timeline(&mut h, &p);
        assert!(
            h.contains("this file shows seconds 1.0–3.0 (frames 8–23)"),
            "{h}"
        );
        assert!(h.contains("shot 1: a &lt;red&gt; circle") && h.contains("shot 2: a blue star"));
        assert!(h.contains("4.0 s"), "the whole clip's length: {h}");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<script>\"a\" & 'b'</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn a_report_has_its_sections() {
        let report = FileReport {
            file: "x<y>.mp4".into(),
            status: Status::Error,
            verdict: "Could not check".into(),
            manifest: None,
            watermark: None,
            watermark_note: None,
            error: Some("empty file".into()),
        };
        let html = render_html(&[report], "candor test");
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("x&lt;y&gt;.mp4"));
        assert!(html.contains("Error: empty file"));
        assert!(!html.contains("<script"));
    }
}
