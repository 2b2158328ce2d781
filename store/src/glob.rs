//! Redis's glob matching (`stringmatchlen`), byte for byte, so that the memory
//! adapter's SCAN and pattern subscriptions match exactly what Redis matches.
//!
//! `*` any run of bytes, `?` one byte, `[abc]` one of, `[^a]` none of,
//! `[a-z]` a range (reversed ranges are swapped), `\x` the byte `x`, inside or
//! outside brackets. An unclosed `[` matches as if closed at the end of the
//! pattern. Bytes compare as C's signed `char`, as Redis does on x86-64.

/// Whether `subject` matches the Redis glob `pattern`; public as
/// [`crate::key::glob_matches`].
pub(crate) fn matches(pattern: &[u8], subject: &[u8]) -> bool {
    // SCAN, KEYS and PSUBSCRIBE treat a lone `*` as "everything", the empty
    // name included, without running the matcher (which would refuse "").
    if pattern == b"*" {
        return true;
    }
    let mut skip_longer = false;
    match_from(pattern, subject, &mut skip_longer, 0)
}

/// The literal start of a glob pattern: every key it matches begins with it.
pub(crate) fn literal_prefix(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' | '?' | '[' => break,
            '\\' => match chars.next() {
                Some(escaped) => out.push(escaped),
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

fn signed(b: u8) -> i8 {
    b as i8
}

fn match_from(mut p: &[u8], mut s: &[u8], skip_longer: &mut bool, nesting: u32) -> bool {
    // Redis gives up on abusive patterns the same way.
    if nesting > 1000 {
        return false;
    }
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                while !s.is_empty() {
                    if match_from(&p[1..], s, skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s = &s[1..];
                }
                // The rest of the pattern matches nowhere in the rest of the
                // subject: no longer match of an earlier `*` can help.
                *skip_longer = true;
                return false;
            }
            b'?' => {
                s = &s[1..];
            }
            b'[' => {
                p = &p[1..];
                let negate = p.first() == Some(&b'^');
                if negate {
                    p = &p[1..];
                }
                let c = s[0];
                let mut hit = false;
                loop {
                    match p {
                        [b'\\', escaped, ..] => {
                            p = &p[1..];
                            if *escaped == c {
                                hit = true;
                            }
                        }
                        [b']', ..] => break,
                        [] => {
                            // Unclosed: Redis steps back so that the final
                            // advance below lands on the end of the pattern.
                            break;
                        }
                        [start, b'-', end, ..] => {
                            let (mut lo, mut hi) = (signed(*start), signed(*end));
                            if lo > hi {
                                std::mem::swap(&mut lo, &mut hi);
                            }
                            let x = signed(c);
                            if x >= lo && x <= hi {
                                hit = true;
                            }
                            p = &p[2..];
                        }
                        [b, ..] => {
                            if *b == c {
                                hit = true;
                            }
                        }
                    }
                    p = &p[1..];
                }
                if negate {
                    hit = !hit;
                }
                if !hit {
                    return false;
                }
                s = &s[1..];
                if p.is_empty() {
                    // Unclosed bracket at the end of the pattern.
                    return s.is_empty();
                }
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                if p[0] != s[0] {
                    return false;
                }
                s = &s[1..];
            }
            b => {
                if b != s[0] {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
        if s.is_empty() {
            while p.first() == Some(&b'*') {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::{literal_prefix, matches};

    #[test]
    fn redis_rules() {
        let cases: &[(&[u8], &[u8], bool)] = &[
            (b"*", b"", true),
            (b"*", b"anything", true),
            (b"", b"", true),
            (b"", b"a", false),
            (b"a", b"", false),
            (b"h?llo", b"hello", true),
            (b"h?llo", b"hllo", false),
            (b"h*llo", b"heeeello", true),
            (b"h*llo", b"hllo", true),
            (b"h[ae]llo", b"hallo", true),
            (b"h[ae]llo", b"hillo", false),
            (b"h[^e]llo", b"hallo", true),
            (b"h[^e]llo", b"hello", false),
            (b"h[a-b]llo", b"hbllo", true),
            (b"h[b-a]llo", b"hbllo", true),
            (b"h[a-b]llo", b"hcllo", false),
            (br"h\*llo", b"h*llo", true),
            (br"h\*llo", b"hello", false),
            (br"h[\]]llo", b"h]llo", true),
            (br"a\", b"a\\", true),
            (b"a[", b"a", false),
            (b"a[b", b"ab", true),
            (b"a[b", b"abc", false),
            (b"a*b*c", b"axxbyyc", true),
            (b"a*b*c", b"axxbyy", false),
            (b"**a", b"xa", true),
            (b"a**", b"a", true),
            (b"user:*", b"user:", true),
            (b"[]", b"]", false),
            (b"[]]", b"]", false),
            (b"[^", b"a", true),
            (b"[^", b"", false),
            (b"a[", b"a", false),
        ];
        for (p, s, want) in cases {
            assert_eq!(
                matches(p, s),
                *want,
                "pattern {:?} subject {:?}",
                String::from_utf8_lossy(p),
                String::from_utf8_lossy(s)
            );
        }
    }

    #[test]
    fn literal_prefixes() {
        assert_eq!(literal_prefix(r"a:b\*c*d"), "a:b*c");
        assert_eq!(literal_prefix("abc"), "abc");
        assert_eq!(literal_prefix(r"\ü*"), "ü");
        assert_eq!(literal_prefix("[a]"), "");
    }
}
