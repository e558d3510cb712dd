//! The binary's one error type: every library error, and usage mistakes, in words at the edge.
//! All of them exit with code 2 (usage or unreadable input); a failed verification is not an
//! error but an [`super::Outcome`].

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A usage mistake or an unusable input, said in the CLI's own words (flag names included).
    #[error("{0}")]
    Usage(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Manifest(#[from] candor_manifest::ManifestError),
    #[error(transparent)]
    Media(#[from] candor_media::MediaError),
    #[error(transparent)]
    Model(#[from] candor_diffusion::DiffusionError),
    #[error(transparent)]
    Generate(#[from] candor_generate::GenerateError),
    #[error(transparent)]
    Verify(#[from] candor_verify::VerifyError),
    #[error(transparent)]
    Store(#[from] candor_store::StoreError),
    #[error(transparent)]
    Eval(#[from] candor_eval::EvalError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

impl From<String> for CliError {
    fn from(message: String) -> Self {
        CliError::Usage(message)
    }
}

impl From<&str> for CliError {
    fn from(message: &str) -> Self {
        CliError::Usage(message.to_string())
    }
}
