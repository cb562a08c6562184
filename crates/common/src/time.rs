//! Calendar arithmetic on Unix milliseconds, in UTC (Howard Hinnant's civil-date algorithms),
//! for file names and ids that Java derives from dates.

pub const DAY_MS: i64 = 86_400_000;

/// The wall clock in Unix milliseconds, as Java's `System.currentTimeMillis()` (0 before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// (year, month 1..=12, day 1..=31) of the day `z` days after 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Days from 1970-01-01 to the given date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A UTC date and time of day, split into the fields date formats print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CivilTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    pub milli: i64,
}

impl CivilTime {
    /// The UTC date and time of Unix milliseconds `ms`.
    pub fn of_ms(ms: i64) -> CivilTime {
        let (year, month, day) = civil_from_days(ms.div_euclid(DAY_MS));
        let in_day = ms.rem_euclid(DAY_MS);
        CivilTime {
            year,
            month,
            day,
            hour: in_day / 3_600_000,
            minute: in_day / 60_000 % 60,
            second: in_day / 1000 % 60,
            milli: in_day % 1000,
        }
    }
}

/// `yyyyMMddHHmmssSSS` (`UtilAll.timeMillisToHumanString`), as index files are named. Java
/// uses the local zone; we use UTC, which keeps names sortable and unique.
pub fn compact_timestamp(ms: i64) -> String {
    let t = CivilTime::of_ms(ms);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}{:03}",
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.milli
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_formats() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        // The golden index file 20261121064907923 was created at 1795243747923 (its beginTimestamp).
        assert_eq!(compact_timestamp(1_795_243_747_923), "20261121064907923");
    }
}
