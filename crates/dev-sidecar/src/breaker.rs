//! Resiliency circuit breakers as daprd runs them (its `pkg/resiliency/breaker` over gobreaker,
//! docs/dapr-behaviour.md "Delivery"): closed until the trip condition holds, then open for
//! `timeout` (calls fail at once without reaching the app), then half-open, letting
//! `maxRequests` trial calls through: that many successes close it, one failure opens it
//! again. With `interval` > 0 the closed state's counts are cleared every interval.

use std::time::Duration;

use anyhow::{Context, bail};
use tokio::time::Instant;

/// A `circuitBreakers` policy of a Resiliency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerSpec {
    pub name: String,
    /// Trial calls in the half-open state (default 1).
    pub max_requests: u32,
    /// How often the closed state's counts are cleared; zero: never (default).
    pub interval: Duration,
    /// How long the breaker stays open (default 60 s).
    pub timeout: Duration,
    /// Opens once the consecutive failures exceed this (default `consecutiveFailures > 5`).
    pub trip_above: u32,
}

impl BreakerSpec {
    /// Reads a `trip` expression. daprd evaluates CEL over the counts; this stand-in accepts
    /// the form its policies use, `consecutiveFailures > N` or `>= N`, and refuses the rest.
    pub fn parse_trip(expression: Option<&str>) -> anyhow::Result<u32> {
        let Some(expression) = expression else {
            return Ok(5);
        };
        let compact: String = expression.chars().filter(|c| !c.is_whitespace()).collect();
        let (strict, number) = if let Some(n) = compact.strip_prefix("consecutiveFailures>=") {
            (false, n)
        } else if let Some(n) = compact.strip_prefix("consecutiveFailures>") {
            (true, n)
        } else {
            bail!(
                "trip {expression:?}: the dev sidecar models `consecutiveFailures > N` (or >=) only"
            );
        };
        let n: u32 = number
            .parse()
            .with_context(|| format!("trip {expression:?}: not a count"))?;
        Ok(if strict { n } else { n.saturating_sub(1) })
    }
}

/// Why a call was refused without being made (gobreaker's texts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("circuit breaker is open")]
    Open,
    #[error("too many requests")]
    TooManyRequests,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed,
    Open,
    HalfOpen,
}

/// One breaker instance (daprd keeps one per policy and component, per sidecar).
#[derive(Debug)]
pub struct Breaker {
    spec: BreakerSpec,
    state: State,
    consecutive_failures: u32,
    consecutive_successes: u32,
    /// Calls let through in the half-open state.
    trials: u32,
    /// Open: when it turns half-open. Closed with an interval: when the counts clear.
    until: Option<Instant>,
}

impl Breaker {
    pub fn new(spec: BreakerSpec, now: Instant) -> Self {
        let mut breaker = Self {
            spec,
            state: State::Closed,
            consecutive_failures: 0,
            consecutive_successes: 0,
            trials: 0,
            until: None,
        };
        breaker.enter(State::Closed, now);
        breaker
    }

    #[cfg(test)]
    pub fn state(&mut self, now: Instant) -> State {
        self.tick(now);
        self.state
    }

    /// Before a call: `Err` refuses it (the app is not called).
    pub fn allow(&mut self, now: Instant) -> Result<(), Refused> {
        self.tick(now);
        match self.state {
            State::Closed => Ok(()),
            State::Open => Err(Refused::Open),
            State::HalfOpen if self.trials >= self.spec.max_requests => {
                Err(Refused::TooManyRequests)
            }
            State::HalfOpen => {
                self.trials += 1;
                Ok(())
            }
        }
    }

    /// After a call that [`Self::allow`] let through.
    pub fn record(&mut self, success: bool, now: Instant) {
        self.tick(now);
        if success {
            self.consecutive_failures = 0;
            self.consecutive_successes += 1;
            if self.state == State::HalfOpen && self.consecutive_successes >= self.spec.max_requests
            {
                self.enter(State::Closed, now);
            }
        } else {
            self.consecutive_successes = 0;
            self.consecutive_failures += 1;
            match self.state {
                State::Closed if self.consecutive_failures > self.spec.trip_above => {
                    self.enter(State::Open, now);
                }
                State::HalfOpen => self.enter(State::Open, now),
                _ => {}
            }
        }
    }

    fn tick(&mut self, now: Instant) {
        match (self.state, self.until) {
            (State::Open, Some(until)) if now >= until => self.enter(State::HalfOpen, now),
            (State::Closed, Some(until)) if now >= until => self.enter(State::Closed, now),
            _ => {}
        }
    }

    fn enter(&mut self, state: State, now: Instant) {
        if state != self.state {
            tracing::warn!(breaker = %self.spec.name, from = ?self.state, to = ?state, "circuit breaker changed state");
        }
        self.state = state;
        self.consecutive_failures = 0;
        self.consecutive_successes = 0;
        self.trials = 0;
        self.until = match state {
            State::Open => Some(now + self.spec.timeout),
            State::Closed if !self.spec.interval.is_zero() => Some(now + self.spec.interval),
            _ => None,
        };
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec(trip_above: u32, max_requests: u32) -> BreakerSpec {
        BreakerSpec {
            name: "cb".into(),
            max_requests,
            interval: Duration::ZERO,
            timeout: Duration::from_secs(60),
            trip_above,
        }
    }

    #[test]
    fn trip_expressions() {
        assert_eq!(BreakerSpec::parse_trip(None).unwrap(), 5);
        assert_eq!(
            BreakerSpec::parse_trip(Some("consecutiveFailures > 3")).unwrap(),
            3
        );
        assert_eq!(
            BreakerSpec::parse_trip(Some("consecutiveFailures >= 3")).unwrap(),
            2
        );
        assert!(BreakerSpec::parse_trip(Some("requests > 3")).is_err());
    }

    #[test]
    fn opens_past_the_trip_refuses_then_half_opens_after_the_timeout() {
        let start = Instant::now();
        let mut breaker = Breaker::new(spec(2, 2), start);
        for _ in 0..3 {
            breaker.allow(start).unwrap();
            breaker.record(false, start);
        }
        assert_eq!(breaker.allow(start), Err(Refused::Open));
        let later = start + Duration::from_secs(60);
        assert_eq!(breaker.state(later), State::HalfOpen);
        breaker.allow(later).unwrap();
        breaker.allow(later).unwrap();
        assert_eq!(breaker.allow(later), Err(Refused::TooManyRequests));
        breaker.record(true, later);
        assert_eq!(breaker.state(later), State::HalfOpen);
        breaker.record(true, later);
        assert_eq!(breaker.state(later), State::Closed);
    }

    #[test]
    fn a_failure_while_half_open_opens_it_again_and_successes_reset_the_count() {
        let start = Instant::now();
        let mut breaker = Breaker::new(spec(1, 1), start);
        breaker.record(false, start);
        breaker.record(true, start);
        breaker.record(false, start);
        assert_eq!(breaker.state(start), State::Closed, "not consecutive");
        breaker.record(false, start);
        assert_eq!(breaker.state(start), State::Open);
        let later = start + Duration::from_secs(61);
        breaker.allow(later).unwrap();
        breaker.record(false, later);
        assert_eq!(breaker.allow(later), Err(Refused::Open));
    }
}
