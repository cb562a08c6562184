//! Tokens of the selector language, as the JavaCC token manager of `SelectorParser.jj` cuts
//! them: the longest match wins, a keyword beats an identifier of the same length, keywords
//! and identifiers ignore case, and `--` comments must end with a line break.

use super::SqlError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    Not,
    And,
    Or,
    Between,
    In,
    True,
    False,
    Null,
    Is,
    /// `0` or `[1-9][0-9]*`, with an optional `l`/`L` (kept in the text).
    Decimal(String),
    Float(String),
    /// The decoded value: quotes removed, `''` turned into `'`.
    Str(String),
    Id(String),
    Eq,
    NotEq,
    Gt,
    Ge,
    Lt,
    Le,
    Open,
    Close,
    Comma,
    Plus,
    Minus,
}

impl Token {
    /// How the token reads in an error message.
    pub(super) fn describe(&self) -> String {
        match self {
            Token::Decimal(t) | Token::Float(t) | Token::Id(t) => format!("\"{t}\""),
            Token::Str(s) => format!("\"'{}'\"", s.replace('\'', "''")),
            other => format!("\"{}\"", other.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Token::Not => "NOT",
            Token::And => "AND",
            Token::Or => "OR",
            Token::Between => "BETWEEN",
            Token::In => "IN",
            Token::True => "TRUE",
            Token::False => "FALSE",
            Token::Null => "NULL",
            Token::Is => "IS",
            Token::Eq => "=",
            Token::NotEq => "<>",
            Token::Gt => ">",
            Token::Ge => ">=",
            Token::Lt => "<",
            Token::Le => "<=",
            Token::Open => "(",
            Token::Close => ")",
            Token::Comma => ",",
            Token::Plus => "+",
            Token::Minus => "-",
            Token::Decimal(_) | Token::Float(_) | Token::Str(_) | Token::Id(_) => "",
        }
    }
}

/// Cuts `text` into tokens, each with the character column (1-based) it starts at.
pub(super) fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, SqlError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c') {
            i += 1;
            continue;
        }
        let next = chars.get(i + 1).copied();
        if c == '-' && next == Some('-') {
            i = line_comment_end(&chars, i).ok_or_else(|| lexical(column, "<EOF>"))?;
            continue;
        }
        if c == '/' && next == Some('*') {
            i = block_comment_end(&chars, i).ok_or_else(|| lexical(column, "<EOF>"))?;
            continue;
        }
        let (token, len) =
            if c.is_ascii_digit() || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) {
                number(&chars[i..])
            } else if c == '\'' {
                string(&chars[i..]).ok_or_else(|| lexical(column, "<EOF>"))?
            } else if c.is_ascii_alphabetic() || c == '_' || c == '$' {
                word(&chars[i..])
            } else {
                let two = next.map(|n| [c, n]);
                match (c, two) {
                    (_, Some(['<', '>'])) => (Token::NotEq, 2),
                    (_, Some(['>', '='])) => (Token::Ge, 2),
                    (_, Some(['<', '='])) => (Token::Le, 2),
                    ('=', _) => (Token::Eq, 1),
                    ('>', _) => (Token::Gt, 1),
                    ('<', _) => (Token::Lt, 1),
                    ('(', _) => (Token::Open, 1),
                    (')', _) => (Token::Close, 1),
                    (',', _) => (Token::Comma, 1),
                    ('+', _) => (Token::Plus, 1),
                    ('-', _) => (Token::Minus, 1),
                    _ => return Err(lexical(column, &format!("\"{c}\""))),
                }
            };
        tokens.push((token, column));
        i += len;
    }
    Ok(tokens)
}

fn lexical(column: usize, found: &str) -> SqlError {
    SqlError::new(
        "org.apache.rocketmq.filter.parser.TokenMgrError",
        format!("Lexical error at line 1, column {column}.  Encountered: {found}"),
    )
}

/// `--` up to and including a line break; none before the end is a lexical error in Java.
fn line_comment_end(chars: &[char], start: usize) -> Option<usize> {
    let offset = chars[start..]
        .iter()
        .position(|&c| c == '\n' || c == '\r')?;
    let end = start + offset;
    Some(if chars[end] == '\r' && chars.get(end + 1) == Some(&'\n') {
        end + 2
    } else {
        end + 1
    })
}

fn block_comment_end(chars: &[char], start: usize) -> Option<usize> {
    (start + 2..chars.len().saturating_sub(1))
        .find(|&i| chars[i] == '*' && chars[i + 1] == '/')
        .map(|i| i + 2)
}

