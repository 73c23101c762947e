//! Output format negotiation from the request's `Accept` header (issue 4 item 3).
//!
//! Owns the pure decision only: given the URL's explicit format (if any), the
//! `Accept` header and which automatic formats the server enables, which format the
//! variant gets and whether the answer must carry `Vary: Accept`.
//!
//! The rule is imgproxy's `IMGPROXY_AUTO_AVIF` / `IMGPROXY_AUTO_WEBP` (our
//! `APERTURE_AUTO_AVIF` / `APERTURE_AUTO_WEBP`): an explicit format (`f`/`format`/
//! `ext` or the URL's extension) always wins; otherwise AVIF (preferred, smaller) or
//! WebP when enabled and accepted; otherwise `None`, i.e. the source's family.
//!
//! **What counts as "accepted".** Only an explicit `image/avif` / `image/webp` media
//! range with q > 0. `*/*` and `image/*` do *not* opt in: every client sends them,
//! including browsers that cannot decode WebP or AVIF (and curl), which is also why
//! imgproxy and CDNs look for the explicit type. `image/webp;q=0` is a refusal.
//!
//! **Vary.** Whenever automatic negotiation is enabled and the URL names no format,
//! the answer *could* have been different for another `Accept`, so it carries
//! `Vary: Accept` even when the source family was chosen; a shared cache that stored
//! a JPEG for an old browser must not hand it to a WebP-capable one (and vice versa).
//! With an explicit format, or with negotiation disabled, `Accept` cannot change the
//! answer and `Vary` would only split CDN caches for nothing.

use crate::options::OutputFormat;

/// Which automatic formats the server may pick (`[processing] prefer_*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AutoFormats {
    pub avif: bool,
    pub webp: bool,
}

/// The negotiated output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// `None`: the source's family, decided by the pipeline after probing.
    pub format: Option<OutputFormat>,
    /// The answer depended on `Accept`: send `Vary: Accept`.
    pub vary_accept: bool,
}

pub fn negotiate(
    explicit: Option<OutputFormat>,
    accept: Option<&str>,
    auto: AutoFormats,
) -> Negotiated {
    if explicit.is_some() {
        return Negotiated {
            format: explicit,
            vary_accept: false,
        };
    }
    let accept = accept.unwrap_or("");
    let format = if auto.avif && accepts(accept, "image/avif") {
        Some(OutputFormat::Avif)
    } else if auto.webp && accepts(accept, "image/webp") {
        Some(OutputFormat::Webp)
    } else {
        None
    };
    Negotiated {
        format,
        vary_accept: auto.avif || auto.webp,
    }
}

/// Whether `accept` names `mime` explicitly with q > 0. When the type is listed more
/// than once, the last entry wins (no browser does this; any fixed rule will do).
fn accepts(accept: &str, mime: &str) -> bool {
    let mut verdict = false;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim();
        if !media.eq_ignore_ascii_case(mime) {
            continue;
        }
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map_or(Some(1.0), |(_, v)| v.trim().parse::<f64>().ok());
        // A malformed q is ignored like a malformed range: no opt-in.
        verdict = matches!(q, Some(q) if q > 0.0);
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use OutputFormat::{Avif, Jpeg, Png, Webp};

    const WEBP: AutoFormats = AutoFormats {
        avif: false,
        webp: true,
    };
    const BOTH: AutoFormats = AutoFormats {
        avif: true,
        webp: true,
    };
    const NONE: AutoFormats = AutoFormats {
        avif: false,
        webp: false,
    };

    /// (explicit format, Accept, enabled formats) -> (format, Vary: Accept)
    type Case = (
        Option<OutputFormat>,
        Option<&'static str>,
        AutoFormats,
        Option<OutputFormat>,
        bool,
    );

    #[test]
    fn table() {
        let chrome = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
        let safari13 = "image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5";
        let cases: &[Case] = &[
            // explicit format: Accept is irrelevant, no Vary
            (Some(Png), Some(chrome), WEBP, Some(Png), false),
            (Some(Jpeg), None, BOTH, Some(Jpeg), false),
            // negotiation off: source family, no Vary
            (None, Some(chrome), NONE, None, false),
            // WebP enabled
            (None, Some(chrome), WEBP, Some(Webp), true),
            (None, Some("image/webp"), WEBP, Some(Webp), true),
            (None, Some("IMAGE/WEBP;q=0.5"), WEBP, Some(Webp), true),
            (None, Some("image/webp ; q=0.001"), WEBP, Some(Webp), true),
            (None, Some("image/webp;q=0"), WEBP, None, true),
            (None, Some("image/webp;q=0.0, */*"), WEBP, None, true),
            (None, Some("image/webp;q=abc"), WEBP, None, true),
            (None, Some("*/*"), WEBP, None, true),
            (None, Some("image/*"), WEBP, None, true),
            (None, Some(safari13), WEBP, None, true),
            (None, Some(""), WEBP, None, true),
            (None, None, WEBP, None, true),
            (None, Some("image/webpx"), WEBP, None, true),
            // AVIF preferred when both are enabled and accepted
            (None, Some(chrome), BOTH, Some(Avif), true),
            (
                None,
                Some("image/avif;q=0,image/webp"),
                BOTH,
                Some(Webp),
                true,
            ),
            (None, Some("image/webp"), BOTH, Some(Webp), true),
        ];
        for &(explicit, accept, auto, format, vary) in cases {
            let got = negotiate(explicit, accept, auto);
            let want = Negotiated {
                format,
                vary_accept: vary,
            };
            assert_eq!(got, want, "{explicit:?} {accept:?} {auto:?}");
        }
    }
}
