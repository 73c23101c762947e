//! The EXIF orientation tag (0x0112), read from a TIFF-structured EXIF block.
//!
//! Only IFD0 is read and no offset is followed except IFD0's own, so a hostile EXIF
//! block (IFD cycles, huge counts, offsets past the end) costs at most one bounded
//! scan. Anything malformed reads as "no orientation" (1), as libvips and Pillow do:
//! a broken tag must not make a decodable picture undecodable.

/// Orientation 1-8 from `tiff` (the bytes after `Exif\0\0`), or 1.
pub fn orientation(tiff: &[u8]) -> u8 {
    read(tiff).filter(|o| (1..=8).contains(o)).unwrap_or(1)
}

fn read(t: &[u8]) -> Option<u8> {
    let le = match t.get(0..4)? {
        [b'I', b'I', 42, 0] => true,
        [b'M', b'M', 0, 42] => false,
        _ => return None,
    };
    let u16_at = |i: usize| -> Option<u16> {
        let b = t.get(i..i + 2)?;
        Some(if le {
            u16::from_le_bytes([b[0], b[1]])
        } else {
            u16::from_be_bytes([b[0], b[1]])
        })
    };
    let u32_at = |i: usize| -> Option<u32> {
        let b = t.get(i..i + 4)?;
        let a = [b[0], b[1], b[2], b[3]];
        Some(if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    };
    let ifd = u32_at(4)? as usize;
    let count = u16_at(ifd)? as usize;
    // 12 bytes per entry; a count running past the block is cut to what is there.
    for n in 0..count.min(t.len() / 12) {
        let e = ifd + 2 + n * 12;
        if u16_at(e)? != 0x0112 {
            continue;
        }
        // type SHORT (3), count 1: the value sits in the first 2 bytes of the field
        if u16_at(e + 2)? != 3 {
            return None;
        }
        return u16_at(e + 8).and_then(|v| u8::try_from(v).ok());
    }
    None
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
