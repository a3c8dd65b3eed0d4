//! Per-user limits (ADR 0003): a request budget per user for each kind of costly call (writes,
//! quick-add parsing, `/mcp`, chain verification, real-time tickets), so one account cannot
//! slow the service for everyone else. Budgets are GCRA rate limiters (the `governor` crate)
//! keyed by the verified user id and kept in the process: a limit holds per replica, which is
//! what protects each replica's CPU and pool, and costs no round trip. A limited request gets
//! 429 `rate_limited` with `Retry-After`.

use std::marker::PhantomData;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::auth::{AuthUser, JwtVerifier};
use crate::config::{ConfigError, env_or};
use crate::error::ApiError;

/// How many calls of one kind a user may make: `per_minute` on average, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Sustained calls per minute; 0 switches the limit off.
    pub per_minute: u32,
    /// Calls allowed back to back before the sustained rate applies.
    pub burst: u32,
}

impl Rate {
    /// `per_minute` with a burst of a quarter of it (at least 1).
    pub const fn per_minute(per_minute: u32) -> Self {
        let quarter = per_minute / 4;
        Self {
            per_minute,
            burst: if quarter == 0 { 1 } else { quarter },
        }
    }

    /// The rate from `variable` (calls per minute; `0` = no limit), else `default`.
    pub fn from_env(variable: &str, default: Self) -> Result<Self, ConfigError> {
        let per_minute: u32 = env_or(variable, default.per_minute)?;
        Ok(if per_minute == default.per_minute {
            default
        } else {
            Self::per_minute(per_minute)
        })
    }
}

/// One kind of call's budget, per user.
pub struct UserLimit {
    what: &'static str,
    limiter: Option<DefaultKeyedRateLimiter<String>>,
}

impl std::fmt::Debug for UserLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserLimit")
            .field("what", &self.what)
            .field("on", &self.limiter.is_some())
            .finish()
    }
}

impl UserLimit {
    /// A budget of `rate` per user for calls of kind `what` (named in the 429's message).
    pub fn new(what: &'static str, rate: Rate) -> Arc<Self> {
        let limiter = NonZeroU32::new(rate.per_minute).map(|per_minute| {
            let burst = NonZeroU32::new(rate.burst).unwrap_or(NonZeroU32::MIN);
            DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst))
        });
        Arc::new(Self { what, limiter })
    }

    /// Spends one call of `user`'s budget, or says when the next one will be allowed.
    pub fn check(&self, user: &str) -> Result<(), ApiError> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter.check_key(&user.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            metrics::counter!("rate_limited_total", "what" => self.what).increment(1);
            ApiError::RateLimited {
                what: self.what,
                retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            }
        })
    }

    /// Forgets users whose budget is full again, so memory follows the active users only.
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// Names the [`UserLimit`] of one kind of call in a service's state `S`.
pub trait LimitOf<S> {
    /// The budget in `state`.
    fn limit(state: &S) -> &UserLimit;
}

/// The verified caller, after one call of the budget `L` was spent: a handler that takes it
/// answers 401 without a valid token and 429 over budget, before any work.
pub struct Limited<L>(pub AuthUser, pub PhantomData<fn() -> L>);

impl<S, L> FromRequestParts<S> for Limited<L>
where
    L: LimitOf<S>,
    Arc<JwtVerifier>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        L::limit(state).check(&user.user_id)?;
        Ok(Self(user, PhantomData))
    }
}

/// Calls [`UserLimit::forget_idle`] on `limits` every minute until `shutdown`.
pub async fn forget_idle_periodically(
    limits: Vec<Arc<UserLimit>>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = every.tick() => limits.iter().for_each(|l| l.forget_idle()),
            () = shutdown.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_user_over_budget_is_told_when_to_come_back_while_others_are_not_limited() {
        let limit = UserLimit::new(
            "writes",
            Rate {
                per_minute: 60,
                burst: 3,
            },
        );
        for _ in 0..3 {
            assert!(limit.check("alice").is_ok());
        }
        match limit.check("alice") {
            Err(ApiError::RateLimited {
                what,
                retry_after_secs,
            }) => {
                assert_eq!(what, "writes");
                assert!((1..=2).contains(&retry_after_secs), "{retry_after_secs}");
            }
            other => panic!("expected 429, got {other:?}"),
        }
        assert!(limit.check("bob").is_ok(), "budgets are per user");
    }

    #[test]
    fn a_zero_rate_switches_the_limit_off() {
        let limit = UserLimit::new("writes", Rate::per_minute(0));
        for _ in 0..1000 {
            assert!(limit.check("alice").is_ok());
        }
    }
}
