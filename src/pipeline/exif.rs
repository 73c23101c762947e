//! The EXIF orientation tag (0x0112), read from a TIFF-structured EXIF block.
//!
//! Only IFD0 is read and no offset is followed except IFD0's own, so a hostile EXIF
//! block (IFD cycles, huge counts, offsets past the end) costs at most one bounded
//! scan. Anything malformed reads as "no orientation" (1), as libvips and Pillow do:
//! a broken tag must not make a decodable picture undecodable.

/// Orientation 1-8 from `tiff` (the bytes after `Exif\0\0`), or 1.
pub fn orientation(tiff: &[u8]) -> u8 {
    ifd0_short(tiff, 0x0112)
        .and_then(|v| u8::try_from(v).ok())
        .filter(|o| (1..=8).contains(o))
        .unwrap_or(1)
}

/// The first value of a SHORT (or, with `long`, LONG) tag of IFD0. TIFF sources use
/// it for their size, depth and orientation; the same bounded scan as the orientation.
pub fn ifd0_value(t: &[u8], tag: u16, long: bool) -> Option<u32> {
    let r = Reader::new(t)?;
    let e = r.find(tag)?;
    let (kind, count) = (r.u16_at(e + 2)?, r.u32_at(e + 4)?);
    match (kind, long) {
        // SHORT: up to two values sit in the field itself, more are at its offset
        (3, _) if count <= 2 => r.u16_at(e + 8).map(u32::from),
        (3, _) => r.u16_at(r.u32_at(e + 8)? as usize).map(u32::from),
        (4, true) if count == 1 => r.u32_at(e + 8),
        (4, true) => r.u32_at(r.u32_at(e + 8)? as usize),
        _ => None,
    }
}

/// The text of an ASCII tag of IFD0, without its NUL and trailing padding; `None` when
/// absent, malformed or empty. (Values up to 4 bytes sit in the entry itself.)
pub fn ifd0_ascii(t: &[u8], tag: u16) -> Option<&[u8]> {
    let r = Reader::new(t)?;
    let e = r.find(tag)?;
    if r.u16_at(e + 2)? != 2 {
        return None;
    }
    let count = r.u32_at(e + 4)? as usize;
    let at = if count <= 4 {
        e + 8
    } else {
        r.u32_at(e + 8)? as usize
    };
    let raw = t.get(at..at.checked_add(count)?)?;
    let text = raw.split(|&b| b == 0).next()?.trim_ascii_end();
    (!text.is_empty()).then_some(text)
}

fn ifd0_short(t: &[u8], tag: u16) -> Option<u16> {
    ifd0_value(t, tag, false).and_then(|v| u16::try_from(v).ok())
}

struct Reader<'a> {
    t: &'a [u8],
    le: bool,
}

impl<'a> Reader<'a> {
    fn new(t: &'a [u8]) -> Option<Self> {
        let le = match t.get(0..4)? {
            [b'I', b'I', 42, 0] => true,
            [b'M', b'M', 0, 42] => false,
            _ => return None,
        };
        Some(Reader { t, le })
    }

    fn u16_at(&self, i: usize) -> Option<u16> {
        let b = self.t.get(i..i.checked_add(2)?)?;
        Some(if self.le {
            u16::from_le_bytes([b[0], b[1]])
        } else {
            u16::from_be_bytes([b[0], b[1]])
        })
    }

    fn u32_at(&self, i: usize) -> Option<u32> {
        let b = self.t.get(i..i.checked_add(4)?)?;
        let a = [b[0], b[1], b[2], b[3]];
        Some(if self.le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    }

    /// The offset of `tag`'s 12-byte entry in IFD0.
    fn find(&self, tag: u16) -> Option<usize> {
        let ifd = self.u32_at(4)? as usize;
        let count = self.u16_at(ifd)? as usize;
        // 12 bytes per entry; a count running past the block is cut to what is there.
        (0..count.min(self.t.len() / 12))
            .map(|n| ifd + 2 + n * 12)
            .take_while(|&e| self.u16_at(e).is_some())
            .find(|&e| self.u16_at(e) == Some(tag))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal TIFF/EXIF block with one orientation entry.
    pub(crate) fn tiff_with_orientation(o: u16, little_endian: bool) -> Vec<u8> {
        let mut t = Vec::new();
        let w16 = |t: &mut Vec<u8>, v: u16| {
            t.extend_from_slice(&if little_endian {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            })
        };
        let w32 = |t: &mut Vec<u8>, v: u32| {
            t.extend_from_slice(&if little_endian {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            })
        };
        t.extend_from_slice(if little_endian { b"II" } else { b"MM" });
        w16(&mut t, 42);
        w32(&mut t, 8);
        w16(&mut t, 1);
        w16(&mut t, 0x0112);
        w16(&mut t, 3);
        w32(&mut t, 1);
        w16(&mut t, o);
        w16(&mut t, 0);
        w32(&mut t, 0);
        t
    }

    #[test]
    fn reads_both_byte_orders() {
        for o in 1..=8 {
            assert_eq!(orientation(&tiff_with_orientation(o, true)), o as u8);
            assert_eq!(orientation(&tiff_with_orientation(o, false)), o as u8);
        }
    }

    #[test]
    fn garbage_is_upright() {
        assert_eq!(orientation(b""), 1);
        assert_eq!(orientation(b"II*\0\xff\xff\xff\xff"), 1);
        assert_eq!(orientation(&tiff_with_orientation(9, true)), 1);
        assert_eq!(orientation(&tiff_with_orientation(0, false)), 1);
        let mut t = tiff_with_orientation(6, true);
        t.truncate(19); // cuts the value field
        assert_eq!(orientation(&t), 1);
    }
}
