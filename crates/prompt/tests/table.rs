//! The explicit table holds only words the encoder alone gets wrong.
mod common;

use candor_prompt::{lexicon, Slot};

#[test]
fn every_table_entry_is_needed() {
    let Some(mut reader) = common::reader() else {
        return;
    };
    reader.set_table(false);
    let mut redundant = Vec::new();
    for (slot, word, value, _) in lexicon::TABLE {
        let prompt = match slot {
            Slot::Shape => format!("a red {word}"),
            _ => format!("a circle {word}"),
        };
        let r = reader.read(&prompt).unwrap();
        let got = match slot {
            Slot::Colour => r.objects.first().and_then(|o| o.colour.clone()),
            Slot::Background => r.background.clone(),
            Slot::Shape => r.objects.first().and_then(|o| o.shape.clone()),
            Slot::Motion => r.objects.first().and_then(|o| o.motion.clone()),
        };
        let explain = reader.explain(word).unwrap();
        // (Shapes are read as "a <word>", which explain also does.)
        let k = match slot {
            Slot::Colour => 0,
            Slot::Shape => 1,
            Slot::Motion => 2,
            Slot::Background => 3,
        };
        let top: Vec<String> = explain[k]
            .iter()
            .take(2)
            .map(|(v, s)| format!("{v} {s:.2}"))
            .collect();
        println!(
            "{word:>12} → {value:<7} encoder alone: {:<22} read: {:?}",
            top.join(", "),
            got.as_ref().map(|m| (&m.words, &m.value))
        );
        if got.is_some_and(|m| m.value == *value && m.words == *word) {
            redundant.push(*word);
        }
    }
    assert!(
        redundant.is_empty(),
        "the encoder alone reads these right: {redundant:?}"
    );
}
