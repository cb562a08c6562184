//! What `mqbench` measures with: options in `--key value` form and latency percentiles.

use std::collections::HashMap;
use std::time::Duration;

/// `--key value` pairs (and bare `--flag`s) after the sub-command.
#[derive(Debug, Default)]
pub struct BenchArgs {
    values: HashMap<String, String>,
}

impl BenchArgs {
    /// Parses `--key value` / `--key=value`; every key must be in `known`.
    pub fn parse(args: &[String], known: &[&str]) -> Result<BenchArgs, String> {
        let mut values = HashMap::new();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            let Some(name) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument `{arg}`"));
            };
            let (key, value) = match name.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => {
                    i += 1;
                    let v = args.get(i).ok_or(format!("--{name} needs a value"))?;
                    (name.to_owned(), v.clone())
                }
            };
            if !known.contains(&key.as_str()) {
                return Err(format!("unknown option --{key}"));
            }
            values.insert(key, value);
            i += 1;
        }
        Ok(BenchArgs { values })
    }

    pub fn text(&self, key: &str, default: &str) -> String {
        self.values
            .get(key)
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    }

    pub fn opt(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    pub fn number<T: std::str::FromStr>(&self, key: &str, default: T) -> Result<T, String> {
        match self.values.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("--{key} needs a number, got `{v}`")),
        }
    }
}

/// Latency samples in microseconds, summarised as percentiles.
#[derive(Debug, Default, Clone)]
pub struct Latencies {
    samples: Vec<u32>,
}

/// The summary printed and written to the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Percentiles {
    pub count: usize,
    pub p50_us: u32,
    pub p90_us: u32,
    pub p99_us: u32,
    pub p999_us: u32,
    pub max_us: u32,
}

impl Latencies {
    pub fn record(&mut self, d: Duration) {
        self.samples
            .push(d.as_micros().min(u32::MAX as u128) as u32);
    }

    pub fn record_us(&mut self, us: u32) {
        self.samples.push(us);
    }

    pub fn merge(&mut self, other: Latencies) {
        self.samples.extend(other.samples);
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Nearest-rank percentiles.
    pub fn percentiles(&mut self) -> Percentiles {
        if self.samples.is_empty() {
            return Percentiles::default();
        }
        self.samples.sort_unstable();
        let n = self.samples.len();
        let at = |p: f64| self.samples[((p * n as f64).ceil() as usize).clamp(1, n) - 1];
        Percentiles {
            count: n,
            p50_us: at(0.50),
            p90_us: at(0.90),
            p99_us: at(0.99),
            p999_us: at(0.999),
            max_us: self.samples[n - 1],
        }
    }
}

impl Percentiles {
    pub fn to_json(&self) -> String {
        format!(
            "{{\"count\":{},\"p50_us\":{},\"p90_us\":{},\"p99_us\":{},\"p999_us\":{},\"max_us\":{}}}",
            self.count, self.p50_us, self.p90_us, self.p99_us, self.p999_us, self.max_us
        )
    }

    pub fn line(&self) -> String {
        let ms = |us: u32| us as f64 / 1000.0;
        format!(
            "p50 {:.2} ms | p90 {:.2} ms | p99 {:.2} ms | p99.9 {:.2} ms | max {:.2} ms",
            ms(self.p50_us),
            ms(self.p90_us),
            ms(self.p99_us),
            ms(self.p999_us),
            ms(self.max_us)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut l = Latencies::default();
        for us in 1..=1000 {
            l.record_us(us);
        }
        let p = l.percentiles();
        assert_eq!(
            (p.p50_us, p.p90_us, p.p99_us, p.p999_us, p.max_us),
            (500, 900, 990, 999, 1000)
        );
        assert_eq!(Latencies::default().percentiles(), Percentiles::default());
    }

    #[test]
    fn args_parse_and_reject() {
        let args: Vec<String> = ["--size", "1024", "--mode=async"]
            .map(String::from)
            .to_vec();
        let a = BenchArgs::parse(&args, &["size", "mode"]).unwrap();
        assert_eq!(a.number("size", 0usize).unwrap(), 1024);
        assert_eq!(a.text("mode", "sync"), "async");
        assert!(BenchArgs::parse(&args, &["size"]).is_err());
        assert!(BenchArgs::parse(&["--size".to_string()], &["size"]).is_err());
        assert!(a.number::<u32>("mode", 0).is_err());
    }
}
