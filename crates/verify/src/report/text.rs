//! The report as text for people: one block per file, the verdict last.

use std::fmt::Write;

use candor_manifest::CredentialState;

use super::FileReport;

/// One file's report as text; `trust_configured` says whether trust anchors were given.
pub fn render_text(report: &FileReport, trust_configured: bool) -> String {
    super::printable(&render_raw(report, trust_configured))
}

fn render_raw(report: &FileReport, trust_configured: bool) -> String {
    let mut out = String::new();
    let o = &mut out;
    let _ = writeln!(o, "{}", report.file.display());
    let Some(m) = &report.manifest else {
        let _ = writeln!(
            o,
            "  ERROR: {}",
            report.error.as_deref().unwrap_or("unreadable")
        );
        let _ = writeln!(o);
        return out;
    };
    let _ = writeln!(
        o,
        "  Content Credentials: {} - {}",
        m.state.name(),
        m.summary
    );
    if let Some(s) = &m.signer {
        let time = s.signing_time.as_deref().unwrap_or("unknown time");
        let stamp = super::time_stamp_words(s);
        let _ = writeln!(
            o,
            "  Signer:      {} (issued by {}), {}",
            s.common_name.as_deref().unwrap_or("?"),
            s.issuer.as_deref().unwrap_or("?"),
            s.algorithm.as_deref().unwrap_or("?")
        );
        let _ = writeln!(o, "  Signed:      {time} ({stamp})");
    }
    if let Some(words) = &m.source_type {
        let _ = writeln!(o, "  Made as:     {words}");
    }
    if let Some(g) = &m.claim_generator {
        let _ = writeln!(o, "  Made with:   {g}");
    }
    if let Some(gen) = &m.generation {
        let _ = writeln!(
            o,
            "  Model:       {} (weights sha256 {})",
            gen.model_name, gen.model_sha256
        );
        let _ = writeln!(o, "  Prompt:      \"{}\" (seed {})", gen.prompt, gen.seed);
    }
    if !m.actions.is_empty() {
        let list: Vec<String> = m
            .actions
            .iter()
            .map(|a| match &a.source_type_words {
                Some(w) => format!("{} ({w})", a.action),
                None => a.action.clone(),
            })
            .collect();
        let _ = writeln!(o, "  Actions:     {}", list.join(", "));
    }
    for i in &m.ingredients {
        let _ = writeln!(
            o,
            "  Ingredient:  {} [{}]{}",
            i.title.as_deref().unwrap_or("untitled"),
            i.relationship,
            if i.manifest.is_some() {
                ", with its own credentials"
            } else {
                ""
            }
        );
    }
    if !m.failures.is_empty() {
        let _ = writeln!(o, "  Findings:");
        for f in &m.failures {
            let _ = writeln!(o, "    {} - {}", f.code, f.explanation);
        }
    }
    if !m.ingredient_failures.is_empty() {
        let _ = writeln!(o, "  Findings in ingredients' own credentials:");
        for f in &m.ingredient_failures {
            let _ = writeln!(o, "    {} - {}", f.code, f.explanation);
        }
    }
    if m.state != CredentialState::None && !trust_configured {
        let _ = writeln!(
            o,
            "  Trust:       no --trust anchors given, so no signer can be trusted"
        );
    }
    match (&report.watermark, &report.watermark_note) {
        (Some(w), _) => {
            let _ = writeln!(o, "  Watermark:   {}", w.report.summary);
            if w.report.present {
                let _ = writeln!(
                    o,
                    "               bit error rate {:.2}, {} frames read, model {}",
                    w.report.detection.bit_error_rate(),
                    w.report.frames_read,
                    w.report.model
                );
            }
            for seg in &w.report.segments {
                let _ = writeln!(
                    o,
                    "  Segment:     {:.2}–{:.2} s (frames {}–{}): content id {}, original frames {}–{}, p = 10^{:.0}",
                    seg.start_s,
                    seg.end_s,
                    seg.first_frame,
                    seg.last_frame,
                    seg.content_id.as_deref().unwrap_or("not decoded"),
                    seg.template_range[0],
                    seg.template_range[1],
                    seg.log10_p_value
                );
                if let Some(c) = &seg.credentials {
                    let _ = writeln!(o, "               {}", c.describe());
                }
            }
            if let Some(p) = &w.report.placement {
                if let Some(excerpt) = p.describe_excerpt() {
                    let _ = writeln!(o, "  Placed:      {excerpt}");
                }
                for shot in &p.shots {
                    let _ = writeln!(
                        o,
                        "  Shot {}:      {:.2}–{:.2} s of this file (original frames {}–{}): \"{}\"",
                        shot.number,
                        shot.file_start_s,
                        shot.file_end_s,
                        shot.first_frame,
                        shot.last_frame,
                        shot.prompt
                    );
                }
            }
            if !w.report.transforms.is_empty() {
                let _ = writeln!(
                    o,
                    "  Transforms:  {} (platform transforms, not edits)",
                    w.report.transforms.join("; ")
                );
            }
            if let Some(r) = &w.recovered {
                let _ = writeln!(o, "  Recovered:   {}: {}", r.origin(), r.summary);
                if let Some(g) = &r.manifest.generation {
                    let _ = writeln!(
                        o,
                        "               model {}, prompt \"{}\", seed {}",
                        g.model_name, g.prompt, g.seed
                    );
                }
            }
        }
        (None, Some(note)) => {
            let _ = writeln!(o, "  Watermark:   {note}");
        }
        (None, None) => {}
    }
    let _ = writeln!(o, "  Verdict:     {}", report.verdict);
    let _ = writeln!(o);
    out
}