/// The longest of DECIMAL_LITERAL and FLOATING_POINT_LITERAL at the start of `chars`.
fn number(chars: &[char]) -> (Token, usize) {
    let digits = |from: usize| {
        chars[from..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let exponent = |from: usize| {
        if !matches!(chars.get(from), Some('e' | 'E')) {
            return 0;
        }
        let sign = usize::from(matches!(chars.get(from + 1), Some('+' | '-')));
        match digits(from + 1 + sign) {
            0 => 0,
            n => 1 + sign + n,
        }
    };
    let text = |len: usize| chars[..len].iter().collect::<String>();
    let int_len = digits(0);
    // Floating point: digits "." digits* exp? | "." digits exp? | digits exp
    let float_len = if chars.get(int_len) == Some(&'.') {
        let frac = int_len + 1 + digits(int_len + 1);
        Some(frac + exponent(frac))
    } else {
        match exponent(int_len) {
            0 => None,
            e if int_len > 0 => Some(int_len + e),
            _ => None,
        }
    };
    // Decimal: "0" | [1-9][0-9]* [lL]?
    let decimal_len = match chars.first() {
        Some('0') => 1 + usize::from(matches!(chars.get(1), Some('l' | 'L'))),
        Some(_) if int_len > 0 => {
            int_len + usize::from(matches!(chars.get(int_len), Some('l' | 'L')))
        }
        _ => 0,
    };
    match float_len {
        Some(len) if len >= decimal_len => (Token::Float(text(len)), len),
        _ => (Token::Decimal(text(decimal_len)), decimal_len),
    }
}

fn string(chars: &[char]) -> Option<(Token, usize)> {
    let mut value = String::new();
    let mut i = 1;
    loop {
        match chars.get(i)? {
            '\'' if chars.get(i + 1) == Some(&'\'') => {
                value.push('\'');
                i += 2;
            }
            '\'' => return Some((Token::Str(value), i + 1)),
            c => {
                value.push(*c);
                i += 1;
            }
        }
    }
}

fn word(chars: &[char]) -> (Token, usize) {
    let len = chars
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == '_' || **c == '$')
        .count();
    let text: String = chars[..len].iter().collect();
    let token = match text.to_ascii_uppercase().as_str() {
        "NOT" => Token::Not,
        "AND" => Token::And,
        "OR" => Token::Or,
        "BETWEEN" => Token::Between,
        "IN" => Token::In,
        "TRUE" => Token::True,
        "FALSE" => Token::False,
        "NULL" => Token::Null,
        "IS" => Token::Is,
        _ => Token::Id(text),
    };
    (token, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Token> {
        tokenize(text)
            .unwrap()
            .into_iter()
            .map(|(t, _)| t)
            .collect()
    }

    #[test]
    fn numbers_take_the_longest_match() {
        assert_eq!(kinds("12"), [Token::Decimal("12".into())]);
        assert_eq!(kinds("12L"), [Token::Decimal("12L".into())]);
        assert_eq!(kinds("1.5"), [Token::Float("1.5".into())]);
        assert_eq!(kinds("5."), [Token::Float("5.".into())]);
        assert_eq!(kinds(".5E-3"), [Token::Float(".5E-3".into())]);
        assert_eq!(kinds("5E10"), [Token::Float("5E10".into())]);
        assert_eq!(kinds("012.5"), [Token::Float("012.5".into())]);
        // "0" is a literal of its own: "012" is two of them.
        assert_eq!(
            kinds("012"),
            [Token::Decimal("0".into()), Token::Decimal("12".into())]
        );
        assert_eq!(
            kinds("5e"),
            [Token::Decimal("5".into()), Token::Id("e".into())]
        );
    }

    #[test]
    fn keywords_ignore_case_and_lose_to_longer_identifiers() {
        assert_eq!(
            kinds("a Between 1 and 2"),
            [
                Token::Id("a".into()),
                Token::Between,
                Token::Decimal("1".into()),
                Token::And,
                Token::Decimal("2".into())
            ]
        );
        assert_eq!(kinds("NOTE"), [Token::Id("NOTE".into())]);
        assert_eq!(kinds("$a_1"), [Token::Id("$a_1".into())]);
    }

    #[test]
    fn strings_and_comments() {
        assert_eq!(kinds("'it''s'"), [Token::Str("it's".into())]);
        assert_eq!(
            kinds("a /* x */ <> -- note\n 'b'"),
            [Token::Id("a".into()), Token::NotEq, Token::Str("b".into())]
        );
        assert!(tokenize("'open").is_err());
        assert!(tokenize("a = 1 -- no line break").is_err());
        assert!(tokenize("a # 1").is_err());
    }
}
