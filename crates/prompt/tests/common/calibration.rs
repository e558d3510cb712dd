//! Scoring a reader on `tests/data/calibration.json` (shared by tests/encoder.rs and
//! examples/calibrate.rs).
#![allow(dead_code)]
use candor_prompt::{PromptReader, Reading};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Expected {
    pub colour: Option<String>,
    pub shape: Option<String>,
    pub motion: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Drawable {
    pub prompt: String,
    pub objects: Vec<Expected>,
    pub background: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Undrawable {
    pub prompt: String,
}

#[derive(Debug, Deserialize)]
pub struct Set {
    pub drawable: Vec<Drawable>,
    pub undrawable: Vec<Undrawable>,
}

pub fn load() -> Set {
    load_from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/calibration.json"
    ))
}

pub fn load_from(path: &str) -> Set {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub right: usize,
    pub total: usize,
}

impl Tally {
    fn add(&mut self, ok: bool) {
        self.total += 1;
        self.right += usize::from(ok);
    }
    pub fn rate(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.right as f64 / self.total as f64
        }
    }
}

#[derive(Debug, Default)]
pub struct Score {
    pub colour: Tally,
    pub shape: Tally,
    pub motion: Tally,
    pub background: Tally,
    pub objects: Tally,
    /// Undrawable prompts refused.
    pub refused: Tally,
    /// Drawable prompts refused (should be 0).
    pub false_refusals: Vec<String>,
    pub mistakes: Vec<String>,
}

impl Score {
    /// Sum of the slot rates, minus a heavy cost per wrong refusal either way (the grid's goal).
    pub fn objective(&self) -> f64 {
        self.colour.rate()
            + self.shape.rate()
            + self.motion.rate()
            + self.background.rate()
            + 2.0 * self.refused.rate()
            - 0.2 * self.false_refusals.len() as f64
    }

    pub fn table(&self) -> String {
        let row = |name: &str, t: &Tally| {
            format!(
                "| {name} | {}/{} | {:.1} % |\n",
                t.right,
                t.total,
                100.0 * t.rate()
            )
        };
        let mut s = String::from("| slot | right | accuracy |\n|---|---|---|\n");
        s += &row("colour", &self.colour);
        s += &row("shape", &self.shape);
        s += &row("motion", &self.motion);
        s += &row("background", &self.background);
        s += &row("object count", &self.objects);
        s += &row("undrawable refused", &self.refused);
        s += &format!(
            "| drawable refused | {} | (must be 0) |\n",
            self.false_refusals.len()
        );
        s
    }
}

fn value(m: &Option<candor_prompt::Match>) -> Option<&str> {
    m.as_ref().map(|m| m.value.as_str())
}

pub fn score(reader: &PromptReader, set: &Set) -> Score {
    let mut s = Score::default();
    for d in &set.drawable {
        let r: Reading = reader.read(&d.prompt).unwrap();
        if r.refusal.is_some() {
            s.false_refusals
                .push(format!("{} -> {}", d.prompt, r.describe()));
        }
        s.objects.add(r.objects.len() == d.objects.len());
        let mut wrong = Vec::new();
        for (i, e) in d.objects.iter().enumerate() {
            let o = r.objects.get(i);
            let got = |f: fn(&candor_prompt::ObjectReading) -> &Option<candor_prompt::Match>| {
                o.and_then(|o| value(f(o)))
            };
            let c = got(|o| &o.colour) == e.colour.as_deref();
            let sh = got(|o| &o.shape) == e.shape.as_deref();
            let m = got(|o| &o.motion) == e.motion.as_deref();
            s.colour.add(c);
            s.shape.add(sh);
            s.motion.add(m);
            if !(c && sh && m) {
                wrong.push(format!(
                    "object {i}: want {:?}/{:?}/{:?}",
                    e.colour, e.shape, e.motion
                ));
            }
        }
        let b = value(&r.background) == d.background.as_deref();
        s.background.add(b);
        if !b {
            wrong.push(format!("background: want {:?}", d.background));
        }
        if !wrong.is_empty() {
            s.mistakes.push(format!(
                "{}\n    {}\n    {}",
                d.prompt,
                r.describe(),
                wrong.join("; ")
            ));
        }
    }
    for u in &set.undrawable {
        let r = reader.read(&u.prompt).unwrap();
        s.refused.add(r.refusal.is_some());
        if r.refusal.is_none() {
            s.mistakes.push(format!(
                "{}\n    {}\n    should be refused",
                u.prompt,
                r.describe()
            ));
        }
    }
    s
}
