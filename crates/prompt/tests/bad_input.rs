//! A missing, partial or corrupt encoder install is a typed error, never a panic or a silent
//! fallback. These run without the real encoder.
use std::path::Path;

use candor_prompt::{PromptError, PromptReader, World};

fn world() -> World {
    World {
        colours: vec!["red".into()],
        shapes: vec!["circle".into()],
        motions: vec!["moving left".into()],
        backgrounds: vec!["sky".into()],
    }
}

/// all-MiniLM-L6-v2's config.json.
const CONFIG: &str = r#"{
  "_name_or_path": "nreimers/MiniLM-L6-H384-uncased",
  "architectures": [
    "BertModel"
  ],
  "attention_probs_dropout_prob": 0.1,
  "gradient_checkpointing": false,
  "hidden_act": "gelu",
  "hidden_dropout_prob": 0.1,
  "hidden_size": 384,
  "initializer_range": 0.02,
  "intermediate_size": 1536,
  "layer_norm_eps": 1e-12,
  "max_position_embeddings": 512,
  "model_type": "bert",
  "num_attention_heads": 12,
  "num_hidden_layers": 6,
  "pad_token_id": 0,
  "position_embedding_type": "absolute",
  "transformers_version": "4.8.2",
  "type_vocab_size": 2,
  "use_cache": true,
  "vocab_size": 30522
}"#;

/// A minimal valid tokenizer.json (a word-level model).
const TOKENIZER: &str = r#"{"version": "1.0", "truncation": null, "padding": null,
  "added_tokens": [], "normalizer": null, "pre_tokenizer": {"type": "Whitespace"},
  "post_processor": null, "decoder": null,
  "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "a": 1}, "unk_token": "[UNK]"}}"#;

fn install(dir: &Path, config: &str, tokenizer: &[u8], weights: &[u8]) {
    std::fs::write(dir.join("config.json"), config).unwrap();
    std::fs::write(dir.join("tokenizer.json"), tokenizer).unwrap();
    std::fs::write(dir.join("model.safetensors"), weights).unwrap();
}

fn open_err(dir: &Path) -> PromptError {
    match PromptReader::open(dir, world()) {
        Ok(_) => panic!("opened a broken encoder"),
        Err(e) => e,
    }
}

#[test]
fn missing_directory_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let e = open_err(&dir.path().join("nowhere"));
    assert!(matches!(e, PromptError::Io { .. }), "{e}");
}

#[test]
fn truncated_safetensors_is_a_bad_encoder() {
    let dir = tempfile::tempdir().unwrap();
    // A header length that promises more than the file holds.
    let mut weights = 1_000_000u64.to_le_bytes().to_vec();
    weights.extend_from_slice(b"{\"embeddings.word_embeddings.weight\":");
    install(dir.path(), CONFIG, TOKENIZER.as_bytes(), &weights);
    let e = open_err(dir.path());
    match &e {
        PromptError::BadEncoder { path, .. } => assert!(path.ends_with("model.safetensors")),
        other => panic!("{other}"),
    }
    // Truncated to nothing.
    install(dir.path(), CONFIG, TOKENIZER.as_bytes(), b"");
    assert!(matches!(
        open_err(dir.path()),
        PromptError::BadEncoder { .. }
    ));
}

#[test]
fn valid_safetensors_without_the_tensors_is_a_bad_encoder() {
    let dir = tempfile::tempdir().unwrap();
    let header = br#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
    let mut weights = (header.len() as u64).to_le_bytes().to_vec();
    weights.extend_from_slice(header);
    weights.extend_from_slice(&1.0f32.to_le_bytes());
    install(dir.path(), CONFIG, TOKENIZER.as_bytes(), &weights);
    assert!(matches!(
        open_err(dir.path()),
        PromptError::BadEncoder { .. }
    ));
}

#[test]
fn garbage_tokenizer_is_a_bad_encoder() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), CONFIG, b"\xff\xfe not json {", b"");
    match open_err(dir.path()) {
        PromptError::BadEncoder { path, .. } => assert!(path.ends_with("tokenizer.json")),
        other => panic!("{other}"),
    }
    install(dir.path(), CONFIG, br#"{"model": 3}"#, b"");
    assert!(matches!(
        open_err(dir.path()),
        PromptError::BadEncoder { .. }
    ));
}

#[test]
fn garbage_config_is_a_bad_encoder() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), "[1, 2", TOKENIZER.as_bytes(), b"");
    match open_err(dir.path()) {
        PromptError::BadEncoder { path, .. } => assert!(path.ends_with("config.json")),
        other => panic!("{other}"),
    }
}

#[test]
fn partial_install_is_an_error_not_a_fallback() {
    if std::env::var_os(candor_prompt::ENCODER_ENV).is_some() {
        return; // open_default would look there instead
    }
    let models = tempfile::tempdir().unwrap();
    let dir = models.path().join("text-encoder");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("config.json"), CONFIG).unwrap();
    match PromptReader::open_default(world(), models.path()) {
        Err(PromptError::PartialInstall { missing, .. }) => {
            assert_eq!(missing, "model.safetensors, tokenizer.json")
        }
        Err(e) => panic!("{e}"),
        Ok(r) => panic!("fell back: {:?}", r.fallback()),
    }
    // All three present but corrupt: the loading error, not a fallback.
    install(&dir, CONFIG, TOKENIZER.as_bytes(), b"short");
    assert!(matches!(
        PromptReader::open_default(world(), models.path()),
        Err(PromptError::BadEncoder { .. })
    ));
    // None there: the keyword reader, saying so.
    let empty = tempfile::tempdir().unwrap();
    let r = PromptReader::open_default(world(), empty.path()).unwrap();
    assert_eq!(r.encoder(), "keywords");
    assert!(r.fallback().unwrap().contains("install-text-encoder.sh"));
}

/// A colour no model here draws, asked of an object, refuses the prompt with the reason (the
/// object drawn in another colour would ignore what was asked); the same word on the scene does
/// not. Typed shorthand ("u", "teh", "pls") is never a thing to refuse.
#[test]
fn an_undrawable_colour_refuses_and_typed_shorthand_does_not() {
    let reader = PromptReader::keywords(world());
    for prompt in [
        "a brown circle moving left",
        "a big black circle",
        "a red circle and a tan circle",
    ] {
        let r = reader.read(prompt).unwrap();
        let refusal = r.refusal.unwrap_or_else(|| panic!("{prompt}: not refused"));
        assert!(
            refusal.reason.contains("is not a colour the model draws"),
            "{prompt}: {}",
            refusal.reason
        );
    }
    for prompt in [
        "a red circle against a black sky",
        "u make a red circle moving left pls",
        "a red circle moving left on teh sky",
    ] {
        let r = reader.read(prompt).unwrap();
        assert!(r.refusal.is_none(), "{prompt}: {:?}", r.refusal);
        assert_eq!(r.caption().split(" and ").count(), 1, "{prompt}");
        assert!(
            r.caption().starts_with("a red circle"),
            "{prompt}: {}",
            r.caption()
        );
    }
}
