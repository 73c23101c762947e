//! Finding a source's embedded ICC profile in its container: JPEG APP2
//! `ICC_PROFILE` segments, PNG `iCCP`, WebP `ICCP`, TIFF tag 34675. Headers only, no
//! pixel is decoded. Every reader is bounded by [`MAX_PROFILE`] and gives up (with a
//! debug log) on anything malformed: a source with an unreadable profile is treated
//! as sRGB, as libvips does. AVIF: the first `colr` property of type `prof`/`rICC`
//! (most files tag nclx only; the property is taken without following `ipma` to the
//! primary item, as the alpha item carries no profile).

use std::io::Cursor;

use super::super::probe::SourceFormat;

/// The largest profile read. Display profiles are 0.5-4 KB; print (CMYK) profiles
/// with big LUTs reach ~1.8 MB (ISO Coated v2 eci), hence 2 MiB rather than 1.
pub const MAX_PROFILE: usize = 2 << 20;

/// The embedded profile of `bytes`, if it has a well-formed one.
pub fn extract(bytes: &[u8], format: SourceFormat) -> Option<Vec<u8>> {
    let found = match format {
        SourceFormat::Jpeg => jpeg(bytes),
        SourceFormat::Png => png(bytes),
        SourceFormat::Webp => webp(bytes),
        SourceFormat::Tiff => tiff(bytes),
        SourceFormat::Avif => avif(bytes),
        _ => Ok(None),
    };
    match found {
        Ok(p) => p.filter(|p| !p.is_empty()),
        Err(why) => {
            tracing::debug!(format = format.name(), "ICC profile ignored: {why}");
            None
        }
    }
}

/// The profile carried by a JPEG's APP2 `ICC_PROFILE` segments (before the first scan).
pub fn jpeg(bytes: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut chunks = Vec::new();
    let mut components = None;
    let mut i = 2;
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Ok(None);
    }
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return Err("JPEG marker expected".into());
        }
        let marker = bytes[i + 1];
        // fill bytes and standalone markers carry no length
        if marker == 0xFF {
            i += 1;
            continue;
        }
        if marker == 0x01 || (0xD0..=0xD8).contains(&marker) {
            i += 2;
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            break;
        }
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        let Some(payload) = bytes.get(i + 4..i + 2 + len.max(2)) else {
            break; // a truncated header: the decoder will say so
        };
        if marker == 0xE2
            && let Some(rest) = payload.strip_prefix(b"ICC_PROFILE\0")
            && let [seq, count, data @ ..] = rest
        {
            chunks.push((*seq, *count, data));
        }
        if is_sof(marker) {
            components = payload.get(5).copied();
        }
        i += 2 + len.max(2);
    }
    let profile = reassemble(&chunks)?;
    // The decoder makes RGB of CMYK by the profile or, without a CMYK one, naively;
    // an RGB profile must then not be applied to that RGB a second time.
    match profile {
        Some(p) if components == Some(4) && p.get(16..20) != Some(b"CMYK") => {
            Err("a non-CMYK profile on a CMYK JPEG".into())
        }
        p => Ok(p),
    }
}

/// Start-of-frame markers (SOF0-SOF15 but DHT, JPG and DAC).
fn is_sof(marker: u8) -> bool {
    (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

/// Joins ICC chunks `(sequence number, count, data)` in sequence order, as libjpeg's
/// `jpeg_read_icc_profile`: numbers 1..=count, each once, all with the same count.
pub fn reassemble(chunks: &[(u8, u8, &[u8])]) -> Result<Option<Vec<u8>>, String> {
    let Some(&(_, count, _)) = chunks.first() else {
        return Ok(None);
    };
    if count == 0 || chunks.iter().any(|c| c.1 != count) {
        return Err("ICC chunk counts disagree".into());
    }
    let mut slots: Vec<Option<&[u8]>> = vec![None; usize::from(count)];
    for &(seq, _, data) in chunks {
        let slot = slots
            .get_mut(usize::from(seq).wrapping_sub(1))
            .ok_or_else(|| format!("ICC chunk {seq} of {count}"))?;
        if slot.replace(data).is_some() {
            return Err(format!("ICC chunk {seq} twice"));
        }
    }
    let total: usize = slots.iter().flatten().map(|d| d.len()).sum();
    if total > MAX_PROFILE {
        return Err(format!("ICC profile of {total} bytes is too large"));
    }
    let mut out = Vec::with_capacity(total);
    for (n, slot) in slots.iter().enumerate() {
        out.extend_from_slice(slot.ok_or_else(|| format!("ICC chunk {} missing", n + 1))?);
    }
    Ok(Some(out))
}

/// PNG `iCCP`, inflated by the png crate within [`MAX_PROFILE`] (it drops a corrupt
/// one silently, which is what we want).
fn png(bytes: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut dec = png::Decoder::new(Cursor::new(bytes));
    dec.set_limits(png::Limits { bytes: MAX_PROFILE });
    let reader = dec.read_info().map_err(|e| e.to_string())?;
    Ok(reader.info().icc_profile.as_ref().map(|p| p.to_vec()))
}

/// WebP's `ICCP` chunk (extended format), found by walking the RIFF chunks.
fn webp(bytes: &[u8]) -> Result<Option<Vec<u8>>, String> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WEBP" {
        return Ok(None);
    }
    let mut i = 12;
    while let Some(head) = bytes.get(i..i + 8) {
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        if &head[..4] == b"ICCP" {
            if len > MAX_PROFILE {
                return Err(format!("ICC profile of {len} bytes is too large"));
            }
            let data = bytes.get(i + 8..i + 8 + len).ok_or("ICCP chunk is cut")?;
            return Ok(Some(data.to_vec()));
        }
        // the profile comes before the image data; past it there is none
        if matches!(&head[..4], b"VP8 " | b"VP8L" | b"ANIM" | b"ANMF") {
            return Ok(None);
        }
        i = i
            .saturating_add(8)
            .saturating_add(len)
            .saturating_add(len & 1);
    }
    Ok(None)
}

