//! Event timestamps as milliseconds since the Unix epoch.
//!
//! Windows event exports write `2019-03-19T23:34:25.1234567Z` (nested
//! layout), shippers write `2019-03-19 23:34:25.123` or RFC 3339 with an
//! offset. One small parser covers them all; no calendar crate is needed
//! for UTC arithmetic.
//!
//! Every timestamp this parser returns lies in [`MIN_MS`]`..=`[`MAX_MS`]
//! (the years 1601 to 9999, the range of a Windows `FILETIME` rendered with
//! four-digit years), so differences of two timestamps never overflow;
//! arithmetic with durations, which may be huge, saturates.

/// 1601-01-01T00:00:00.000Z, the earliest timestamp accepted.
pub const MIN_MS: i64 = -11_644_473_600_000;
/// 9999-12-31T23:59:59.999Z, the latest timestamp accepted.
pub const MAX_MS: i64 = 253_402_300_799_999;

/// Parses `YYYY-MM-DD[T ]HH:MM[:SS[.fraction]][Z|±HH:MM|±HHMM]`, or a bare
/// date, into milliseconds since 1970-01-01T00:00:00Z. A timestamp without
/// an offset is taken as UTC. Numbers (epoch seconds or milliseconds) are
/// accepted too. Impossible dates (`2024-02-30`), out-of-range fields and
/// instants outside [`MIN_MS`]`..=`[`MAX_MS`] give `None`.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    parse_with_precision(text).map(|(ms, _)| ms)
}

