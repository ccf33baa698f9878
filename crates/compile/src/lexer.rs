//! Splits a description into sentences of tokens: words, numbers, quoted text and commas.
//!
//! The lexer never fails on its own; it keeps the text exactly as typed (quoted text keeps its
//! case and spaces) and numbers every token by its 1-based position in its sentence, which is
//! what error messages show. It knows no vocabulary: that is the parser's job.

/// One token of a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    /// The text as typed (for quoted text: the inside of the quotes).
    pub text: String,
    /// The lower-case form used to match vocabulary.
    pub word: String,
    /// What the token is.
    pub kind: TokenKind,
    /// 1-based position in the sentence (commas are not counted).
    pub position: usize,
}

/// The kinds of token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A word or a `#hex` colour.
    Word,
    /// A whole number (`12`, `-3`).
    Number(i64),
    /// A number with a pixel unit (`12px`).
    Pixels(i64),
    /// Two numbers joined by `x` (`20x10`).
    Dims(i64, i64),
    /// A percentage (`50%`).
    Percent(i64),
    /// Text in quotes.
    Quoted,
    /// A comma (separates objects, or the two numbers of `at 10, 20`).
    Comma,
}

/// A sentence: its tokens, and its 1-based number in the description.
#[derive(Debug, Clone)]
pub(crate) struct Sentence {
    pub number: usize,
    pub tokens: Vec<Token>,
}

/// Splits `description` into sentences (at `.`, `!`, `?`, `;` and line breaks outside quotes).
pub(crate) fn lex(description: &str) -> Vec<Sentence> {
    let mut sentences = Vec::new();
    let mut tokens: Vec<Token> = Vec::new();
    let chars: Vec<char> = description.chars().collect();
    let mut i = 0;
    let finish = |tokens: &mut Vec<Token>, sentences: &mut Vec<Sentence>| {
        if !tokens.is_empty() {
            sentences.push(Sentence { number: sentences.len() + 1, tokens: std::mem::take(tokens) });
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let next_position = tokens.iter().filter(|t| t.kind != TokenKind::Comma).count() + 1;
        if let Some(close) = closing_quote(c, chars.get(i.wrapping_sub(1)).copied(), i) {
            // Quoted text runs to the matching quote (or the end of the description).
            let start = i + 1;
            let mut end = start;
            while end < chars.len() && !is_close(chars[end], close, chars.get(end + 1).copied()) {
                end += 1;
            }
            if end < chars.len() || c != '\'' {
                let text: String = chars[start..end.min(chars.len())].iter().collect();
                tokens.push(Token {
                    word: text.to_lowercase(),
                    text,
                    kind: TokenKind::Quoted,
                    position: next_position,
                });
                i = end + 1;
                continue;
            }
        }
        if matches!(c, '.' | '!' | '?' | ';' | '\n' | '\r') {
            finish(&mut tokens, &mut sentences);
            i += 1;
            continue;
        }
        if c == ',' {
            tokens.push(Token { text: ",".into(), word: ",".into(), kind: TokenKind::Comma, position: next_position });
            i += 1;
            continue;
        }
        if is_word_char(c) {
            let start = i;
            while i < chars.len() && is_word_char(chars[i]) {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let text = text.trim_end_matches("'s").trim_matches('\'').to_string();
            if !text.is_empty() {
                let word = text.to_lowercase();
                tokens.push(Token { kind: classify(&word), word, text, position: next_position });
            }
            continue;
        }
        // Anything else (spaces, brackets, hyphens, colons, '=', '%') separates words.
        i += 1;
    }
    finish(&mut tokens, &mut sentences);
    sentences
}

fn is_word_char(c: char) -> bool {
    // Every other non-space character is kept inside a word, so that an odd character is
    // reported as part of an unknown word rather than silently dropped.
    !c.is_whitespace()
        && !matches!(
            c,
            '.' | '!' | '?' | ';' | ',' | '(' | ')' | '[' | ']' | '-' | ':' | '=' | '"' | '\u{201c}' | '\u{201d}' | '/'
        )
}

/// The quote that closes `c` when `c` opens quoted text here.
fn closing_quote(c: char, previous: Option<char>, index: usize) -> Option<char> {
    match c {
        '"' => Some('"'),
        '\u{201c}' => Some('\u{201d}'),
        '\u{2018}' => Some('\u{2019}'),
        // A single quote opens text only at the start of a word (not in "don't" or "canvas's").
        '\'' if index == 0 || previous.is_none_or(|p| p.is_whitespace() || p == '(') => Some('\''),
        _ => None,
    }
}

fn is_close(c: char, close: char, next: Option<char>) -> bool {
    if close == '\'' {
        c == '\'' && next.is_none_or(|n| !n.is_alphanumeric())
    } else {
        c == close || (close == '"' && c == '\u{201d}')
    }
}

fn classify(word: &str) -> TokenKind {
    if let Some(number) = parse_number(word) {
        return TokenKind::Number(number);
    }
    if let Some(number) = word.strip_suffix('%').and_then(parse_number) {
        return TokenKind::Percent(number);
    }
    for unit in ["px", "pixels", "pixel", "pix"] {
        if let Some(number) = word.strip_suffix(unit).and_then(parse_number) {
            return TokenKind::Pixels(number);
        }
    }
    if let Some((w, h)) = word.split_once(['x', '\u{d7}'])
        && let (Some(w), Some(h)) = (parse_number(w), parse_number(h.trim_end_matches("px")))
    {
        return TokenKind::Dims(w, h);
    }
    TokenKind::Word
}

fn parse_number(word: &str) -> Option<i64> {
    let digits = word.strip_prefix('+').unwrap_or(word);
    if digits.is_empty() || digits.len() > 9 || !digits.trim_start_matches('-').bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(description: &str) -> String {
        lex(description)
            .iter()
            .map(|s| {
                let words: Vec<String> =
                    s.tokens.iter().map(|t| format!("{}:{}:{:?}", t.position, t.text, t.kind)).collect();
                words.join(" ")
            })
            .collect::<Vec<_>>()
            .join(" | ")
    }

    #[test]
    fn splits_sentences_words_quotes_and_numbers() {
        assert_eq!(
            show("Draw a 20x10 box. Write \"Hi. You\" at 3, 4"),
            "1:Draw:Word 2:a:Word 3:20x10:Dims(20, 10) 4:box:Word | 1:Write:Word 2:Hi. You:Quoted 3:at:Word 4:3:Number(3) 5:,:Comma 5:4:Number(4)"
        );
        assert_eq!(show("top-left 12px canvas's"), "1:top:Word 2:left:Word 3:12px:Pixels(12) 4:canvas:Word");
        assert_eq!(show("write 'HELLO' don't"), "1:write:Word 2:HELLO:Quoted 3:don't:Word");
        assert_eq!(show("\"unclosed"), "1:unclosed:Quoted");
    }
}
