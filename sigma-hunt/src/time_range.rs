//! The `--from`/`--to` window of a scan, compared as instants.
//!
//! Bounds and event timestamps are read with
//! [`crate::incident::time::parse_timestamp`]'s grammar, so
//! `2026-07-17T01:00:00+05:00` is 16 July 20:00 UTC whatever way it is
//! written; a time without an offset is UTC. A bound covers the whole span
//! its text names: `--from 2024-05-01T10:00` starts at 10:00:00.000, and
//! `--to 2024-05-01` ends at 23:59:59.999 (likewise `--to …T10:00` ends at
//! 10:00:59.999), as a date-only `--to` always included the whole day.

use crate::incident::time::parse_with_precision;
use crate::scan::reason;

/// The window of event times a scan keeps, in milliseconds since the
/// epoch, both ends included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// The first instant kept.
    pub from: Option<i64>,
    /// The last instant kept.
    pub to: Option<i64>,
}

impl TimeRange {
    /// Parses the bounds; an error names the bad one and the accepted
    /// forms.
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<TimeRange, String> {
        let from = from
            .map(|t| bound("--from", t).map(|(start, _)| start))
            .transpose()?;
        let to = to
            .map(|t| bound("--to", t).map(|(start, span)| start.saturating_add(span - 1)))
            .transpose()?;
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                // Every event would be skipped: surely a typo.
                return Err("--from is later than --to: no event could be kept".to_string());
            }
        }
        Ok(TimeRange { from, to })
    }

    /// Whether there is no bound at all.
    pub fn is_unbounded(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }

    /// Whether an event with this timestamp text is kept; otherwise the
    /// skip reason. Without bounds every event is kept. With a bound, an
    /// event without a timestamp is skipped as [`reason::NO_TIME`], one
    /// whose timestamp cannot be read as [`reason::BAD_TIME`].
    pub fn check(&self, ts: Option<&str>) -> Result<(), &'static str> {
        if self.is_unbounded() {
            return Ok(());
        }
        let ts = ts.ok_or(reason::NO_TIME)?;
        let (t, _) = parse_with_precision(ts).ok_or(reason::BAD_TIME)?;
        if self.from.is_some_and(|f| t < f) || self.to.is_some_and(|e| t > e) {
            return Err(reason::OUT_OF_RANGE);
        }
        Ok(())
    }
}

fn bound(flag: &str, text: &str) -> Result<(i64, i64), String> {
    parse_with_precision(text).ok_or_else(|| {
        format!(
            "invalid {flag} time '{text}': use ISO 8601 (2024-05-01, 2024-05-01T10:00:00, \
             2024-05-01T10:00:00+02:00) between the years 1601 and 9999, or epoch seconds"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(from: Option<&str>, to: Option<&str>) -> TimeRange {
        TimeRange::parse(from, to).expect("valid bounds")
    }

    #[test]
    fn offsets_are_instants() {
        // 2026-07-17T01:00:00+05:00 is 2026-07-16T20:00:00Z.
        let ev = Some("2026-07-17T01:00:00+05:00");
        assert_eq!(
            range(Some("2026-07-17"), None).check(ev),
            Err(reason::OUT_OF_RANGE)
        );
        assert_eq!(range(None, Some("2026-07-16")).check(ev), Ok(()));
        assert_eq!(
            range(None, Some("2026-07-16T19:59:59Z")).check(ev),
            Err(reason::OUT_OF_RANGE)
        );
        assert_eq!(range(Some("2026-07-16T20:00:00Z"), None).check(ev), Ok(()));
        // A bound with an offset, against an event in UTC.
        assert_eq!(
            range(Some("2026-07-17T01:00:00+05:00"), None).check(Some("2026-07-16T20:00:00Z")),
            Ok(())
        );
        assert_eq!(
            range(Some("2026-07-17T01:00:01+05:00"), None).check(Some("2026-07-16T20:00:00Z")),
            Err(reason::OUT_OF_RANGE)
        );
        // Negative offsets move the other way.
        assert_eq!(
            range(None, Some("2026-07-16")).check(Some("2026-07-16T22:00:00-03:00")),
            Err(reason::OUT_OF_RANGE)
        );
    }

    #[test]
    fn a_bound_covers_the_span_it_names() {
        let day = range(Some("2024-05-01"), Some("2024-05-01"));
        assert_eq!(day.check(Some("2024-05-01T00:00:00Z")), Ok(()));
        assert_eq!(day.check(Some("2024-05-01 23:59:59.9999999")), Ok(()));
        assert_eq!(
            day.check(Some("2024-05-02T00:00:00Z")),
            Err(reason::OUT_OF_RANGE)
        );
        assert_eq!(
            day.check(Some("2024-04-30T23:59:59.999Z")),
            Err(reason::OUT_OF_RANGE)
        );
        let minute = range(None, Some("2024-05-01T10:00"));
        assert_eq!(minute.check(Some("2024-05-01T10:00:59.999Z")), Ok(()));
        assert_eq!(
            minute.check(Some("2024-05-01T10:01:00Z")),
            Err(reason::OUT_OF_RANGE)
        );
        let second = range(None, Some("2024-05-01T10:00:00"));
        assert_eq!(second.check(Some("2024-05-01T10:00:00.999Z")), Ok(()));
        assert_eq!(
            second.check(Some("2024-05-01T10:00:01Z")),
            Err(reason::OUT_OF_RANGE)
        );
    }

    #[test]
    fn from_after_to_is_an_error() {
        let e = TimeRange::parse(Some("2024-05-02"), Some("2024-05-01")).err();
        assert!(e.is_some_and(|e| e.contains("later than")));
        // The same day on both sides is a whole day, not an empty window.
        assert!(TimeRange::parse(Some("2024-05-01"), Some("2024-05-01")).is_ok());
    }

    #[test]
    fn events_without_a_readable_timestamp() {
        let r = range(Some("2024-05-01"), None);
        assert_eq!(r.check(None), Err(reason::NO_TIME));
        assert_eq!(r.check(Some("yesterday")), Err(reason::BAD_TIME));
        assert_eq!(r.check(Some("2024-02-30T10:00:00Z")), Err(reason::BAD_TIME));
        // No bounds: nothing is checked.
        assert_eq!(TimeRange::default().check(None), Ok(()));
        assert_eq!(TimeRange::default().check(Some("yesterday")), Ok(()));
    }

    #[test]
    fn bad_bounds_are_errors() {
        for bad in ["2024-99-99", "yesterday", "2024-02-30", "1500-01-01", ""] {
            let err = TimeRange::parse(Some(bad), None).expect_err(bad);
            assert!(err.contains("--from") && err.contains(bad), "{err}");
        }
        let err = TimeRange::parse(None, Some("2024-05-01T25:00")).expect_err("hour 25");
        assert!(err.contains("--to"), "{err}");
        assert!(TimeRange::parse(Some(" 2024-05-01 "), Some("1714557600")).is_ok());
    }
}