/// Like [`parse_timestamp`], with the precision of the text in
/// milliseconds: a day for a bare date, a minute for `HH:MM`, a second for
/// `HH:MM:SS`, and so on down to a millisecond (digits of a fraction past
/// the third are ignored). `[ms, ms + precision)` is the span of time the
/// text names; an end-of-range bound such as `--to 2024-05-01` includes all
/// of it.
pub fn parse_with_precision(text: &str) -> Option<(i64, i64)> {
    let s = text.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = s.parse().ok()?;
        // Heuristic: values above 10^11 are milliseconds.
        let (ms, precision) = if n > 100_000_000_000 {
            (n, 1)
        } else {
            (n.checked_mul(1000)?, 1000)
        };
        return in_range(ms).map(|ms| (ms, precision));
    }
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let year = num(0, 4)?;
    let sep = *b.get(4)?;
    if (sep != b'-' && sep != b'/') || b.get(7) != Some(&sep) {
        return None;
    }
    let month = num(5, 2)?;
    let day = num(8, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut ms = days_from_civil(year, month, day) * 86_400_000;
    let mut precision = 86_400_000;
    let mut i = 10;
    if matches!(b.get(i), Some(b'T' | b't' | b' ')) {
        let hour = num(i + 1, 2)?;
        if b.get(i + 3) != Some(&b':') {
            return None;
        }
        let minute = num(i + 4, 2)?;
        i += 6;
        precision = 60_000;
        let mut second = 0;
        if b.get(i) == Some(&b':') {
            second = num(i + 1, 2)?;
            i += 3;
            precision = 1000;
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        ms += ((hour * 60 + minute) * 60 + second) * 1000;
        // A fraction of a second, after the seconds only (`10:00.5` would
        // be half a minute in ISO 8601), with at least one digit.
        if precision == 1000
            && matches!(b.get(i), Some(b'.' | b','))
            && b.get(i + 1).is_some_and(u8::is_ascii_digit)
        {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            let frac = s.get(start..i)?;
            precision = match frac.len() {
                1 => 100,
                2 => 10,
                _ => 1,
            };
            let millis: String = frac.chars().chain("000".chars()).take(3).collect();
            ms += millis.parse::<i64>().ok()?;
        }
        match b.get(i) {
            None => {}
            Some(b'Z' | b'z') if i + 1 == b.len() => {}
            Some(&sign @ (b'+' | b'-')) => {
                // `+HH:MM`, `+HHMM` or `+HH` (RFC 3339 profiles and
                // PostgreSQL write the last).
                let rest = s.get(i + 1..)?.replacen(':', "", 1);
                if !matches!(rest.len(), 2 | 4) || !rest.bytes().all(|c| c.is_ascii_digit()) {
                    return None;
                }
                let oh: i64 = rest.get(0..2)?.parse().ok()?;
                let om: i64 = match rest.get(2..4) {
                    Some(m) => m.parse().ok()?,
                    None => 0,
                };
                if oh > 23 || om > 59 {
                    return None;
                }
                let off = (oh * 60 + om) * 60_000;
                ms += if sign == b'+' { -off } else { off };
            }
            Some(b' ') => {
                if !matches!(s.get(i + 1..), Some("UTC" | "GMT" | "Z")) {
                    return None;
                }
            }
            _ => return None,
        }
    } else if i != s.len() {
        return None;
    }
    in_range(ms).map(|ms| (ms, precision))
}

fn in_range(ms: i64) -> Option<i64> {
    (MIN_MS..=MAX_MS).contains(&ms).then_some(ms)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats milliseconds since the epoch as RFC 3339 UTC
/// (`2019-03-19T23:34:25.123Z`).
pub fn format_timestamp(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    // civil_from_days (Hinnant).
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    let (h, mi, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

/// Parses a duration such as `30m`, `90s`, `2h`, `1d` into milliseconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let ts = sigma_core::Timespan::parse(text.trim())?;
    i64::try_from(ts.seconds).ok()?.checked_mul(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_seen_in_exports() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_timestamp("2025-10-25T13:44:33.440907Z"),
            Some(1_761_399_873_440)
        );
        assert_eq!(
            parse_timestamp("2025-10-25 13:44:33.440"),
            Some(1_761_399_873_440)
        );
        assert_eq!(
            parse_timestamp("2025-10-25T15:44:33.440+02:00"),
            Some(1_761_399_873_440)
        );
        assert_eq!(parse_timestamp("2025-10-25"), Some(1_761_350_400_000));
        assert_eq!(parse_timestamp("1761399873"), Some(1_761_399_873_000));
        assert_eq!(parse_timestamp("garbage"), None);
        assert_eq!(parse_timestamp("2025-13-01"), None);
    }

    #[test]
    fn impossible_dates_and_junk_are_rejected() {
        for bad in [
            "2024-99-99",
            "2024-02-30",
            "2023-02-29",
            "2024-04-31",
            "2024-05-01x",
            "2024-05/01",
            "2024-05-01T10x00",
            "2024-05-01T24:00",
            "2024-05-01T10:00Zjunk",
            "2024-05-01T10:00+05:00junk",
            "2024-05-01T10:00+5",
            "2024-05-01T10:00+24:00",
            "2024-05-01T10:00+123",
            // A fraction belongs to the seconds, and has digits.
            "2024-05-01T10:00.5",
            "2024-05-01T10:00:00.Z",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
        assert!(parse_timestamp("2024-02-29").is_some());
        assert!(parse_timestamp("2000-02-29").is_some());
        assert_eq!(parse_timestamp("1900-02-29"), None);
        assert_eq!(
            parse_timestamp("2024/05/01 10:00:00 UTC"),
            parse_timestamp("2024-05-01T10:00:00Z")
        );
        assert_eq!(
            parse_timestamp("2024-05-01T10:00:00+0530"),
            parse_timestamp("2024-05-01T04:30:00Z")
        );
        // Hours-only offsets (PostgreSQL, RFC 3339 profiles).
        assert_eq!(
            parse_timestamp("2024-05-01 10:00:00+00"),
            parse_timestamp("2024-05-01T10:00:00Z")
        );
        assert_eq!(
            parse_timestamp("2024-05-01T10:00:00-03"),
            parse_timestamp("2024-05-01T13:00:00Z")
        );
    }

    #[test]
    fn the_range_is_1601_to_9999() {
        assert_eq!(parse_timestamp("1601-01-01T00:00:00Z"), Some(MIN_MS));
        assert_eq!(parse_timestamp("9999-12-31T23:59:59.999Z"), Some(MAX_MS));
        assert_eq!(format_timestamp(MIN_MS), "1601-01-01T00:00:00.000Z");
        assert_eq!(format_timestamp(MAX_MS), "9999-12-31T23:59:59.999Z");
        for bad in [
            "1600-12-31T23:59:59.999Z",
            "0000-01-01",
            "9999-12-31T23:59:59-01:00",
            "1601-01-01T00:00:00+00:01",
            "253402300800000",
            "9223372036854775807",
            "99999999999999999999999",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
        assert_eq!(parse_timestamp("253402300799999"), Some(MAX_MS));
        // Extreme values still format without overflow.
        assert!(!format_timestamp(i64::MAX).is_empty());
        assert!(!format_timestamp(i64::MIN).is_empty());
    }

    #[test]
    fn precision_follows_the_text() {
        let p = |s: &str| parse_with_precision(s).map(|(_, p)| p);
        assert_eq!(p("2024-05-01"), Some(86_400_000));
        assert_eq!(p("2024-05-01T10:00"), Some(60_000));
        assert_eq!(p("2024-05-01 10:00:00"), Some(1000));
        assert_eq!(p("2024-05-01T10:00:00.5Z"), Some(100));
        assert_eq!(p("2024-05-01T10:00:00.1234567Z"), Some(1));
        assert_eq!(p("1714557600"), Some(1000));
        assert_eq!(p("1714557600000"), Some(1));
    }

    #[test]
    fn round_trip() {
        let t = parse_timestamp("2024-02-29T23:59:59.999Z").unwrap();
        assert_eq!(format_timestamp(t), "2024-02-29T23:59:59.999Z");
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m"), Some(1_800_000));
        assert_eq!(parse_duration("1h"), Some(3_600_000));
        assert_eq!(parse_duration("x"), None);
    }
}
