//! Uniswap V2's exact swap arithmetic (0.3% fee), for pricing seized collateral at a pool's
//! executable price and for financing a settle with a flash swap. Pure and checked: pool
//! reserves come from an RPC and may lie, so every function returns `None` instead of
//! overflowing, dividing by zero or draining a pool.

use alloy::primitives::U256;

/// Uniswap V2 charges 3/1000 of the input.
const FEE_DENOMINATOR: u64 = 1_000;
const FEE_NUMERATOR: u64 = 997;

/// A pool's reserves, oriented for one trade: what we pay in and what we take out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reserves {
    /// Reserve of the token sold into the pool.
    pub reserve_in: U256,
    /// Reserve of the token bought from it.
    pub reserve_out: U256,
}

impl Reserves {
    /// Orients a pair's `getReserves()` for selling `token_in`, given the pair's `token0`.
    pub fn for_sale(reserve0: U256, reserve1: U256, token_in_is_token0: bool) -> Self {
        if token_in_is_token0 {
            Self { reserve_in: reserve0, reserve_out: reserve1 }
        } else {
            Self { reserve_in: reserve1, reserve_out: reserve0 }
        }
    }

    /// Uniswap V2's `getAmountOut`: what selling `amount_in` yields, rounded down (the
    /// pool keeps the remainder). `Some(0)` for an empty pool or no input; `None` only if
    /// the arithmetic would overflow 256 bits.
    pub fn amount_out(&self, amount_in: U256) -> Option<U256> {
        if amount_in.is_zero() || self.reserve_in.is_zero() || self.reserve_out.is_zero() {
            return Some(U256::ZERO);
        }
        let amount_in_with_fee = amount_in.checked_mul(U256::from(FEE_NUMERATOR))?;
        let numerator = amount_in_with_fee.checked_mul(self.reserve_out)?;
        let denominator = self.reserve_in.checked_mul(U256::from(FEE_DENOMINATOR))?.checked_add(amount_in_with_fee)?;
        Some(numerator / denominator)
    }

    /// Uniswap V2's `getAmountIn`: the least input that buys `amount_out`, rounded up.
    /// `None` when the pool cannot give that much (`amount_out >= reserve_out`) or on overflow.
    pub fn amount_in(&self, amount_out: U256) -> Option<U256> {
        if amount_out.is_zero() {
            return Some(U256::ZERO);
        }
        if amount_out >= self.reserve_out || self.reserve_in.is_zero() {
            return None;
        }
        let numerator = self.reserve_in.checked_mul(amount_out)?.checked_mul(U256::from(FEE_DENOMINATOR))?;
        let denominator = (self.reserve_out - amount_out).checked_mul(U256::from(FEE_NUMERATOR))?;
        (numerator / denominator).checked_add(U256::from(1))
    }

    /// The pool's marginal price of one whole `in` token in `out` tokens, WAD, before fees
    /// (`reserve_out × 10^decimals_in × 1e18 / (reserve_in × 10^decimals_out)`, rounded
    /// down); `None` for an empty pool or on overflow.
    pub fn price_wad(&self, decimals_in: u8, decimals_out: u8) -> Option<U256> {
        if self.reserve_in.is_zero() {
            return None;
        }
        let scale_in = U256::from(10u8).checked_pow(U256::from(decimals_in))?;
        let scale_out = U256::from(10u8).checked_pow(U256::from(decimals_out))?;
        let wad = U256::from(1_000_000_000_000_000_000u64);
        let numerator = self.reserve_out.checked_mul(scale_in)?.checked_mul(wad)?;
        Some(numerator / self.reserve_in.checked_mul(scale_out)?)
    }

