//! Gorilla-style head chunks: delta-of-delta timestamps and XOR-compressed float values, written
//! bit by bit. Values are stored as raw IEEE-754 bits, so NaN payloads (the staleness marker),
//! ±Inf and −0.0 round-trip exactly.

use vigia_model::Sample;

/// Samples per head chunk before it is closed.
pub const SAMPLES_PER_CHUNK: u16 = 120;

/// Append-only bit buffer.
#[derive(Debug, Clone, Default)]
struct BitWriter {
    buf: Vec<u8>,
    /// Unused low bits in the last byte.
    free: u32,
}

impl BitWriter {
    fn write_bit(&mut self, b: bool) {
        self.write_bits(u64::from(b), 1);
    }

    fn write_bits(&mut self, v: u64, n: u32) {
        let mut n = n;
        while n > 0 {
            if self.free == 0 {
                if self.buf.len() == self.buf.capacity() {
                    // grow in small steps: head chunks are many and small
                    self.buf.reserve_exact((self.buf.len() / 4).clamp(8, 64));
                }
                self.buf.push(0);
                self.free = 8;
            }
            let take = n.min(self.free);
            let shift = n - take;
            let bits = ((v >> shift) & ((1u64 << take) - 1)) as u8;
            if let Some(last) = self.buf.last_mut() {
                *last |= bits << (self.free - take);
            }
            self.free -= take;
            n -= take;
        }
    }
}

/// Bit reader over a byte slice; returns `None` past the end.
#[derive(Debug, Clone)]
struct BitReader<'a> {
    buf: &'a [u8],
    byte: usize,
    /// Bits already consumed in `buf[byte]`.
    used: u32,
}

impl<'a> BitReader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self {
            buf,
            byte: 0,
            used: 0,
        }
    }

    fn read_bit(&mut self) -> Option<bool> {
        self.read_bits(1).map(|b| b == 1)
    }

    fn read_bits(&mut self, n: u32) -> Option<u64> {
        let mut n = n;
        let mut out: u64 = 0;
        while n > 0 {
            let cur = *self.buf.get(self.byte)?;
            let avail = 8 - self.used;
            let take = n.min(avail);
            let bits = (u64::from(cur) >> (avail - take)) & ((1u64 << take) - 1);
            out = if take == 64 {
                bits
            } else {
                (out << take) | bits
            };
            self.used += take;
            if self.used == 8 {
                self.used = 0;
                self.byte += 1;
            }
            n -= take;
        }
        Some(out)
    }
}

/// Delta-of-delta buckets: (prefix bits, prefix length, payload bits).
const DOD_BUCKETS: [(u64, u32, u32); 4] = [
    (0b10, 2, 7),
    (0b110, 3, 9),
    (0b1110, 4, 12),
    (0b1111, 4, 64),
];

fn fits_signed(v: i64, bits: u32) -> bool {
    if bits >= 64 {
        return true;
    }
    let lim = 1i64 << (bits - 1);
    v >= -lim && v < lim
}

/// An open (appendable) XOR chunk.
#[derive(Debug, Clone)]
pub struct XorChunk {
    bits: BitWriter,
    count: u16,
    min_t: i64,
    last_t: i64,
    t_delta: i64,
    last_v: u64,
    leading: u8,
    trailing: u8,
}

impl Default for XorChunk {
    fn default() -> Self {
        Self::new()
    }
}

impl XorChunk {
    /// An empty chunk.
    pub fn new() -> Self {
        Self {
            bits: BitWriter::default(),
            count: 0,
            min_t: 0,
            last_t: 0,
            t_delta: 0,
            last_v: 0,
            leading: 0xff,
            trailing: 0,
        }
    }

    /// Samples in the chunk.
    pub fn count(&self) -> u16 {
        self.count
    }

    /// First timestamp (meaningless when empty).
    pub fn min_t(&self) -> i64 {
        self.min_t
    }

    /// Last timestamp (meaningless when empty).
    pub fn max_t(&self) -> i64 {
        self.last_t
    }

    /// Bits of the last value (meaningless when empty).
    pub fn last_v_bits(&self) -> u64 {
        self.last_v
    }

    /// Encoded bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bits.buf
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.bits.buf.capacity()
    }

    /// Appends a sample; the caller guarantees `t` is greater than the last timestamp.
    pub fn append(&mut self, t: i64, v: f64) {
        let vb = v.to_bits();
        match self.count {
            0 => {
                self.bits.write_bits(t as u64, 64);
                self.bits.write_bits(vb, 64);
                self.min_t = t;
            }
            _ => {
                let delta = t.wrapping_sub(self.last_t);
                let dod = delta.wrapping_sub(self.t_delta);
                if dod == 0 {
                    self.bits.write_bit(false);
                } else {
                    for (prefix, plen, nbits) in DOD_BUCKETS {
                        if fits_signed(dod, nbits) {
                            self.bits.write_bits(prefix, plen);
                            let mask = if nbits == 64 {
                                u64::MAX
                            } else {
                                (1u64 << nbits) - 1
                            };
                            self.bits.write_bits((dod as u64) & mask, nbits);
                            break;
                        }
                    }
                }
                self.t_delta = delta;
                self.write_value(vb);
            }
        }
        self.last_t = t;
        self.last_v = vb;
        self.count = self.count.saturating_add(1);
    }

    fn write_value(&mut self, vb: u64) {
        let x = vb ^ self.last_v;
        if x == 0 {
            self.bits.write_bit(false);
            return;
        }
        self.bits.write_bit(true);
        let leading = x.leading_zeros().min(31) as u8;
        let trailing = x.trailing_zeros() as u8;
        if self.leading != 0xff && leading >= self.leading && trailing >= self.trailing {
            self.bits.write_bit(false);
            let sig = 64 - u32::from(self.leading) - u32::from(self.trailing);
            self.bits.write_bits(x >> self.trailing, sig);
        } else {
            self.bits.write_bit(true);
            let sig = 64 - u32::from(leading) - u32::from(trailing);
            self.bits.write_bits(u64::from(leading), 5);
            self.bits.write_bits(u64::from(sig & 63), 6);
            self.bits.write_bits(x >> trailing, sig);
            self.leading = leading;
            self.trailing = trailing;
        }
    }

    /// Freezes into a closed chunk, releasing spare capacity.
    pub fn close(self) -> ClosedChunk {
        ClosedChunk {
            data: self.bits.buf.into_boxed_slice(),
            min_t: self.min_t,
            max_t: self.last_t,
            count: self.count,
        }
    }

    /// Iterates the samples.
    pub fn iter(&self) -> XorIter<'_> {
        XorIter::new(&self.bits.buf, self.count)
    }
}

