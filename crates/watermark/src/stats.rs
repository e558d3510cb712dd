//! Exact binomial tails for the presence test, computed in log space.

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error below 1e-15).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection formula.
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

fn ln_choose(n: u64, k: u64) -> f64 {
    ln_gamma(n as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0)
}

/// ln P(X ≥ k) for X ~ Binomial(n, 1/2), exact up to floating-point rounding.
pub fn ln_binomial_upper_tail(n: u64, k: u64) -> f64 {
    if k == 0 {
        return 0.0;
    }
    if k > n {
        return f64::NEG_INFINITY;
    }
    let ln_half_n = -(n as f64) * std::f64::consts::LN_2;
    if 2 * k <= n {
        // The tail holds at least half the mass: 1 − P(X ≤ k−1), and P(X ≤ k−1) = P(X ≥ n−k+1).
        let lower = ln_binomial_upper_tail(n, n - k + 1).exp();
        return (1.0 - lower).max(f64::MIN_POSITIVE).ln();
    }
    // Terms fall geometrically above the mean: sum until they stop mattering.
    let first = ln_choose(n, k) + ln_half_n;
    let mut sum = 1.0f64;
    let mut term = 1.0f64;
    let mut i = k;
    while i < n {
        term *= (n - i) as f64 / (i + 1) as f64;
        sum += term;
        i += 1;
        if term < sum * 1e-17 {
            break;
        }
    }
    first + sum.ln()
}

/// P(X ≥ k) for X ~ Binomial(n, 1/2).
pub fn binomial_upper_tail(n: u64, k: u64) -> f64 {
    ln_binomial_upper_tail(n, k).exp()
}

/// Standard score of `agree` agreements among `len` fair coin comparisons (0 = chance):
/// (2·agree − len) / √len.
pub fn standard_score(agree: usize, len: usize) -> f32 {
    (2.0 * agree as f32 - len as f32) / (len as f32).sqrt().max(1.0)
}

/// ln of Hoeffding's bound P(S ≥ s) ≤ exp(−s² / 2Σc²) for a sum S of independent fair ±c_i
/// terms, given the observed `sum` s and `square` = Σc²; 0 (no evidence) when s ≤ 0 or Σc² = 0.
pub fn ln_hoeffding_bound(sum: f64, square: f64) -> f64 {
    if sum > 0.0 && square > 0.0 {
        -(sum * sum) / (2.0 * square)
    } else {
        0.0
    }
}

/// Standard score of "proportion a1/n1 exceeds a2/n2" (two-proportion test, pooled variance);
/// 0 when either sample is empty.
pub fn two_proportion_z(a1: usize, n1: usize, a2: usize, n2: usize) -> f64 {
    if n1 == 0 || n2 == 0 {
        return 0.0;
    }
    let (n1, n2) = (n1 as f64, n2 as f64);
    let (a1, a2) = (a1 as f64, a2 as f64);
    let pooled = (a1 + a2) / (n1 + n2);
    let sd = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
        .sqrt()
        .max(1e-12);
    (a1 / n1 - a2 / n2) / sd
}

/// Kolmogorov–Smirnov test of samples against N(0,1): returns (statistic D, asymptotic p-value).
pub fn ks_normal(samples: &mut [f64]) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let n = samples.len() as f64;
    let mut d = 0.0f64;
    for (i, &x) in samples.iter().enumerate() {
        let cdf = normal_cdf(x);
        d = d.max((i as f64 + 1.0) / n - cdf).max(cdf - i as f64 / n);
    }
    let sqrt_n = n.sqrt();
    let lambda = (sqrt_n + 0.12 + 0.11 / sqrt_n) * d;
    // Kolmogorov distribution tail.
    let mut p = 0.0;
    for j in 1..=100 {
        let j = j as f64;
        p += 2.0 * (-1f64).powf(j - 1.0) * (-2.0 * j * j * lambda * lambda).exp();
    }
    (d, p.clamp(0.0, 1.0))
}

/// Standard normal CDF (through [`erfc`]; absolute error below 1e-7, far below what a KS test over
/// 10^6 samples can resolve).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Complementary error function (Numerical Recipes' Chebyshev fit, relative error below 1.2e-7).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_tails_match_hand_counts() {
        // P(X ≥ 8), n = 10: (45 + 10 + 1) / 1024.
        assert!((binomial_upper_tail(10, 8) - 56.0 / 1024.0).abs() < 1e-12);
        // P(X ≥ 3), n = 10: 1 − (1 + 10 + 45) / 1024.
        assert!((binomial_upper_tail(10, 3) - (1.0 - 56.0 / 1024.0)).abs() < 1e-12);
        assert_eq!(binomial_upper_tail(10, 0), 1.0);
        assert_eq!(binomial_upper_tail(10, 11), 0.0);
        assert!((binomial_upper_tail(10, 10) - 1.0 / 1024.0).abs() < 1e-15);
    }

    #[test]
    fn large_tails_agree_with_the_normal_approximation() {
        // n = 10000, k = mean + 6 sd: the tail is near 1e-9 (normal approx 9.9e-10 with continuity).
        let p = binomial_upper_tail(10_000, 5_300);
        assert!(p > 5e-10 && p < 2e-9, "{p}");
        // Far tails stay finite in log space.
        assert!(ln_binomial_upper_tail(100_000, 90_000) < -20_000.0);
    }

    #[test]
    fn standard_scores_count_sd_from_chance() {
        assert_eq!(standard_score(50, 100), 0.0);
        assert_eq!(standard_score(60, 100), 2.0);
        assert_eq!(standard_score(40, 100), -2.0);
        // Empty comparisons give 0, never NaN.
        assert_eq!(standard_score(0, 0), 0.0);
    }

    #[test]
    fn hoeffding_bound_needs_positive_evidence() {
        assert_eq!(ln_hoeffding_bound(-3.0, 4.0), 0.0);
        assert_eq!(ln_hoeffding_bound(3.0, 0.0), 0.0);
        // 100 fair ±1 terms summing to 30: exp(-900 / 200).
        assert!((ln_hoeffding_bound(30.0, 100.0) + 4.5).abs() < 1e-12);
    }

    #[test]
    fn two_proportion_scores_are_signed_and_pooled() {
        assert_eq!(two_proportion_z(5, 0, 3, 10), 0.0);
        assert_eq!(two_proportion_z(50, 100, 50, 100), 0.0);
        // 0.6 vs 0.4 on 100 each: pooled 0.5, sd = sqrt(0.25 · 0.02) = 0.0707.
        let z = two_proportion_z(60, 100, 40, 100);
        assert!((z - 0.2 / 0.02f64.sqrt() / 0.5).abs() < 1e-9, "{z}");
        assert!(two_proportion_z(40, 100, 60, 100) < 0.0);
    }

    #[test]
    fn ln_gamma_is_accurate() {
        assert!((ln_gamma(1.0)).abs() < 1e-14);
        assert!((ln_gamma(11.0) - (3_628_800f64).ln()).abs() < 1e-12);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
    }
}