/// ISO-BMFF boxes `(type, payload)` of `data`, stopping at the first malformed one.
fn boxes(data: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let head = rest.get(..8)?;
        let kind = [head[4], head[5], head[6], head[7]];
        let (start, len) = match u32::from_be_bytes([head[0], head[1], head[2], head[3]]) {
            0 => (8, rest.len()),
            1 => {
                let large = rest.get(8..16)?;
                let len = u64::from_be_bytes(large.try_into().ok()?);
                (16, usize::try_from(len).ok()?)
            }
            n => (8, n as usize),
        };
        let payload = rest.get(start..len)?;
        rest = &rest[len..];
        Some((kind, payload))
    })
}

/// The payload of the first `kind` box in `data`.
fn first_box<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    boxes(data)
        .find(|(k, _)| k == kind)
        .map(|(_, payload)| payload)
}

/// AVIF (HEIF): `meta` > `iprp` > `ipco` > `colr` with an ICC profile.
fn avif(bytes: &[u8]) -> Result<Option<Vec<u8>>, String> {
    // `meta` is a full box: version and flags before its children
    let Some(meta) = first_box(bytes, b"meta").and_then(|m| m.get(4..)) else {
        return Ok(None);
    };
    let Some(ipco) = first_box(meta, b"iprp").and_then(|p| first_box(p, b"ipco")) else {
        return Ok(None);
    };
    for (kind, colr) in boxes(ipco) {
        if &kind == b"colr" && matches!(colr.get(..4), Some(b"prof" | b"rICC")) {
            let icc = &colr[4..];
            if icc.len() > MAX_PROFILE {
                return Err(format!("ICC profile of {} bytes is too large", icc.len()));
            }
            return Ok(Some(icc.to_vec()));
        }
    }
    Ok(None)
}

