//! Adaptive operator selection: a UCB1 bandit over a fixed set of arms (generators or mutation kinds), rewarded
//! by observed improvement.
//!
//! [`Bandit`] keeps, per arm, how often it was tried and how often it improved the goal, picks the next arm by UCB1
//! (success rate plus an exploration bonus), and can be saved and restored as plain numbers ([`ArmStats`]) so that
//! what it learned survives a restart. It does not know what the arms do and reads no randomness: ties go to the
//! lowest arm, so the choice is a pure function of the statistics.

/// What a bandit learned about one arm.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ArmStats {
    /// Times the arm was tried.
    pub tries: u64,
    /// Times it improved the goal.
    pub successes: u64,
}

impl ArmStats {
    /// The observed success rate (0 when untried).
    pub fn rate(&self) -> f64 {
        if self.tries == 0 { 0.0 } else { self.successes as f64 / self.tries as f64 }
    }
}

/// A UCB1 bandit over `n` arms.
#[derive(Clone, Debug, PartialEq)]
pub struct Bandit {
    arms: Vec<ArmStats>,
    exploration: f64,
}

impl Bandit {
    /// A bandit with `n_arms` untried arms and the usual exploration constant `sqrt(2)`.
    pub fn new(n_arms: usize) -> Bandit {
        Bandit { arms: vec![ArmStats::default(); n_arms], exploration: std::f64::consts::SQRT_2 }
    }

    /// A bandit that continues from saved statistics.
    pub fn from_stats(arms: Vec<ArmStats>) -> Bandit {
        Bandit { arms, exploration: std::f64::consts::SQRT_2 }
    }

    /// The statistics, one entry per arm.
    pub fn stats(&self) -> &[ArmStats] {
        &self.arms
    }

    /// The arm to try next: any untried arm first, else the highest UCB1 score `rate + c·sqrt(ln N / tries)`.
    pub fn choose(&self) -> usize {
        if let Some(untried) = self.arms.iter().position(|a| a.tries == 0) {
            return untried;
        }
        let total: u64 = self.arms.iter().map(|a| a.tries).sum();
        let ln_total = (total.max(1) as f64).ln();
        let mut best = (0, f64::NEG_INFINITY);
        for (index, arm) in self.arms.iter().enumerate() {
            let score = arm.rate() + self.exploration * (ln_total / arm.tries as f64).sqrt();
            if score > best.1 {
                best = (index, score);
            }
        }
        best.0
    }

    /// Records the outcome of one try of `arm` (ignored for an arm out of range).
    pub fn record(&mut self, arm: usize, improved: bool) {
        if let Some(stats) = self.arms.get_mut(arm) {
            stats.tries += 1;
            stats.successes += u64::from(improved);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tries_every_arm_then_prefers_the_better_one() {
        let mut bandit = Bandit::new(3);
        let mut picks = [0u32; 3];
        for step in 0..3000u32 {
            let arm = bandit.choose();
            picks[arm] += 1;
            // Arm 1 succeeds half the time, the others one time in ten.
            let improved = if arm == 1 { step % 2 == 0 } else { step % 10 == 0 };
            bandit.record(arm, improved);
        }
        assert!(picks.iter().all(|&p| p > 0));
        assert!(picks[1] > picks[0] + picks[2], "{picks:?}");
        let restored = Bandit::from_stats(bandit.stats().to_vec());
        assert_eq!(restored.choose(), bandit.choose());
        assert_eq!(ArmStats { tries: 4, successes: 1 }.rate(), 0.25);
    }
}
