//! Order statistics of the samples.

use std::time::Duration;

/// The `q`-quantile (0..=1) by nearest rank, in microseconds.
pub fn quantile_us(samples: &[Duration], q: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut us: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
    us.sort_by(f64::total_cmp);
    let rank = (q * us.len() as f64).ceil() as usize;
    us[rank.clamp(1, us.len()) - 1]
}

pub fn median_us(samples: &[Duration]) -> f64 {
    quantile_us(samples, 0.5)
}

pub fn p90_us(samples: &[Duration]) -> f64 {
    quantile_us(samples, 0.9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let s: Vec<Duration> = (1..=10).map(Duration::from_micros).collect();
        assert_eq!(median_us(&s), 5.0);
        assert_eq!(p90_us(&s), 9.0);
        assert_eq!(quantile_us(&s, 1.0), 10.0);
        assert!(median_us(&[]).is_nan());
    }
}
