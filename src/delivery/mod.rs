//! Turning a blob or a variant into HTTP: ranges, conditionals, headers, and the one
//! body type that owns the never-empty rule.

pub mod blob;
pub mod body;
pub mod conditional;
pub mod headers;
pub mod multipart;
pub mod range;
pub mod redirect;
pub mod s3_open;
pub mod sniff;
