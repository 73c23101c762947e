//! The `aperture` command line: `serve` runs the server, `sign` prints signed paths,
//! `convert` runs the image pipeline on local files, `health` probes a running server
//! (the container's HEALTHCHECK).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::config::{CliOverrides, Config, ConfigErrors, Validation};
use crate::options::{self, OutputFormat, Presets};
use crate::pipeline::{self, Settings, Variant};
use crate::url::signature::Signer;

#[derive(Debug, Parser)]
#[command(
    name = "aperture",
    version,
    about = "Image proxy and CDN origin with imgproxy-compatible signed URLs"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve {
        /// A TOML file layered over the built-in defaults (see config/default.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// host:port to listen on (overrides APERTURE_LISTEN and PORT).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Print the signed path for a source and options, using the configured key/salt.
    Sign {
        /// Source URL, e.g. local:///photo.jpg or s3://bucket/key.jpg
        #[arg(long)]
        source: String,
        /// Processing options separated by '/', e.g. rs:fit:300:300/q:80
        #[arg(long, default_value = "")]
        options: String,
        /// Output extension, e.g. webp
        #[arg(long)]
        extension: Option<String>,
        /// Encode the source as URL-safe base64 instead of `plain/`.
        #[arg(long)]
        base64: bool,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Process a local image file with the server's pipeline and option grammar.
    Convert {
        /// Source image (JPEG, PNG or WebP).
        input: PathBuf,
        /// Where to write the result; its extension picks the format unless the
        /// options name one (`f:webp`).
        output: PathBuf,
        /// Processing options separated by '/', e.g. rs:fit:300:300/q:80
        #[arg(long, default_value = "")]
        options: String,
    },
    /// Exit 0 when the server configured by the same environment (APERTURE_LISTEN or
    /// PORT) answers `GET /health` with 200 within 3 s, else 1. For HEALTHCHECK.
    Health {
        /// host:port to probe instead of the configured listen address.
        #[arg(long)]
        addr: Option<String>,
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// Where a client on this machine reaches a server listening on `addr`: a server bound
/// to the unspecified address (0.0.0.0, `::`, e.g. when only `PORT` is set) listens on
/// loopback too, and the unspecified address itself is nothing to connect to.
pub fn reachable(mut addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
        });
    }
    addr
}

/// The `try:` line `serve` prints: a curl of `example_path` that works from this machine.
pub fn try_line(listening: SocketAddr, example_path: &str) -> String {
    let addr = reachable(listening);
    format!("try: curl -sS -o sunset.jpg -D - http://{addr}{example_path}")
}

/// `aperture health`: one `GET /health` over HTTP/1.1 to `addr` (an unspecified
/// address such as 0.0.0.0 is probed on loopback). Returns the reason on failure.
pub fn health(addr: SocketAddr, timeout: std::time::Duration) -> Result<(), String> {
    use std::io::{Read, Write};
    let addr = reachable(addr);
    let fail = |e: std::io::Error| format!("{addr}: {e}");
    let mut conn = std::net::TcpStream::connect_timeout(&addr, timeout).map_err(fail)?;
    conn.set_read_timeout(Some(timeout)).map_err(fail)?;
    conn.set_write_timeout(Some(timeout)).map_err(fail)?;
    write!(
        conn,
        "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(fail)?;
    let mut head = [0u8; 64];
    let n = conn.read(&mut head).map_err(fail)?;
    let status = String::from_utf8_lossy(&head[..n]);
    let status = status.lines().next().unwrap_or("");
    match status.split(' ').nth(1) {
        Some("200") => Ok(()),
        _ => Err(format!("{addr}: GET /health answered `{status}`")),
    }
}

/// `aperture convert`: reads `input`, applies `options` with the built-in defaults
/// (imgproxy's: quality 80, WebP 79, 50 MP limit, EXIF auto-rotation), writes `output`.
/// Returns the one-line reason on failure.
pub fn convert(input: &Path, output: &Path, options: &str) -> Result<Variant, String> {
    let segments: Vec<&str> = options.split('/').filter(|s| !s.is_empty()).collect();
    let mut opts =
        options::parse(&segments, &Presets::empty()).map_err(|e| format!("--options: {e}"))?;
    if opts.format.is_none() {
        let ext = output.extension().and_then(|e| e.to_str()).unwrap_or("");
        opts.format = Some(OutputFormat::from_extension(ext).ok_or_else(|| {
            format!(
                "{}: cannot tell the output format from the extension `{ext}`; name one with f:FORMAT",
                output.display()
            )
        })?);
    }
    let bytes = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let variant = pipeline::run_caught(&bytes, &opts, None, &Settings::default())
        .map_err(|e| format!("{}: {e}", input.display()))?;
    std::fs::write(output, &variant.bytes).map_err(|e| format!("{}: {e}", output.display()))?;
    Ok(variant)
}

/// Loads configuration from the process environment.
pub fn load_config(
    file: Option<&std::path::Path>,
    cli: &CliOverrides,
    validation: Validation,
) -> Result<Config, ConfigErrors> {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    Config::load_with(file, &env, cli, validation)
}

/// `aperture sign`: the signed path for `source` with `options` and `extension`, after
/// the server's own parse of it (`server::parse_image_path`, with the configured
/// presets) accepts it, so no path is printed that the server would answer `400`. The
/// error is that `400`'s one line.
pub fn sign(
    config: &Config,
    source: &str,
    options: &str,
    extension: Option<&str>,
    base64: bool,
) -> Result<String, String> {
    let extension = extension.filter(|e| !e.is_empty());
    // A `/`, `@`, `.`, `?`, `#` or space would end or split the path, and the server
    // would read another source or extension than the one asked for (`@we/bp` is part
    // of the source). No format is spelt so, so this is the unknown-format error.
    if let Some(ext) = extension
        && !ext
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(options::parse_extension(ext).map_or_else(
            |e| e.to_string(),
            |_| format!("`{ext}` cannot be a URL's extension"),
        ));
    }
    let presets = config.parse_presets()?;
    let s = &config.security;
    let signer = Signer::new(s.pairs.clone(), s.signature_size, s.allow_insecure);
    let path = signed_path(&signer, source, options, extension, base64);
    crate::server::parse_image_path(&path, &presets).map_err(|e| e.public_message().to_owned())?;
    Ok(path)
}