/// TIFF tag 34675 (InterColorProfile) of the first page, read from IFD0 directly: the
/// tiff crate returns tag bytes as a list of 24-byte values (a 2 MiB profile would
/// take 48 MiB on the way) and fences them by the decode budget, which a small image
/// with a big profile exceeds. Classic TIFF only (BigTIFF: none found).
fn tiff(bytes: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let le = match bytes.get(..4) {
        Some(b"II*\0") => true,
        Some(b"MM\0*") => false,
        _ => return Ok(None),
    };
    // an unsigned field of `n` bytes at `i`, in the file's byte order
    let field = |i: usize, n: usize| -> Option<usize> {
        let b = bytes.get(i..i + n)?;
        let be = |v: usize, &x: &u8| v << 8 | usize::from(x);
        Some(if le {
            b.iter().rev().fold(0, be)
        } else {
            b.iter().fold(0, be)
        })
    };
    let u16_at = |i| field(i, 2);
    let u32_at = |i| field(i, 4);
    let ifd = u32_at(4).ok_or("TIFF header is cut")?;
    let entries = u16_at(ifd).ok_or("TIFF IFD0 is cut")?;
    for n in 0..entries {
        let e = ifd + 2 + 12 * n;
        if u16_at(e).ok_or("TIFF IFD0 is cut")? != 34675 {
            continue;
        }
        // BYTE or UNDEFINED, as the TIFF/EP and ICC specifications write it
        if !matches!(u16_at(e + 2), Some(1 | 7)) {
            return Err("TIFF ICC tag of another type".into());
        }
        let count = u32_at(e + 4).ok_or("TIFF IFD0 is cut")?;
        if count > MAX_PROFILE {
            return Err(format!("ICC profile of {count} bytes is too large"));
        }
        let at = if count <= 4 {
            e + 8
        } else {
            u32_at(e + 8).ok_or("cut")?
        };
        let data = bytes
            .get(at..at + count)
            .ok_or("TIFF ICC tag points past the end")?;
        return Ok(Some(data.to_vec()));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_joined_in_sequence_order() {
        let (a, b, c) = (&b"ab"[..], &b"cd"[..], &b"e"[..]);
        let joined = reassemble(&[(2, 3, b), (3, 3, c), (1, 3, a)]).unwrap();
        assert_eq!(joined.as_deref(), Some(&b"abcde"[..]));
        assert_eq!(reassemble(&[]).unwrap(), None);
    }

    #[test]
    fn bad_chunk_sets_are_refused() {
        let d = &b"x"[..];
        // missing, duplicate, out of range, disagreeing counts, zero count
        assert!(reassemble(&[(1, 3, d), (3, 3, d)]).is_err());
        assert!(reassemble(&[(1, 2, d), (1, 2, d)]).is_err());
        assert!(reassemble(&[(0, 1, d)]).is_err());
        assert!(reassemble(&[(2, 1, d)]).is_err());
        assert!(reassemble(&[(1, 2, d), (2, 3, d)]).is_err());
        assert!(reassemble(&[(1, 0, d)]).is_err());
    }

    #[test]
    fn an_oversized_profile_is_refused() {
        let big = vec![0u8; 65_000];
        let chunks: Vec<_> = (1..=40u8).map(|n| (n, 40, &big[..])).collect();
        assert!(reassemble(&chunks).unwrap_err().contains("too large"));
    }

    /// A JPEG header with two APP2 chunks out of order, then a scan.
    #[test]
    fn jpeg_segments_are_found_before_the_scan() {
        let mut j = vec![0xFF, 0xD8];
        for (seq, data) in [(2u8, &b"cd"[..]), (1, b"ab")] {
            let payload = [&b"ICC_PROFILE\0"[..], &[seq, 2], data].concat();
            j.extend_from_slice(&[0xFF, 0xE2]);
            j.extend_from_slice(&(payload.len() as u16 + 2).to_be_bytes());
            j.extend_from_slice(&payload);
        }
        j.extend_from_slice(&[0xFF, 0xDA, 0, 2, 0xFF, 0xE2]);
        assert_eq!(jpeg(&j).unwrap().as_deref(), Some(&b"abcd"[..]));
        assert_eq!(extract(&j[..j.len() - 12], SourceFormat::Jpeg), None);
    }

    #[test]
    fn an_rgb_profile_on_a_cmyk_jpeg_is_dropped() {
        let segment = |marker: u8, payload: &[u8]| {
            let mut v = vec![0xFF, marker];
            v.extend_from_slice(&(payload.len() as u16 + 2).to_be_bytes());
            v.extend_from_slice(payload);
            v
        };
        let profile = |space: &[u8; 4]| {
            let mut p = vec![0u8; 128];
            p[16..20].copy_from_slice(space);
            segment(0xE2, &[&b"ICC_PROFILE\0\x01\x01"[..], &p].concat())
        };
        let sof = |n: u8| segment(0xC0, &[8, 0, 16, 0, 16, n]);
        let jpeg_of =
            |space, n| [&[0xFF, 0xD8][..], &profile(space), &sof(n), &[0xFF, 0xDA]].concat();
        assert!(jpeg(&jpeg_of(b"RGB ", 4)).is_err());
        assert!(jpeg(&jpeg_of(b"CMYK", 4)).unwrap().is_some());
        assert!(jpeg(&jpeg_of(b"RGB ", 3)).unwrap().is_some());
    }

    #[test]
    fn avif_colr_prof_property() {
        let bx = |kind: &[u8; 4], payload: &[u8]| {
            [&(payload.len() as u32 + 8).to_be_bytes()[..], kind, payload].concat()
        };
        let nclx = bx(b"colr", b"nclx\0\x01\0\x0d\0\x06\x80");
        let prof = bx(b"colr", b"profICC!");
        let ipco = bx(b"ipco", &[bx(b"ispe", &[0; 12]), nclx, prof].concat());
        let meta = bx(
            b"meta",
            &[&[0u8; 4][..], &bx(b"hdlr", &[0; 8]), &bx(b"iprp", &ipco)].concat(),
        );
        let file = [bx(b"ftyp", b"avif\0\0\0\0"), meta].concat();
        assert_eq!(avif(&file).unwrap().as_deref(), Some(&b"ICC!"[..]));
        assert_eq!(avif(&file[..file.len() - 1]).unwrap(), None);
        // a real file (nclx only) walks through to nothing
        let real = include_bytes!("../../../tests/fixtures/alpha.avif");
        assert_eq!(avif(real).unwrap(), None);
    }

    #[test]
    fn tiff_tag_34675() {
        let t = include_bytes!("../../../tests/fixtures/cmyk_icc.tif");
        let icc = tiff(t).unwrap().unwrap();
        assert_eq!(&icc[36..40], b"acsp");
        assert_eq!(&icc[16..20], b"CMYK");
        // the tag is written after the pixels: cutting the file cuts the profile
        assert!(tiff(&t[..t.len() - 100]).is_err());
        assert_eq!(tiff(b"II*\0\x08\0\0\0\0\0").unwrap(), None);
    }

    #[test]
    fn webp_iccp_chunk() {
        let mut w = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0".to_vec();
        w.extend_from_slice(&[0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        w.extend_from_slice(b"ICCP\x03\0\0\0abc\0VP8 \0\0\0\0");
        assert_eq!(webp(&w).unwrap().as_deref(), Some(&b"abc"[..]));
        assert!(webp(&w[..w.len() - 10]).is_err());
    }
}
