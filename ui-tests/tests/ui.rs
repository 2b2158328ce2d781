//! Compile-fail and compile-pass tests: every `tests/ui/fail/*.rs` must fail
//! with exactly the `.stderr` beside it; every `tests/ui/pass/*.rs` must
//! compile and run. Regenerate with `TRYBUILD=overwrite`, then read each
//! `.stderr` diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
