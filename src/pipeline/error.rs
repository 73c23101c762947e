//! The pipeline's error type and its mapping into the service's [`Error`].
//!
//! Bad input (undecodable, unknown or unsupported format, too large) is the source's
//! fault and answers 422 with a one-line reason; an option this build does not execute
//! yet answers 501; an encoder failure or a caught panic is ours and answers 500.

use crate::error::{Error, Kind};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PipelineError {
    /// The bytes are not an image format we recognise.
    #[error("unknown image format")]
    UnknownFormat,
    /// A recognised format, variant or output this build cannot handle (yet).
    #[error("{0}")]
    Unsupported(String),
    /// The source is larger than allowed (resolution, dimensions).
    #[error("{0}")]
    TooLarge(String),
    /// Corrupt, truncated or lying input.
    #[error("cannot decode the source image: {0}")]
    Decode(String),
    /// The URL asks for options the pipeline does not execute yet.
    #[error("{0}")]
    NotImplemented(String),
    /// The encoder failed on a valid bitmap: our fault.
    #[error("encoding failed: {0}")]
    Encode(String),
    /// The resampler refused its input: our fault (the plan should prevent it).
    #[error("resize failed: {0}")]
    Resize(String),
    /// A panic inside the pipeline, caught.
    #[error("image processing crashed: {0}")]
    Panic(String),
}

impl From<PipelineError> for Error {
    fn from(e: PipelineError) -> Error {
        let kind = match &e {
            PipelineError::UnknownFormat
            | PipelineError::Unsupported(_)
            | PipelineError::TooLarge(_)
            | PipelineError::Decode(_) => Kind::Unprocessable,
            PipelineError::NotImplemented(_) => Kind::NotImplemented,
            PipelineError::Encode(_) | PipelineError::Resize(_) | PipelineError::Panic(_) => {
                Kind::Internal
            }
        };
        let public = match &e {
            // Our own failures: a generic line for the client, the detail in the log.
            PipelineError::Encode(_) | PipelineError::Resize(_) | PipelineError::Panic(_) => {
                "image processing failed".to_string()
            }
            other => one_line(&other.to_string()),
        };
        Error::new(kind, public).with_cause(e)
    }
}

/// First line, at most 200 characters: decoder messages can be long or multi-line.
fn one_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default();
    match line.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &line[..i]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let cases = [
            (PipelineError::UnknownFormat, 422),
            (PipelineError::Decode("x".into()), 422),
            (PipelineError::TooLarge("x".into()), 422),
            (PipelineError::Unsupported("x".into()), 422),
            (PipelineError::NotImplemented("x".into()), 501),
            (PipelineError::Encode("x".into()), 500),
            (PipelineError::Panic("x".into()), 500),
        ];
        for (e, status) in cases {
            assert_eq!(Error::from(e.clone()).status().as_u16(), status, "{e:?}");
        }
    }

    #[test]
    fn messages_are_one_line() {
        let e = Error::from(PipelineError::Decode("a\nb".into()));
        assert_eq!(e.public_message(), "cannot decode the source image: a");
        let e = Error::from(PipelineError::Panic("secret detail".into()));
        assert!(!e.public_message().contains("secret"));
    }
}
