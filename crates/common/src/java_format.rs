//! Numbers written as the Java broker writes them into the strings it reports (runtime info,
//! JSON bodies): `Double.toString`, `String.format("%.Nf")` and
//! `MixAll.humanReadableByteCount`. A tool that parses the Java broker's output parses these.

use std::fmt::Write;

/// Java's `Double.toString`: `0.0`, `12.5`, `1.0E7`, `1.0E-4`, `NaN`, `Infinity`.
pub fn double(f: f64) -> String {
    let mut out = String::new();
    write_double(&mut out, f);
    out
}

/// [`double`], appended to `out`.
pub fn write_double(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("NaN");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    let magnitude = f.abs();
    if magnitude == 0.0 || (1e-3..1e7).contains(&magnitude) {
        // Rust's shortest round-trip form with a forced fractional part.
        let _ = write!(out, "{f:?}");
        return;
    }
    let sci = format!("{f:e}");
    let (mantissa, exponent) = sci.split_once('e').expect("{:e} always has an exponent");
    out.push_str(mantissa);
    if !mantissa.contains('.') {
        out.push_str(".0");
    }
    out.push('E');
    out.push_str(exponent);
}

/// Java's `String.format("%.<decimals>f", f)`. Java rounds the shortest decimal form of the
/// double half up (so 0.125 gives `0.13` and 1.005 gives `1.01`), where Rust's `{:.2}` rounds
/// the exact binary value to even; this follows Java.
pub fn fixed(f: f64, decimals: usize) -> String {
    if !f.is_finite() {
        return double(f);
    }
    // Rust's Display is the shortest round-trip form, never in exponent notation.
    let shortest = format!("{}", f.abs());
    let (int_part, frac_part) = shortest.split_once('.').unwrap_or((&shortest, ""));
    let mut digits: Vec<u8> = int_part.bytes().map(|b| b - b'0').collect();
    let frac: Vec<u8> = frac_part.bytes().map(|b| b - b'0').collect();
    digits.extend((0..decimals).map(|i| frac.get(i).copied().unwrap_or(0)));
    if frac.get(decimals).is_some_and(|&d| d >= 5) {
        // Half up: carry from the last kept digit.
        let mut i = digits.len();
        loop {
            if i == 0 {
                digits.insert(0, 1);
                break;
            }
            i -= 1;
            if digits[i] == 9 {
                digits[i] = 0;
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
    // A carry out of the first digit made the whole part one digit longer.
    let (whole, fraction) = digits.split_at(digits.len() - decimals);
    let mut out = String::new();
    // Java keeps the sign of a negative value that rounds to zero: `-0.00`.
    if f.is_sign_negative() {
        out.push('-');
    }
    out.extend(whole.iter().map(|d| char::from(b'0' + d)));
    if decimals > 0 {
        out.push('.');
        out.extend(fraction.iter().map(|d| char::from(b'0' + d)));
    }
    out
}

/// `MixAll.humanReadableByteCount(bytes, false)`: `512 B`, `1.5 KiB`, `3.0 GiB`.
pub fn human_readable_bytes(bytes: i64) -> String {
    const UNIT: f64 = 1024.0;
    if (bytes as f64) < UNIT {
        return format!("{bytes} B");
    }
    let exp = ((bytes as f64).ln() / UNIT.ln()) as i32;
    let prefix = b"KMGTPE"[(exp - 1).clamp(0, 5) as usize] as char;
    format!("{} {prefix}iB", fixed(bytes as f64 / UNIT.powi(exp), 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_as_java() {
        for (f, java) in [
            (0.0, "0.0"),
            (12.5, "12.5"),
            (1e7, "1.0E7"),
            (1.5e-4, "1.5E-4"),
            (-3.0, "-3.0"),
            (0.47, "0.47"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ] {
            assert_eq!(double(f), java, "{f}");
        }
    }

    #[test]
    fn fixed_rounds_half_up_like_java() {
        for (f, decimals, java) in [
            (0.0, 2, "0.00"),
            (0.125, 2, "0.13"),
            (1.005, 2, "1.01"),
            (2.5, 0, "3"),
            (9.999, 2, "10.00"),
            (99.96, 1, "100.0"),
            (1.25, 1, "1.3"),
            (1234.5678, 2, "1234.57"),
            (-0.001, 2, "-0.00"),
            (-1.5, 1, "-1.5"),
            (7.0, 1, "7.0"),
        ] {
            assert_eq!(fixed(f, decimals), java, "{f} to {decimals}");
        }
    }

    #[test]
    fn byte_counts_as_java() {
        for (bytes, java) in [
            (0, "0 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (1280, "1.3 KiB"),
            (1536, "1.5 KiB"),
            (3 << 30, "3.0 GiB"),
            (270_582_939_648, "252.0 GiB"),
        ] {
            assert_eq!(human_readable_bytes(bytes), java, "{bytes}");
        }
    }
}
