//! all-MiniLM-L6-v2 through candle-transformers' BERT: tokenise, run the six layers, mean-pool the
//! last hidden states over the attention mask, L2-normalise (what sentence-transformers does with
//! this model's `1_Pooling` and `2_Normalize` modules).

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::PromptError;

/// The files an encoder directory must hold.
pub const ENCODER_FILES: [&str; 3] = ["config.json", "model.safetensors", "tokenizer.json"];

/// sentence-transformers' `max_seq_length` for this model (`sentence_bert_config.json`).
const MAX_TOKENS: usize = 256;

/// Texts embedded in one forward pass.
const BATCH: usize = 64;

/// A loaded sentence encoder.
pub struct Encoder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").finish_non_exhaustive()
    }
}

fn bad(path: &Path, reason: impl std::fmt::Display) -> PromptError {
    PromptError::BadEncoder {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

impl Encoder {
    /// Loads `config.json`, `model.safetensors` and `tokenizer.json` from `dir`.
    pub fn open(dir: &Path) -> Result<Self, PromptError> {
        let file = |name: &str| -> PathBuf { dir.join(name) };
        let config_path = file("config.json");
        let config_text = std::fs::read_to_string(&config_path).map_err(|e| PromptError::Io {
            path: config_path.clone(),
            source: e,
        })?;
        let config: Config =
            serde_json::from_str(&config_text).map_err(|e| bad(&config_path, e))?;

        let tokenizer_path = file("tokenizer.json");
        let tokenizer_bytes = std::fs::read(&tokenizer_path).map_err(|e| PromptError::Io {
            path: tokenizer_path.clone(),
            source: e,
        })?;
        let mut tokenizer =
            Tokenizer::from_bytes(&tokenizer_bytes).map_err(|e| bad(&tokenizer_path, e))?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..PaddingParams::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| bad(&tokenizer_path, e))?;

        let weights_path = file("model.safetensors");
        let weights = std::fs::read(&weights_path).map_err(|e| PromptError::Io {
            path: weights_path.clone(),
            source: e,
        })?;
        let device = Device::Cpu;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| bad(&weights_path, e))?;
        let model = BertModel::load(vb, &config).map_err(|e| bad(&weights_path, e))?;
        Ok(Self {
            model,
            tokenizer,
            device,
        })
    }

    /// Unit-length embeddings (384 values each), one per text, in order.
    /// Whether `word` (lower case) is a whole word of the encoder's vocabulary: a real word the
    /// tokenizer does not have to spell out in pieces ("yellow", not "yelow").
    pub fn knows_word(&self, word: &str) -> bool {
        self.tokenizer.token_to_id(word).is_some()
    }

    pub fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, PromptError> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(BATCH) {
            out.extend(self.embed_batch(chunk)?);
        }
        Ok(out)
    }

    fn embed_batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, PromptError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let inputs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let encodings = self
            .tokenizer
            .encode_batch(inputs, true)
            .map_err(|e| PromptError::Encoder(e.to_string()))?;
        let rows = encodings.len();
        let len = encodings.first().map_or(0, |e| e.get_ids().len());
        let mut ids = Vec::with_capacity(rows * len);
        let mut types = Vec::with_capacity(rows * len);
        let mut mask = Vec::with_capacity(rows * len);
        for e in &encodings {
            if e.get_ids().len() != len {
                return Err(PromptError::Encoder("unequal padded lengths".into()));
            }
            ids.extend_from_slice(e.get_ids());
            types.extend_from_slice(e.get_type_ids());
            mask.extend_from_slice(e.get_attention_mask());
        }
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let ids = Tensor::from_vec(ids, (rows, len), &self.device)?;
            let types = Tensor::from_vec(types, (rows, len), &self.device)?;
            let mask = Tensor::from_vec(mask, (rows, len), &self.device)?;
            let hidden = self.model.forward(&ids, &types, Some(&mask))?; // [rows, len, 384]
            let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // [rows, len, 1]
            let summed = hidden.broadcast_mul(&mask)?.sum(1)?; // [rows, 384]
            let counts = mask.sum(1)?.clamp(1e-9f32, f32::MAX)?; // [rows, 1]
            let mean = summed.broadcast_div(&counts)?;
            let norm = mean
                .sqr()?
                .sum_keepdim(1)?
                .sqrt()?
                .clamp(1e-12f32, f32::MAX)?;
            mean.broadcast_div(&norm)?.to_vec2::<f32>()
        };
        run().map_err(|e| PromptError::Encoder(e.to_string()))
    }
}

/// Cosine of two unit vectors.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