    /// Whether the pair accepts a trade that takes `amount_out` and pays `amount_in` (and
    /// nothing of the other token): Uniswap V2's fee-adjusted invariant,
    /// `(1000 (r_in + in) - 3 in) × 1000 (r_out - out) >= 1000² r_in r_out`.
    pub fn accepts(&self, amount_in: U256, amount_out: U256) -> bool {
        let check = || -> Option<bool> {
            let adjusted_in = self
                .reserve_in
                .checked_mul(U256::from(FEE_DENOMINATOR))?
                .checked_add(amount_in.checked_mul(U256::from(FEE_NUMERATOR))?)?;
            let adjusted_out = self.reserve_out.checked_sub(amount_out)?.checked_mul(U256::from(FEE_DENOMINATOR))?;
            let left = adjusted_in.checked_mul(adjusted_out)?;
            let right = self.reserve_in.checked_mul(self.reserve_out)?.checked_mul(U256::from(1_000_000u64))?;
            Some(left >= right)
        };
        check().unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn reserves(reserve_in: u64, reserve_out: u64) -> Reserves {
        Reserves { reserve_in: U256::from(reserve_in), reserve_out: U256::from(reserve_out) }
    }

    /// Uniswap V2's `getAmountOut` as written in `UniswapV2Library`, in u128 (inputs below 2^40
    /// keep every product below 2^90).
    fn reference_amount_out(amount_in: u128, reserve_in: u128, reserve_out: u128) -> u128 {
        let with_fee = amount_in * 997;
        with_fee * reserve_out / (reserve_in * 1000 + with_fee)
    }

    fn reference_amount_in(amount_out: u128, reserve_in: u128, reserve_out: u128) -> u128 {
        reserve_in * amount_out * 1000 / ((reserve_out - amount_out) * 997) + 1
    }

    #[test]
    fn a_worked_example_matches_uniswap() {
        // 1 ETH into 100 ETH / 200,000 USD (computed independently; also asserted by the forge test).
        let wad = U256::from(10u64).pow(U256::from(18));
        let pool = Reserves { reserve_in: U256::from(100u8) * wad, reserve_out: U256::from(200_000u32) * wad };
        assert_eq!(pool.amount_out(wad), Some(U256::from(1_974_316_068_794_122_597_700u128)));
        assert_eq!(pool.price_wad(18, 18), Some(U256::from(2_000u32) * wad));
    }

    #[test]
    fn hostile_reserves_never_panic() {
        let huge = Reserves { reserve_in: U256::MAX, reserve_out: U256::MAX };
        assert_eq!(huge.amount_out(U256::MAX), None, "overflow is refused, not wrapped");
        assert_eq!(reserves(0, 0).amount_out(U256::from(5)), Some(U256::ZERO), "an empty pool gives nothing");
        assert_eq!(reserves(10, 10).amount_in(U256::from(10)), None, "cannot buy the whole reserve");
        assert_eq!(reserves(0, 10).price_wad(18, 18), None);
        assert!(!huge.accepts(U256::MAX, U256::ZERO));
    }

    proptest! {
        #[test]
        fn amount_out_matches_the_reference(amount in 1u64..1 << 40, reserve_in in 1u64..1 << 40, reserve_out in 1u64..1 << 40) {
            let ours = reserves(reserve_in, reserve_out).amount_out(U256::from(amount)).unwrap();
            let reference = reference_amount_out(amount.into(), reserve_in.into(), reserve_out.into());
            prop_assert_eq!(ours, U256::from(reference));
        }

        #[test]
        fn amount_in_matches_the_reference(out in 1u64..1 << 40, reserve_in in 1u64..1 << 40, reserve_out in 2u64..1 << 40) {
            let out = out % (reserve_out - 1) + 1;
            let ours = reserves(reserve_in, reserve_out).amount_in(U256::from(out)).unwrap();
            prop_assert_eq!(ours, U256::from(reference_amount_in(out.into(), reserve_in.into(), reserve_out.into())));
        }

        /// The pair accepts exactly what the quote promises, and not one unit more.
        #[test]
        fn the_pair_accepts_the_quote_and_nothing_more(amount in 1u64..1 << 60, reserve_in in 1_000u64..1 << 60, reserve_out in 1_000u64..1 << 60) {
            let pool = reserves(reserve_in, reserve_out);
            let out = pool.amount_out(U256::from(amount)).unwrap();
            prop_assert!(pool.accepts(U256::from(amount), out));
            prop_assert!(!pool.accepts(U256::from(amount), out + U256::from(1)));
        }
    }
}
