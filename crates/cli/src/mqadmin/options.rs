//! Command-line options as Apache commons-cli reads them for Java's `mqadmin`: `-t value`,
//! `-tvalue`, `--topic value`, `--topic=value`, flags without a value, required options and
//! "one of" groups such as `-b`/`-c`.

use std::collections::HashMap;
use std::fmt::Write as _;

/// One option of a command.
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    pub short: char,
    pub long: &'static str,
    /// Takes a value (otherwise a flag).
    pub value: bool,
    pub required: bool,
    pub help: &'static str,
}

impl Opt {
    pub const fn arg(short: char, long: &'static str, help: &'static str) -> Opt {
        Opt {
            short,
            long,
            value: true,
            required: false,
            help,
        }
    }

    pub const fn required(short: char, long: &'static str, help: &'static str) -> Opt {
        Opt {
            required: true,
            ..Opt::arg(short, long, help)
        }
    }

    pub const fn flag(short: char, long: &'static str, help: &'static str) -> Opt {
        Opt {
            value: false,
            ..Opt::arg(short, long, help)
        }
    }
}

/// Options every command takes (`MQAdminStartup` adds them).
pub const COMMON: &[Opt] = &[
    Opt::flag('h', "help", "Print help"),
    Opt::arg(
        'n',
        "namesrvAddr",
        "Name server address list, eg: 192.168.0.1:9876;192.168.0.2:9876",
    ),
];

/// The options given, by short name.
#[derive(Debug, Default)]
pub struct Parsed {
    values: HashMap<char, String>,
}

impl Parsed {
    pub fn has(&self, short: char) -> bool {
        self.values.contains_key(&short)
    }

    /// The value, trimmed as the Java commands trim it.
    pub fn get(&self, short: char) -> Option<&str> {
        self.values.get(&short).map(|v| v.trim())
    }

    /// The value of a required option (the parser checked it is there).
    pub fn req(&self, short: char) -> &str {
        self.get(short).unwrap_or_default()
    }

    /// `Boolean.parseBoolean`: true only for "true", in any case.
    pub fn bool(&self, short: char) -> Option<bool> {
        self.get(short).map(|v| v.eq_ignore_ascii_case("true"))
    }

    /// A number option; a value that is not one is a usage error naming the option.
    pub fn number<T: std::str::FromStr>(&self, short: char) -> Result<Option<T>, String> {
        match self.get(short) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| format!("option -{short} needs a number, got `{v}`")),
        }
    }
}

/// Reads `args` against `options` (plus [`COMMON`]); `one_of` lists groups of which exactly
/// one option must be given.
pub fn parse(args: &[String], options: &[Opt], one_of: &[&[char]]) -> Result<Parsed, String> {
    let all: Vec<&Opt> = COMMON.iter().chain(options).collect();
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        let (opt, inline) = if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (long, None),
            };
            let opt = all
                .iter()
                .find(|o| o.long == name)
                .ok_or_else(|| format!("Unrecognized option: {arg}"))?;
            (opt, inline)
        } else if let Some(short) = arg.strip_prefix('-') {
            let mut chars = short.chars();
            let c = chars
                .next()
                .ok_or_else(|| format!("Unrecognized option: {arg}"))?;
            let opt = all
                .iter()
                .find(|o| o.short == c)
                .ok_or_else(|| format!("Unrecognized option: {arg}"))?;
            let rest = chars.as_str();
            (opt, (!rest.is_empty()).then(|| rest.to_owned()))
        } else {
            return Err(format!("unexpected argument `{arg}`"));
        };
        let value = if opt.value {
            match inline {
                Some(v) => v,
                None => {
                    let v = args
                        .get(i)
                        .ok_or_else(|| format!("Missing argument for option: {}", opt.short))?;
                    i += 1;
                    v.clone()
                }
            }
        } else if inline.is_some() {
            return Err(format!("option -{} takes no value", opt.short));
        } else {
            String::new()
        };
        parsed.values.insert(opt.short, value);
    }
    if parsed.has('h') {
        return Ok(parsed);
    }
    let missing: Vec<String> = options
        .iter()
        .filter(|o| o.required && !parsed.has(o.short))
        .map(|o| o.short.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(format!("Missing required option: {}", missing.join(", ")));
    }
    for group in one_of {
        let given = group.iter().filter(|c| parsed.has(**c)).count();
        let names: Vec<String> = group.iter().map(|c| format!("-{c}")).collect();
        if given == 0 {
            return Err(format!(
                "Missing required option: one of {}",
                names.join(", ")
            ));
        }
        if given > 1 {
            return Err(format!("only one of {} may be given", names.join(", ")));
        }
    }
    Ok(parsed)
}

