//! The single error type of the options parser: which option (or preset
//! entry) was rejected and a one-line human reason, ready for a 400 body.

/// Why an option could not be used. The kind only selects the message shape;
/// callers normally just display the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionErrorKind {
    /// The option name is not one we know (`option` holds the name).
    Unknown,
    /// The name is known but its arguments are not acceptable
    /// (`option` holds the whole raw segment, e.g. `rs:foo`).
    Invalid,
    /// A preset definition (`option` holds the preset entry or name).
    Preset,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.kind, .option, .reason))]
pub struct OptionError {
    pub option: String,
    pub reason: String,
    pub kind: OptionErrorKind,
}

fn render(kind: &OptionErrorKind, option: &str, reason: &str) -> String {
    match kind {
        OptionErrorKind::Unknown => format!("unknown option `{option}`"),
        OptionErrorKind::Invalid => format!("invalid option `{option}`: {reason}"),
        OptionErrorKind::Preset => format!("invalid preset `{option}`: {reason}"),
    }
}

impl OptionError {
    pub fn unknown(name: &str) -> Self {
        OptionError {
            option: name.to_owned(),
            reason: "unknown option".to_owned(),
            kind: OptionErrorKind::Unknown,
        }
    }

    pub fn invalid(segment: &str, reason: impl Into<String>) -> Self {
        OptionError {
            option: segment.to_owned(),
            reason: reason.into(),
            kind: OptionErrorKind::Invalid,
        }
    }

    pub fn preset(entry: &str, reason: impl Into<String>) -> Self {
        OptionError {
            option: entry.to_owned(),
            reason: reason.into(),
            kind: OptionErrorKind::Preset,
        }
    }
}
