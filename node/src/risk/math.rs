//! The margin engine's fixed-point arithmetic (`contracts/src/libraries/WadMath.sol`),
//! bit for bit: products in 512 bits, an explicit rounding direction on every division,
//! and `None` exactly where the contract reverts (a zero denominator, a result that
//! does not fit 256 bits, a checked `+`/`*` that overflows).

use alloy::primitives::{U256, U512};

/// 1e18.
pub const WAD: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);

/// The low 256 bits, if the high ones are zero.
#[inline]
fn narrow(wide: U512) -> Option<U256> {
    let limbs = wide.as_limbs();
    if limbs[4..].iter().any(|limb| *limb != 0) {
        return None;
    }
    Some(U256::from_limbs([limbs[0], limbs[1], limbs[2], limbs[3]]))
}

/// `floor(x * y / denominator)` (WadMath.mulDivDown).
#[inline]
pub fn mul_div_down(x: U256, y: U256, denominator: U256) -> Option<U256> {
    if denominator.is_zero() {
        return None;
    }
    if let Some(product) = x.checked_mul(y) {
        return Some(product / denominator);
    }
    let product: U512 = x.widening_mul(y);
    narrow(product / U512::from(denominator))
}

/// `ceil(x * y / denominator)` (WadMath.mulDivUp).
#[inline]
pub fn mul_div_up(x: U256, y: U256, denominator: U256) -> Option<U256> {
    if denominator.is_zero() {
        return None;
    }
    if let Some(product) = x.checked_mul(y) {
        let (quotient, remainder) = product.div_rem(denominator);
        return if remainder.is_zero() { Some(quotient) } else { quotient.checked_add(U256::from(1u8)) };
    }
    let product: U512 = x.widening_mul(y);
    let (quotient, remainder) = product.div_rem(U512::from(denominator));
    let quotient = narrow(quotient)?;
    if remainder.is_zero() {
        Some(quotient)
    } else {
        quotient.checked_add(U256::from(1u8))
    }
}

#[inline]
pub fn mul_wad_down(x: U256, y: U256) -> Option<U256> {
    mul_div_down(x, y, WAD)
}

#[inline]
pub fn mul_wad_up(x: U256, y: U256) -> Option<U256> {
    mul_div_up(x, y, WAD)
}

/// `a * b < c * d`, compared exactly in 512 bits (WadMath.mulLessThan).
#[inline]
pub fn mul_less_than(a: U256, b: U256, c: U256, d: U256) -> bool {
    let left: U512 = a.widening_mul(b);
    let right: U512 = c.widening_mul(d);
    left < right
}

/// A `U256` as the nearest `f64` (relative error below 2^-52); the risk scan's fast
/// filter works in floating point and leaves every close call to the exact math.
#[inline]
pub fn to_f64(value: U256) -> f64 {
    let limbs = value.as_limbs();
    const TWO_64: f64 = 18_446_744_073_709_551_616.0;
    ((limbs[3] as f64 * TWO_64 + limbs[2] as f64) * TWO_64 + limbs[1] as f64) * TWO_64 + limbs[0] as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reference_down(x: U256, y: U256, d: U256) -> Option<U256> {
        if d.is_zero() {
            return None;
        }
        narrow(x.widening_mul::<256, 4, 512, 8>(y) / U512::from(d))
    }

    #[test]
    fn rounding_directions_and_reverts_match_wadmath() {
        let three = U256::from(3u8);
        assert_eq!(mul_div_down(U256::from(10u8), U256::from(1u8), three), Some(three));
        assert_eq!(mul_div_up(U256::from(10u8), U256::from(1u8), three), Some(U256::from(4u8)));
        assert_eq!(mul_div_up(U256::from(9u8), U256::from(1u8), three), Some(three));
        assert_eq!(mul_div_down(U256::from(1u8), U256::from(1u8), U256::ZERO), None, "zero denominator reverts");
        // A 512-bit intermediate is fine as long as the result fits.
        assert_eq!(mul_div_down(U256::MAX, U256::MAX, U256::MAX), Some(U256::MAX));
        assert_eq!(mul_div_down(U256::MAX, U256::from(2u8), U256::from(1u8)), None, "result overflows");
        assert_eq!(mul_div_up(U256::MAX, U256::MAX, U256::MAX), Some(U256::MAX));
        assert_eq!(mul_div_up(U256::MAX, U256::from(3u8), U256::from(2u8)), None);
        assert!(mul_less_than(U256::MAX, U256::from(1u8), U256::MAX, U256::from(2u8)));
        assert!(!mul_less_than(U256::MAX, U256::MAX, U256::MAX, U256::MAX));
    }

    #[test]
    fn to_f64_is_close() {
        assert_eq!(to_f64(U256::ZERO), 0.0);
        assert_eq!(to_f64(WAD), 1e18);
        let big = U256::from(10u8).pow(U256::from(60u8));
        assert!((to_f64(big) / 1e60 - 1.0).abs() < 1e-15);
    }

    proptest! {
        #[test]
        fn fast_paths_agree_with_the_512_bit_reference(
            x in any::<[u64; 4]>(), y in any::<[u64; 4]>(), d in any::<[u64; 4]>(), shift in 0usize..256,
        ) {
            let x = U256::from_limbs(x) >> shift;
            let y = U256::from_limbs(y) >> (255 - shift);
            let d = U256::from_limbs(d) >> (shift / 2);
            let down = mul_div_down(x, y, d);
            prop_assert_eq!(down, reference_down(x, y, d));
            let up = mul_div_up(x, y, d);
            match down {
                None => prop_assert!(up.is_none()),
                Some(down) => {
                    let exact = !d.is_zero() && (x.widening_mul::<256, 4, 512, 8>(y) % U512::from(d)).is_zero();
                    if exact { prop_assert_eq!(up, Some(down)) } else { prop_assert_eq!(up, down.checked_add(U256::from(1u8))) }
                }
            }
        }
    }
}