/// `usage: mqadmin <command> …` with one line per option, as commons-cli's help prints it.
pub fn help(command: &str, options: &[Opt]) -> String {
    let all: Vec<&Opt> = COMMON.iter().chain(options).collect();
    let mut out = format!("usage: mqadmin {command}");
    for o in &all {
        let arg = if o.value {
            format!(" <{}>", o.long)
        } else {
            String::new()
        };
        if o.required {
            let _ = write!(out, " -{}{arg}", o.short);
        } else {
            let _ = write!(out, " [-{}{arg}]", o.short);
        }
    }
    out.push('\n');
    let mut sorted = all.clone();
    sorted.sort_by_key(|o| o.short);
    for o in sorted {
        let arg = if o.value {
            " <arg>".to_owned()
        } else {
            String::new()
        };
        let left = format!(" -{},--{}{arg}", o.short, o.long);
        let _ = writeln!(out, "{left:<35} {}", o.help);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTS: &[Opt] = &[
        Opt::required('t', "topic", "topic name"),
        Opt::arg('b', "brokerAddr", "broker"),
        Opt::arg('c', "clusterName", "cluster"),
        Opt::flag('l', "list", "list format"),
    ];

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reads_every_spelling_of_an_option() {
        for spelled in [
            &["-t", " T1 ", "-c", "C"][..],
            &["-tT1", "--clusterName", "C"],
            &["--topic=T1", "--clusterName=C"],
        ] {
            let p = parse(&args(spelled), OPTS, &[&['b', 'c']]).unwrap();
            assert_eq!(p.req('t'), "T1");
            assert_eq!(p.get('c'), Some("C"));
            assert!(!p.has('b'));
        }
        let p = parse(
            &args(&["-t", "T", "-b", "x:1", "-l", "-n", "h:9876"]),
            OPTS,
            &[],
        )
        .unwrap();
        assert!(p.has('l'));
        assert_eq!(p.get('n'), Some("h:9876"));
    }

    #[test]
    fn refuses_what_commons_cli_refuses() {
        let e = parse(&args(&["-c", "C"]), OPTS, &[]).unwrap_err();
        assert_eq!(e, "Missing required option: t");
        let e = parse(&args(&["-t", "T", "-x"]), OPTS, &[]).unwrap_err();
        assert_eq!(e, "Unrecognized option: -x");
        let e = parse(&args(&["-t"]), OPTS, &[]).unwrap_err();
        assert_eq!(e, "Missing argument for option: t");
        let e = parse(&args(&["-t", "T"]), OPTS, &[&['b', 'c']]).unwrap_err();
        assert!(e.contains("one of -b, -c"), "{e}");
        let e = parse(
            &args(&["-t", "T", "-b", "a", "-c", "C"]),
            OPTS,
            &[&['b', 'c']],
        );
        assert!(e.is_err());
        let e = parse(&args(&["-t", "T", "stray"]), OPTS, &[]).unwrap_err();
        assert!(e.contains("stray"), "{e}");
    }

    #[test]
    fn help_needs_no_required_option() {
        let p = parse(&args(&["-h"]), OPTS, &[&['b', 'c']]).unwrap();
        assert!(p.has('h'));
        let text = help("updateTopic", OPTS);
        assert!(text.starts_with("usage: mqadmin updateTopic [-h] [-n <namesrvAddr>] -t <topic>"));
        assert!(text.contains(" -t,--topic <arg>"), "{text}");
    }

    #[test]
    fn java_booleans_and_numbers() {
        let opts = &[Opt::arg('o', "order", "o"), Opt::arg('r', "read", "r")];
        let p = parse(&args(&["-o", "TRUE", "-r", "x"]), opts, &[]).unwrap();
        assert_eq!(p.bool('o'), Some(true));
        assert!(p.number::<i32>('r').is_err());
        let p = parse(&args(&["-o", "yes", "-r", "16"]), opts, &[]).unwrap();
        assert_eq!(p.bool('o'), Some(false));
        assert_eq!(p.number::<i32>('r').unwrap(), Some(16));
    }
}