/// An immutable XOR chunk.
#[derive(Debug, Clone)]
pub struct ClosedChunk {
    data: Box<[u8]>,
    /// First timestamp.
    pub min_t: i64,
    /// Last timestamp.
    pub max_t: i64,
    /// Number of samples.
    pub count: u16,
}

impl ClosedChunk {
    /// Iterates the samples.
    pub fn iter(&self) -> XorIter<'_> {
        XorIter::new(&self.data, self.count)
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.data.len()
    }
}

/// Decoder of an XOR chunk; stops early (yielding fewer samples) on damaged data.
#[derive(Debug, Clone)]
pub struct XorIter<'a> {
    r: BitReader<'a>,
    left: u16,
    read: u16,
    t: i64,
    t_delta: i64,
    v: u64,
    leading: u32,
    trailing: u32,
}

impl<'a> XorIter<'a> {
    fn new(data: &'a [u8], count: u16) -> Self {
        Self {
            r: BitReader::new(data),
            left: count,
            read: 0,
            t: 0,
            t_delta: 0,
            v: 0,
            leading: 0,
            trailing: 0,
        }
    }

    fn step(&mut self) -> Option<Sample> {
        if self.read == 0 {
            self.t = self.r.read_bits(64)? as i64;
            self.v = self.r.read_bits(64)?;
        } else {
            let mut dod: i64 = 0;
            if self.r.read_bit()? {
                let mut nbits = 0;
                for (i, (_, _, n)) in DOD_BUCKETS.iter().enumerate() {
                    // prefix bits after the first '1': read until a '0' or the bucket list ends
                    if i == DOD_BUCKETS.len() - 1 || !self.r.read_bit()? {
                        nbits = *n;
                        break;
                    }
                }
                let raw = self.r.read_bits(nbits)?;
                dod = if nbits == 64 {
                    raw as i64
                } else {
                    let shift = 64 - nbits;
                    ((raw << shift) as i64) >> shift
                };
            }
            self.t_delta = self.t_delta.wrapping_add(dod);
            self.t = self.t.wrapping_add(self.t_delta);
            if self.r.read_bit()? {
                if self.r.read_bit()? {
                    self.leading = self.r.read_bits(5)? as u32;
                    let mut sig = self.r.read_bits(6)? as u32;
                    if sig == 0 {
                        sig = 64;
                    }
                    self.trailing = 64u32.checked_sub(self.leading + sig)?;
                }
                let sig = 64 - self.leading - self.trailing;
                let x = self.r.read_bits(sig)?;
                self.v ^= x.checked_shl(self.trailing).unwrap_or(0);
            }
        }
        self.read += 1;
        Some(Sample::new(self.t, f64::from_bits(self.v)))
    }
}

impl Iterator for XorIter<'_> {
    type Item = Sample;
    fn next(&mut self) -> Option<Sample> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        match self.step() {
            Some(s) => Some(s),
            None => {
                self.left = 0;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn roundtrip(samples: &[Sample]) {
        let mut c = XorChunk::new();
        for s in samples {
            c.append(s.t, s.v);
        }
        let got: Vec<Sample> = c.iter().collect();
        assert_eq!(got.len(), samples.len());
        for (a, b) in got.iter().zip(samples) {
            assert!(a.bit_eq(b), "{a:?} != {b:?}");
        }
        let closed = c.close();
        assert_eq!(closed.iter().count(), samples.len());
    }

    #[test]
    fn special_values_roundtrip() {
        let vals = [
            1.0,
            f64::NAN,
            vigia_model::stale_nan(),
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            0.0,
            1e300,
            -3.5,
        ];
        let s: Vec<Sample> = vals
            .iter()
            .enumerate()
            .map(|(i, v)| Sample::new(i as i64 * 15_000 + (i as i64 % 3), *v))
            .collect();
        roundtrip(&s);
    }

    #[test]
    fn large_gaps_and_negative_times() {
        roundtrip(&[
            Sample::new(i64::MIN + 1, 1.0),
            Sample::new(-5, 2.0),
            Sample::new(i64::MAX - 1, 3.0),
            Sample::new(i64::MAX, 3.0),
        ]);
    }

    proptest! {
        #[test]
        fn prop_roundtrip(start in -1_000_000_000_000i64..1_000_000_000_000, deltas in proptest::collection::vec(1i64..100_000, 0..200), vals in proptest::collection::vec(any::<u64>(), 200)) {
            let mut t = start;
            let mut s = Vec::new();
            for (i, d) in deltas.iter().enumerate() {
                s.push(Sample::new(t, f64::from_bits(vals[i])));
                t += d;
            }
            roundtrip(&s);
        }
    }
}
