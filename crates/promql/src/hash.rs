//! Prometheus-compatible label-set hashes (xxHash64 of `name 0xff value 0xff …`), used where
//! results must match Prometheus's choice of series (`limitk`, `limit_ratio`).

use vigia_model::Labels;

/// xxHash64 (seed 0), used for Prometheus-compatible label hashes.
fn xxh64(data: &[u8]) -> u64 {
    const P1: u64 = 11_400_714_785_074_694_791;
    const P2: u64 = 14_029_467_366_897_019_727;
    const P3: u64 = 1_609_587_929_392_839_161;
    const P4: u64 = 9_650_029_242_287_828_579;
    const P5: u64 = 2_870_177_450_012_600_261;
    fn round(acc: u64, input: u64) -> u64 {
        acc.wrapping_add(input.wrapping_mul(P2))
            .rotate_left(31)
            .wrapping_mul(P1)
    }
    fn merge(acc: u64, val: u64) -> u64 {
        (acc ^ round(0, val)).wrapping_mul(P1).wrapping_add(P4)
    }
    fn r64(b: &[u8]) -> u64 {
        let mut a = [0u8; 8];
        for (d, s) in a.iter_mut().zip(b) {
            *d = *s;
        }
        u64::from_le_bytes(a)
    }
    fn r32(b: &[u8]) -> u64 {
        let mut a = [0u8; 4];
        for (d, s) in a.iter_mut().zip(b) {
            *d = *s;
        }
        u64::from(u32::from_le_bytes(a))
    }
    let len = data.len() as u64;
    let mut rest = data;
    let mut h;
    if data.len() >= 32 {
        let (mut v1, mut v2, mut v3, mut v4) =
            (P1.wrapping_add(P2), P2, 0u64, 0u64.wrapping_sub(P1));
        while rest.len() >= 32 {
            let (blk, tail) = rest.split_at(32);
            let (a, b) = blk.split_at(16);
            let (a1, a2) = a.split_at(8);
            let (b1, b2) = b.split_at(8);
            v1 = round(v1, r64(a1));
            v2 = round(v2, r64(a2));
            v3 = round(v3, r64(b1));
            v4 = round(v4, r64(b2));
            rest = tail;
        }
        h = v1
            .rotate_left(1)
            .wrapping_add(v2.rotate_left(7))
            .wrapping_add(v3.rotate_left(12))
            .wrapping_add(v4.rotate_left(18));
        h = merge(h, v1);
        h = merge(h, v2);
        h = merge(h, v3);
        h = merge(h, v4);
    } else {
        h = P5;
    }
    h = h.wrapping_add(len);
    while rest.len() >= 8 {
        let (a, tail) = rest.split_at(8);
        h ^= round(0, r64(a));
        h = h.rotate_left(27).wrapping_mul(P1).wrapping_add(P4);
        rest = tail;
    }
    if rest.len() >= 4 {
        let (a, tail) = rest.split_at(4);
        h ^= r32(a).wrapping_mul(P1);
        h = h.rotate_left(23).wrapping_mul(P2).wrapping_add(P3);
        rest = tail;
    }
    for b in rest {
        h ^= u64::from(*b).wrapping_mul(P5);
        h = h.rotate_left(11).wrapping_mul(P1);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^= h >> 32;
    h
}

/// Prometheus's `Labels.Hash()`.
pub(crate) fn prom_hash(l: &Labels) -> u64 {
    let mut b = Vec::with_capacity(l.byte_len() + 2 * l.len());
    for x in l {
        b.extend_from_slice(x.name.as_bytes());
        b.push(0xff);
        b.extend_from_slice(x.value.as_bytes());
        b.push(0xff);
    }
    xxh64(&b)
}

/// Position of a series in [0, 1) for `limit_ratio`.
pub(crate) fn ratio_offset(l: &Labels) -> f64 {
    prom_hash(l) as f64 / u64::MAX as f64
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn xxh64_reference_vectors() {
        assert_eq!(xxh64(b""), 0xEF46_DB37_51D8_E999);
        assert_eq!(xxh64(b"abc"), 0x44BC_2CF5_AD77_0999);
        // Longer than one 32-byte stripe.
        assert_eq!(
            xxh64(b"Nobody inspects the spammish repetition"),
            0xFBCE_A83C_8A37_8BF1
        );
    }
}
