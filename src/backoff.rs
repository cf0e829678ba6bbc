//! The one backoff policy: waits that start at `first` and double up to a cap, optionally each
//! drawn between half of it and all of it (jitter), so that many clients that failed together do
//! not retry together. Used by the watches (client-go's reflector backoff: 800 ms to 30 s, with
//! jitter), the forward's setup (1 s to 30 s) and the credential plugin's failures (2 s to 60 s).

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Backoff {
    first: Duration,
    cap: Duration,
    jitter: bool,
    failures: u32,
}

impl Backoff {
    pub const fn new(first: Duration, cap: Duration) -> Self {
        Backoff {
            first,
            cap,
            jitter: false,
            failures: 0,
        }
    }

    pub const fn with_jitter(mut self) -> Self {
        self.jitter = true;
        self
    }

    /// The wait after one more failure.
    pub fn next_wait(&mut self) -> Duration {
        self.next_up_to(self.cap)
    }

    /// The same with another cap for this failure (a 403 is waited out longer).
    pub fn next_up_to(&mut self, cap: Duration) -> Duration {
        let step = self
            .first
            .saturating_mul(1u32 << self.failures.min(16))
            .min(cap);
        self.failures = self.failures.saturating_add(1);
        if self.jitter {
            step.mul_f64(0.5 + rand::random::<f64>() * 0.5)
        } else {
            step
        }
    }

    /// A success: the next failure waits `first` again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn waits_double_to_the_cap_and_start_again_after_a_reset() {
        let mut backoff = Backoff::new(S, 30 * S);
        let waits: Vec<u64> = (0..7).map(|_| backoff.next_wait().as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
        backoff.reset();
        assert_eq!(backoff.next_wait(), S);
        assert_eq!(backoff.next_up_to(S), S, "another cap for one failure");
    }

    #[test]
    fn jitter_draws_between_half_and_all_of_each_step() {
        let mut backoff = Backoff::new(Duration::from_millis(800), 30 * S).with_jitter();
        for step in [800, 1600, 3200, 6400, 12800, 25600, 30000, 30000] {
            let wait = backoff.next_wait().as_millis() as u64;
            assert!(
                (step / 2..=step).contains(&wait),
                "{wait} ms for a {step} ms step"
            );
        }
    }
}
