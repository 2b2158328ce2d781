//! Runnable examples of `igniter-store`; see `src/bin`.
