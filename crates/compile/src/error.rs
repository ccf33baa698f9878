//! The errors of [`compile`](crate::compile): each names what went wrong and where.

use std::fmt;

/// Why a description could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompileError {
    /// The description is empty or only spaces and punctuation.
    Empty,
    /// The description is longer than [`MAX_DESCRIPTION_CHARS`](crate::MAX_DESCRIPTION_CHARS).
    TooLong {
        /// Its length in characters.
        chars: usize,
    },
    /// A word the grammar does not know.
    UnknownWord {
        /// The word as typed.
        word: String,
        /// 1-based sentence number.
        sentence: usize,
        /// 1-based word position in the sentence.
        position: usize,
        /// The closest known words, best first (may be empty).
        suggestions: Vec<String>,
    },
    /// A known word in a place where it makes no sense.
    Misplaced {
        /// The word as typed.
        word: String,
        /// 1-based sentence number.
        sentence: usize,
        /// 1-based word position in the sentence.
        position: usize,
        /// What was expected instead.
        reason: String,
    },
    /// The description names nothing to draw.
    NothingToDraw,
    /// Text to write holds a character the 5x7 font cannot draw.
    BadText {
        /// The character.
        character: char,
        /// 1-based sentence number.
        sentence: usize,
        /// 1-based word position in the sentence.
        position: usize,
    },
    /// A canvas size outside 1x1 to 4096x4096.
    BadCanvas {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
    },
    /// More objects or copies than the compiler draws.
    TooMany {
        /// How many were asked for.
        count: u64,
        /// The limit.
        limit: u64,
    },
}

impl CompileError {
    /// The 1-based sentence and word position the error points at, if it points at a word.
    pub fn location(&self) -> Option<(usize, usize)> {
        match self {
            CompileError::UnknownWord { sentence, position, .. }
            | CompileError::Misplaced { sentence, position, .. }
            | CompileError::BadText { sentence, position, .. } => Some((*sentence, *position)),
            _ => None,
        }
    }
}

fn location(sentence: usize, position: usize) -> String {
    if sentence <= 1 { format!("at {position}") } else { format!("at {position} in sentence {sentence}") }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileError::Empty => {
                write!(f, "empty description: say what to draw, e.g. \"a red circle in the center\"")
            }
            CompileError::TooLong { chars } => {
                write!(f, "description is {chars} characters; the limit is {}", crate::MAX_DESCRIPTION_CHARS)
            }
            CompileError::UnknownWord { word, sentence, position, suggestions } => {
                write!(f, "unknown word '{word}' {}", location(*sentence, *position))?;
                match suggestions.as_slice() {
                    [] => Ok(()),
                    [one] => write!(f, " (did you mean {one}?)"),
                    [rest @ .., last] => write!(f, " (did you mean {} or {last}?)", rest.join(", ")),
                }
            }
            CompileError::Misplaced { word, sentence, position, reason } => {
                write!(f, "unexpected '{word}' {}: {reason}", location(*sentence, *position))
            }
            CompileError::NothingToDraw => {
                write!(f, "nothing to draw: name a shape or thing, e.g. \"a red circle\", \"a house\", \"write HELLO\"")
            }
            CompileError::BadText { character, sentence, position } => write!(
                f,
                "text {} holds {character:?}; the 5x7 font draws printable ASCII only",
                location(*sentence, *position)
            ),
            CompileError::BadCanvas { width, height } => {
                write!(f, "canvas {width}x{height} is outside 1x1 to 4096x4096")
            }
            CompileError::TooMany { count, limit } => write!(f, "{count} objects asked for; the limit is {limit}"),
        }
    }
}

impl std::error::Error for CompileError {}
