//! Byte-level helpers shared by the WAL and block formats: LEB128 varints, zig-zag signed
//! varints, fixed-width little-endian integers and a bounds-checked reader that never panics
//! on damaged input.

/// Error of decoding a byte buffer: what was expected where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("decode error at byte {offset}: {what}")]
pub struct DecodeError {
    /// Offset within the buffer being decoded.
    pub offset: usize,
    /// What went wrong.
    pub what: &'static str,
}

/// Appends an unsigned LEB128 varint.
pub fn put_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Appends a zig-zag encoded signed varint.
pub fn put_varint(buf: &mut Vec<u8>, v: i64) {
    put_uvarint(buf, ((v << 1) ^ (v >> 63)) as u64);
}

/// Appends a length-prefixed byte string.
pub fn put_bytes(buf: &mut Vec<u8>, b: &[u8]) {
    put_uvarint(buf, b.len() as u64);
    buf.extend_from_slice(b);
}

/// Bounds-checked cursor over a byte slice.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Current offset.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn err(&self, what: &'static str) -> DecodeError {
        DecodeError {
            offset: self.pos,
            what,
        }
    }

    /// Reads `n` raw bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| self.err("length overflow"))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| self.err("unexpected end of data"))?;
        self.pos = end;
        Ok(s)
    }

    /// Reads one byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.bytes(1)?[0])
    }

    /// Reads a little-endian u32.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads a little-endian u64.
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// Reads an unsigned LEB128 varint (at most 10 bytes).
    pub fn uvarint(&mut self) -> Result<u64, DecodeError> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = self.u8()?;
            if i == 9 && b > 1 {
                return Err(self.err("varint overflows u64"));
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(self.err("varint too long"))
    }

    /// Reads a zig-zag signed varint.
    pub fn varint(&mut self) -> Result<i64, DecodeError> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// Reads a varint that must fit in `usize` and be at most `max`.
    pub fn len(&mut self, max: usize) -> Result<usize, DecodeError> {
        let v = self.uvarint()?;
        let v = usize::try_from(v).map_err(|_| self.err("length does not fit usize"))?;
        if v > max {
            return Err(self.err("length exceeds remaining data"));
        }
        Ok(v)
    }

    /// Reads a length-prefixed byte string.
    pub fn bytes_prefixed(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.len(self.remaining())?;
        self.bytes(n)
    }

    /// Reads a length-prefixed UTF-8 string.
    pub fn str(&mut self) -> Result<&'a str, DecodeError> {
        let b = self.bytes_prefixed()?;
        std::str::from_utf8(b).map_err(|_| self.err("invalid UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_roundtrip() {
        let vals = [0i64, 1, -1, 63, -64, 1 << 40, i64::MIN, i64::MAX];
        let mut b = Vec::new();
        for v in vals {
            put_varint(&mut b, v);
            put_uvarint(&mut b, v as u64);
        }
        let mut r = Reader::new(&b);
        for v in vals {
            assert_eq!(r.varint().unwrap(), v);
            assert_eq!(r.uvarint().unwrap(), v as u64);
        }
        assert!(r.u8().is_err());
    }

    #[test]
    fn truncated_is_error() {
        let mut b = Vec::new();
        put_uvarint(&mut b, u64::MAX);
        b.pop();
        assert!(Reader::new(&b).uvarint().is_err());
        assert!(Reader::new(&[0xff; 11]).uvarint().is_err());
    }
}