/// The path (without host) of a signed URL for `source` with `options`.
pub fn signed_path(
    signer: &Signer,
    source: &str,
    options: &str,
    extension: Option<&str>,
    base64: bool,
) -> String {
    use base64::Engine;
    let mut path = String::new();
    for opt in options.split('/').filter(|s| !s.is_empty()) {
        path.push('/');
        path.push_str(opt);
    }
    if base64 {
        path.push('/');
        path.push_str(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(source));
        if let Some(ext) = extension {
            path.push('.');
            path.push_str(ext);
        }
    } else {
        path.push_str("/plain/");
        path.push_str(&percent_encoding::utf8_percent_encode(source, SOURCE_ESCAPE).to_string());
        if let Some(ext) = extension {
            path.push('@');
            path.push_str(ext);
        }
    }
    format!("/{}{}", signer.sign(&path), path)
}

/// What `plain/` sources escape: the URL-path specials, so the source survives the
/// one unescape the server applies (like encodeURIComponent, keeping `:` and `/`).
const SOURCE_ESCAPE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'@')
    .add(b'`')
    .add(b'{')
    .add(b'}');

#[cfg(test)]
mod tests {
    use super::*;

    /// Signing with a key, presets `thumb`, and a local root that does not exist.
    fn config() -> Config {
        let mut c = Config::for_tests("/no/such/dir");
        c.security.pairs = vec![(b"secret".to_vec(), b"hello".to_vec())];
        c.presets = vec!["thumb=rs:fit:100:100".to_owned()];
        c
    }

    #[test]
    fn sign_prints_only_what_the_server_accepts() {
        let c = config();
        let sign = |source, options, ext, base64| sign(&c, source, options, ext, base64);
        let ok = [
            (
                "local:///a.jpg",
                "rs:fit:300:300",
                Some("webp"),
                false,
                "@webp",
            ),
            ("local:///a.jpg", "pr:thumb", Some("PNG"), true, ".PNG"),
            ("local:///a b@c.jpg", "raw:1", None, false, "/a%20b%40c.jpg"),
            // the server ignores the extension of raw answers, so any name will do
            ("local:///a.pdf", "raw:1", Some("pdf"), false, "@pdf"),
            ("local:///a.jpg", "", Some(""), false, "local:///a.jpg"),
        ];
        for (source, options, ext, base64, tail) in ok {
            let path = sign(source, options, ext, base64).unwrap();
            assert!(path.ends_with(tail), "{path}");
        }
        // The same one line as the server's 400 body.
        let bad = [
            ("local:///a.jpg", "bogus:1", None, "unknown option `bogus`"),
            (
                "local:///a.jpg",
                "rs:fit:300:300",
                Some("xyz"),
                "invalid option `.xyz`: unknown format `xyz`",
            ),
            (
                "local:///a.jpg",
                "pr:none",
                None,
                "invalid option `pr:none`: unknown preset `none`",
            ),
            (
                "ftp://example.com/a.jpg",
                "raw:1",
                None,
                "invalid URL: unsupported source URL scheme",
            ),
            // would be read as the source `/a.jpg@we/bp`, without an extension
            (
                "local:///a.jpg",
                "raw:1",
                Some("we/bp"),
                "invalid option `.we/bp`: unknown format `we/bp`",
            ),
            (
                "local:///a.jpg",
                "",
                Some("a.b"),
                "invalid option `.a.b`: unknown format `a.b`",
            ),
            (
                "local:///a.jpg",
                "",
                Some("png?x"),
                "invalid option `.png?x`: unknown format `png?x`",
            ),
        ];
        for (source, options, ext, want) in bad {
            for base64 in [false, true] {
                assert_eq!(sign(source, options, ext, base64), Err(want.to_owned()));
            }
        }
    }

    #[test]
    fn try_line_names_an_address_to_connect_to() {
        let cases = [
            ("0.0.0.0:8080", "http://127.0.0.1:8080/sig/raw:1"),
            ("[::]:8080", "http://[::1]:8080/sig/raw:1"),
            ("127.0.0.1:5000", "http://127.0.0.1:5000/sig/raw:1"),
            ("192.0.2.7:80", "http://192.0.2.7:80/sig/raw:1"),
            ("[2001:db8::1]:443", "http://[2001:db8::1]:443/sig/raw:1"),
        ];
        for (listening, url) in cases {
            let line = try_line(listening.parse().unwrap(), "/sig/raw:1");
            assert_eq!(line, format!("try: curl -sS -o sunset.jpg -D - {url}"));
        }
    }

    #[test]
    fn sign_names_a_bad_preset_setting() {
        let mut c = config();
        c.presets = vec!["broken".to_owned()];
        let err = sign(&c, "local:///a.jpg", "raw:1", None, false).unwrap_err();
        assert!(
            err.starts_with("options.presets (APERTURE_PRESETS): "),
            "{err}"
        );
    }
}
