use super::{JsonError, Value};

/// Deeper nesting than this is refused rather than risking the stack.
pub const MAX_DEPTH: usize = 128;

/// Parses one JSON value (fastjson dialect) that must span all of `text` but for whitespace.
pub fn parse(text: &[u8]) -> Result<Value, JsonError> {
    let mut p = Parser { s: text, pos: 0 };
    p.skip_ws();
    let value = p.value(0)?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(p.error("trailing characters"));
    }
    Ok(value)
}

/// The JSON scanner, also used directly by the header decoder to skip the value tree.
pub(crate) struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(s: &'a [u8]) -> Self {
        Parser { s, pos: 0 }
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos == self.s.len()
    }

    pub(crate) fn advance(&mut self) {
        self.pos += 1;
    }

    /// A quoted string borrowed from the input when it has no escapes, else decoded.
    pub(crate) fn string_cow(&mut self) -> Result<std::borrow::Cow<'a, str>, JsonError> {
        let quote = match self.peek() {
            Some(q @ (b'"' | b'\'')) => q,
            _ => return Err(self.error("expected a string")),
        };
        let start = self.pos + 1;
        let mut end = start;
        while let Some(&c) = self.s.get(end) {
            if c == quote {
                let text = std::str::from_utf8(&self.s[start..end])
                    .map_err(|_| self.error("string is not UTF-8"))?;
                self.pos = end + 1;
                return Ok(std::borrow::Cow::Borrowed(text));
            }
            if c == b'\\' {
                break;
            }
            end += 1;
        }
        self.string(quote).map(std::borrow::Cow::Owned)
    }

    pub(crate) fn error(&self, reason: &'static str) -> JsonError {
        JsonError::Syntax {
            offset: self.pos,
            reason,
        }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    pub(crate) fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    pub(crate) fn expect(&mut self, c: u8, reason: &'static str) -> Result<(), JsonError> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(reason))
        }
    }

    pub(crate) fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        if depth >= MAX_DEPTH {
            return Err(JsonError::TooDeep(MAX_DEPTH));
        }
        match self.peek() {
            None => Err(self.error("unexpected end of input")),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(q @ (b'"' | b'\'')) => Ok(Value::Str(self.string(q)?)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => match self.identifier() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                "null" => Ok(Value::Null),
                _ => Err(self.error("unexpected character")),
            },
        }
    }

    pub(crate) fn identifier(&mut self) -> &str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' {
                self.pos += 1;
            } else {
                break;
            }
        }
        // Only ASCII bytes were consumed.
        std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("")
    }

    fn object(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.pos += 1;
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_ws();
            let key = match self.peek() {
                Some(b'{' | b'[' | b'"' | b'\'' | b'-' | b'0'..=b'9') => self.value(depth + 1)?,
                Some(c) if c.is_ascii_alphabetic() || c == b'_' || c == b'$' => {
                    // fastjson's AllowUnQuotedFieldNames.
                    match self.identifier() {
                        "null" => Value::Null,
                        "true" => Value::Bool(true),
                        "false" => Value::Bool(false),
                        id => Value::Str(id.to_owned()),
                    }
                }
                _ => return Err(self.error("expected an object key")),
            };
            self.skip_ws();
            self.expect(b':', "expected ':' after an object key")?;
            self.skip_ws();
            let value = self.value(depth + 1)?;
            members.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(members));
                }
                _ => return Err(self.error("expected ',' or '}' in an object")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error("expected ',' or ']' in an array")),
            }
        }
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.pos;
        let mut is_float = false;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        while let Some(c) = self.peek() {
            match c {
                b'0'..=b'9' => {}
                b'.' | b'e' | b'E' | b'+' | b'-' => is_float = true,
                _ => break,
            }
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).expect("ASCII only");
        if !is_float {
            if let Ok(n) = text.parse::<i64>() {
                return Ok(Value::Int(n));
            }
        }
        // Too large for i64, or a real number.
        text.parse::<f64>()
            .map(Value::Float)
            .map_err(|_| self.error("malformed number"))
    }

    pub(crate) fn string(&mut self, quote: u8) -> Result<String, JsonError> {
        let mut out = String::new();
        self.string_into(quote, &mut out)?;
        Ok(out)
    }

    /// Decodes the string starting at the `quote` under the cursor onto the end of `out`.
    pub(crate) fn string_into(&mut self, quote: u8, out: &mut String) -> Result<(), JsonError> {
        self.pos += 1;
        loop {
            let start = self.pos;
            while let Some(c) = self.peek() {
                if c == quote || c == b'\\' {
                    break;
                }
                self.pos += 1;
            }
            // Escapes start with an ASCII byte, so each run between them is whole UTF-8.
            let run = std::str::from_utf8(&self.s[start..self.pos])
                .map_err(|_| self.error("string is not UTF-8"))?;
            out.push_str(run);
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some(c) if c == quote => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(_) => {
                    self.pos += 1;
                    let esc = self
                        .peek()
                        .ok_or_else(|| self.error("unterminated escape"))?;
                    self.pos += 1;
                    let c = match esc {
                        b'"' => '"',
                        b'\'' => '\'',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return Err(self.error("unknown escape")),
                    };
                    out.push(c);
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self
            .s
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.error("short \\u escape"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.error("bad \\u escape"))?;
        let n = u32::from_str_radix(text, 16).map_err(|_| self.error("bad \\u escape"))?;
        self.pos += 4;
        Ok(n)
    }

    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) && self.s.get(self.pos..self.pos + 2) == Some(b"\\u") {
            let save = self.pos;
            self.pos += 2;
            let lo = self.hex4()?;
            if (0xDC00..0xE000).contains(&lo) {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return char::from_u32(c).ok_or_else(|| self.error("bad surrogate pair"));
            }
            self.pos = save;
        }
        // A lone surrogate cannot be held in a Rust string; Java would keep it.
        Ok(char::from_u32(hi).unwrap_or('\u{FFFD}'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fastjson_dialect() {
        let v = parse(br#"{"brokerAddrs":{0:"127.0.0.1:10911",1:"b"},"n":-5,"f":0.0}"#).unwrap();
        let addrs = v.get("brokerAddrs").unwrap();
        assert_eq!(
            addrs,
            &Value::Object(vec![
                (Value::Int(0), Value::Str("127.0.0.1:10911".into())),
                (Value::Int(1), Value::Str("b".into())),
            ])
        );
        assert_eq!(v.get("n"), Some(&Value::Int(-5)));
        assert_eq!(v.get("f"), Some(&Value::Float(0.0)));
    }

    #[test]
    fn parses_object_keys() {
        let v = parse(
            br#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"t"}:{"maxOffset":3}}}"#,
        )
        .unwrap();
        let Value::Object(table) = v.get("offsetTable").unwrap() else {
            panic!("not an object")
        };
        assert_eq!(table[0].0.get("queueId"), Some(&Value::Int(0)));
        assert_eq!(table[0].1.get("maxOffset"), Some(&Value::Int(3)));
    }

    #[test]
    fn parses_escapes_and_lenient_forms() {
        let v =
            parse(br#"{a:'x\'y', "s":"\u0001\n\ud83d\ude00\u00e9", "big":9223372036854775808}"#)
                .unwrap();
        assert_eq!(v.get("a").unwrap().as_str(), Some("x'y"));
        assert_eq!(v.get("s").unwrap().as_str(), Some("\u{1}\n😀é"));
        assert_eq!(v.get("big"), Some(&Value::Float(9.223_372_036_854_776e18)));
    }

    #[test]
    fn rejects_malformed_input() {
        for bad in [
            &b""[..],
            b"{",
            b"[1,",
            b"{\"a\"}",
            b"{\"a\":1,}",
            b"\"abc",
            b"tru",
            b"1 2",
            b"{:1}",
            b"\"\\x\"",
            b"\"\\u12\"",
            b"-",
            b"[1 2]",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert_eq!(parse(deep.as_bytes()), Err(JsonError::TooDeep(MAX_DEPTH)));
    }
}
