//! Delay levels (`messageDelayLevel`, Java's `ScheduleMessageService.parseDelayLevel`).
//!
//! A message with `DELAY=n` is stored in `SCHEDULE_TOPIC_XXXX`, queue `n - 1`, and its
//! consume-queue unit holds the time it is due instead of a tag hash: the store time plus the
//! level's delay. The broker's scheduler delivers it to its real topic once that time comes.

use ferrocket_common::properties::{self, keys};
use std::fmt;

/// Java's default: 18 levels from one second to two hours.
pub const DEFAULT_DELAY_LEVELS: &str = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";

/// The delay of each level, level 1 first.
#[derive(Clone, PartialEq, Eq)]
pub struct DelayLevels {
    text: String,
    millis: Vec<i64>,
}

impl fmt::Debug for DelayLevels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DelayLevels({:?})", self.text)
    }
}

impl Default for DelayLevels {
    fn default() -> Self {
        DelayLevels::parse(DEFAULT_DELAY_LEVELS).expect("the default delay levels parse")
    }
}

impl DelayLevels {
    /// Java's default levels, parsed once.
    pub fn java_default() -> &'static DelayLevels {
        static DEFAULT: std::sync::LazyLock<DelayLevels> =
            std::sync::LazyLock::new(DelayLevels::default);
        &DEFAULT
    }

    /// Parses levels separated by single spaces, each a count and a unit (`s`, `m`, `h`, `d`).
    pub fn parse(text: &str) -> Result<DelayLevels, &'static str> {
        let millis = text
            .split(' ')
            .map(|level| {
                let unit = match level.chars().last() {
                    Some('s') => 1_000,
                    Some('m') => 60_000,
                    Some('h') => 3_600_000,
                    Some('d') => 86_400_000,
                    _ => return Err("each level ends in s, m, h or d"),
                };
                let count: i64 = level[..level.len() - 1]
                    .parse()
                    .map_err(|_| "each level is a whole count before its unit")?;
                count.checked_mul(unit).ok_or("a level's delay overflows")
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(DelayLevels {
            text: text.to_owned(),
            millis,
        })
    }

    /// The text it was parsed from (the config value).
    pub fn as_text(&self) -> &str {
        &self.text
    }

    /// The highest level; higher requested levels are clamped to it.
    pub fn max_level(&self) -> i32 {
        self.millis.len() as i32
    }

    /// The delay of `level` (1-based), if there is such a level.
    pub fn delay_ms(&self, level: i32) -> Option<i64> {
        let index = usize::try_from(level.checked_sub(1)?).ok()?;
        self.millis.get(index).copied()
    }

    /// `DELAY` clamped to the highest level, as the CommitLog reads it; `None` when the
    /// property is absent, unparseable or not positive.
    pub fn level_of(&self, properties: &str) -> Option<i32> {
        self.clamp(properties::find(properties, keys::DELAY_TIME_LEVEL))
    }

    /// A `DELAY` value clamped to the highest level; `None` when absent, unparseable or not
    /// positive.
    pub fn clamp(&self, delay: Option<&str>) -> Option<i32> {
        let level: i32 = delay?.parse().ok()?;
        (level > 0).then(|| level.min(self.max_level()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_default_levels() {
        let d = DelayLevels::default();
        assert_eq!(d.max_level(), 18);
        assert_eq!(d.delay_ms(1), Some(1_000));
        assert_eq!(d.delay_ms(3), Some(10_000));
        assert_eq!(d.delay_ms(5), Some(60_000));
        assert_eq!(d.delay_ms(18), Some(7_200_000));
        assert_eq!(d.delay_ms(0), None);
        assert_eq!(d.delay_ms(19), None);
        assert_eq!(d.as_text(), DEFAULT_DELAY_LEVELS);
    }

    #[test]
    fn level_of_clamps_and_ignores_non_positive() {
        let d = DelayLevels::parse("1s 2d").unwrap();
        assert_eq!(d.delay_ms(2), Some(2 * 86_400_000));
        assert_eq!(d.level_of("TAGS\u{1}a\u{2}DELAY\u{1}7"), Some(2));
        assert_eq!(d.level_of("DELAY\u{1}1"), Some(1));
        assert_eq!(d.level_of("DELAY\u{1}0"), None);
        assert_eq!(d.level_of("DELAY\u{1}-1"), None);
        assert_eq!(d.level_of("DELAY\u{1}x"), None);
        assert_eq!(d.level_of("TAGS\u{1}a"), None);
    }

    #[test]
    fn bad_texts_are_refused() {
        for bad in ["", "1x", "s", "1s  2s", "1.5s", "99999999999999999d"] {
            assert!(DelayLevels::parse(bad).is_err(), "{bad:?}");
        }
    }
}
