//! [`Constrained<T>`]: a value that admin requirements keep in bounds.
//!
//! A constrained value carries a validator and, optionally, a normalizer:
//! - [`Constrained::set`] normalizes the candidate, validates it, and keeps
//!   the old value if validation fails;
//! - [`Constrained::can_set`] only validates, changing nothing.
//!
//! The MCP server map uses a normalizer (servers that fail the allowlist are
//! disabled, not rejected); sandbox mode and approval policy use validators.

use std::fmt;
use std::sync::Arc;

type Validator<T> = Arc<dyn Fn(&T) -> Result<(), ConstraintError> + Send + Sync>;
type Normalizer<T> = Arc<dyn Fn(T) -> T + Send + Sync>;

/// A value plus the rules it must obey.
pub struct Constrained<T> {
    value: T,
    validator: Validator<T>,
    normalizer: Option<Normalizer<T>>,
}

/// Why a candidate value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConstraintError {
    /// The value is outside the allowed set.
    #[error(
        "invalid value for `{field_name}`: `{candidate}` is not in the allowed set [{allowed}] (set by {requirement_source})"
    )]
    InvalidValue {
        /// The setting.
        field_name: &'static str,
        /// The refused value.
        candidate: String,
        /// The allowed values, comma-separated.
        allowed: String,
        /// The requirement source(s) that set the bound.
        requirement_source: String,
    },
}

impl<T> Constrained<T> {
    /// A value checked by `validator`; fails if `initial` is invalid.
    pub fn new(
        initial: T,
        validator: impl Fn(&T) -> Result<(), ConstraintError> + Send + Sync + 'static,
    ) -> Result<Self, ConstraintError> {
        validator(&initial)?;
        Ok(Constrained {
            value: initial,
            validator: Arc::new(validator),
            normalizer: None,
        })
    }

    /// A value passed through `normalizer` on creation and on every `set`.
    pub fn normalized(initial: T, normalizer: impl Fn(T) -> T + Send + Sync + 'static) -> Self {
        let normalizer: Normalizer<T> = Arc::new(normalizer);
        Constrained {
            value: normalizer(initial),
            validator: Arc::new(|_| Ok(())),
            normalizer: Some(normalizer),
        }
    }

    /// A value with no constraint.
    pub fn allow_any(initial: T) -> Self {
        Constrained {
            value: initial,
            validator: Arc::new(|_| Ok(())),
            normalizer: None,
        }
    }

    /// The current value.
    pub fn get(&self) -> &T {
        &self.value
    }

    /// Consumes the wrapper, returning the value.
    pub fn into_inner(self) -> T {
        self.value
    }

    /// Whether `candidate` would be accepted. Does not normalize and does not
    /// change anything.
    pub fn can_set(&self, candidate: &T) -> Result<(), ConstraintError> {
        (self.validator)(candidate)
    }

    /// Normalizes and validates `candidate`, then stores it. On failure the
    /// previous value is kept.
    pub fn set(&mut self, candidate: T) -> Result<(), ConstraintError> {
        let candidate = match &self.normalizer {
            Some(normalize) => normalize(candidate),
            None => candidate,
        };
        (self.validator)(&candidate)?;
        self.value = candidate;
        Ok(())
    }
}

impl<T: Clone> Clone for Constrained<T> {
    fn clone(&self) -> Self {
        Constrained {
            value: self.value.clone(),
            validator: Arc::clone(&self.validator),
            normalizer: self.normalizer.clone(),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Constrained<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T: PartialEq> PartialEq for Constrained<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T> std::ops::Deref for Constrained<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn positive(v: &i32) -> Result<(), ConstraintError> {
        if *v > 0 {
            Ok(())
        } else {
            Err(ConstraintError::InvalidValue {
                field_name: "n",
                candidate: v.to_string(),
                allowed: "1..".into(),
                requirement_source: "test".into(),
            })
        }
    }

    #[test]
    fn normalizer_applies_on_init_and_set() {
        let mut c = Constrained::normalized(-1, |v: i32| v.max(0));
        assert_eq!(*c.get(), 0);
        c.set(-5).expect("normalized");
        assert_eq!(*c.get(), 0);
        c.set(10).expect("ok");
        assert_eq!(*c.get(), 10);
    }

    #[test]
    fn new_rejects_invalid_initial_value() {
        assert!(Constrained::new(0, positive).is_err());
    }

    #[test]
    fn set_rejects_and_keeps_previous() {
        let mut c = Constrained::new(3, positive).expect("valid");
        let err = c.set(-2).expect_err("invalid");
        assert_eq!(
            err.to_string(),
            "invalid value for `n`: `-2` is not in the allowed set [1..] (set by test)"
        );
        assert_eq!(*c.get(), 3);
    }

    #[test]
    fn can_set_only_probes() {
        let c = Constrained::new(3, positive).expect("valid");
        assert!(c.can_set(&5).is_ok());
        assert!(c.can_set(&-5).is_err());
        assert_eq!(*c.get(), 3);
    }

    #[test]
    fn allow_any_accepts_anything() {
        let mut c = Constrained::allow_any(1);
        c.set(-100).expect("any");
        assert_eq!(*c, -100);
    }
}
