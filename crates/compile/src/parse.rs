//! The parser of the controlled English: sentences of tokens → a [`Scene`].
//!
//! It reads left to right with a few words of look-ahead, attaching colours, sizes, counts,
//! positions and relations to the object being described. It never stops at the first problem:
//! every unknown or misplaced word becomes a [`CompileError`] and parsing goes on, so that the
//! LLM fallback can be given the grammar's partial result. It does not lay anything out.

use gvpie_raster::Rgba;

use crate::colors;
use crate::error::CompileError;
use crate::lexer::{Sentence, Token, TokenKind, lex};
use crate::scene::{Align, Arrangement, Kind, LineSpec, Object, Placement, Point, Region, Relation, Scene, Size};
use crate::vocab;

/// Copies of one object, at most (a 20 by 20 grid).
pub const MAX_COPIES: u32 = 400;
/// Objects in one description, at most.
pub const MAX_OBJECTS: usize = 100;

/// Parses every sentence of `description`; returns the scene and every error found.
pub(crate) fn parse(description: &str) -> (Scene, Vec<CompileError>) {
    let mut drafts: Vec<Draft> = Vec::new();
    let mut errors = Vec::new();
    for sentence in lex(description) {
        let mut parser = SentenceParser {
            sentence: &sentence,
            i: 0,
            drafts: &mut drafts,
            errors: &mut errors,
            current: None,
            pending: None,
            with_owner: None,
            around: false,
        };
        parser.run();
    }
    // `red, green and blue circles`: colours listed before one plural noun are one object each.
    for index in 0..drafts.len() {
        let listed = drafts[index].kind.is_none()
            && drafts[index].object.text.is_none()
            && drafts[index].object.color.is_some()
            && (index == 0 || drafts[index - 1].sentence != drafts[index].sentence || drafts[index - 1].kind.is_none());
        if !listed {
            continue;
        }
        let next = (index + 1..drafts.len())
            .take_while(|&j| drafts[j].sentence == drafts[index].sentence)
            .find(|&j| drafts[j].kind.is_some());
        if let Some(next) = next {
            drafts[index].kind = drafts[next].kind;
            drafts[index].object.count =
                drafts[next].object.count.min(if drafts[next].plural_count { 1 } else { u32::MAX });
            if drafts[next].plural_count {
                drafts[next].object.count = 1;
                drafts[next].plural_count = false;
            }
        }
    }
    let mut scene = Scene::default();
    for (index, draft) in drafts.iter().enumerate() {
        let kind = match draft.kind {
            Some(kind) => kind,
            None if draft.object.text.is_some() => Kind::Text,
            None if draft.object.line.is_some() => Kind::Line,
            // "a red circle and a blue one": a kindless object repeats the previous kind.
            None if index > 0 => scene.objects[index - 1].kind,
            None => {
                let (word, position) = draft.first_word.clone();
                errors.push(CompileError::Misplaced {
                    word,
                    sentence: draft.sentence,
                    position,
                    reason: "it describes no object; add a noun such as circle, square or house".into(),
                });
                Kind::Circle
            }
        };
        let mut object = draft.object.clone();
        object.kind = kind;
        if kind == Kind::Text && object.text.is_none() {
            let (word, position) = draft.first_word.clone();
            errors.push(CompileError::Misplaced {
                word,
                sentence: draft.sentence,
                position,
                reason: "say which text to write, e.g. write \"HELLO\"".into(),
            });
            object.text = Some(String::new());
        }
        scene.objects.push(object);
    }
    for object in &mut scene.objects {
        // Counted horizontal lines stack up; they cannot stand side by side.
        if object.kind == Kind::Line
            && object.count > 1
            && object.arrangement == Arrangement::Row
            && !matches!(object.line, Some(LineSpec::Vertical))
        {
            object.arrangement = Arrangement::Column;
            object.line = object.line.or(Some(LineSpec::Horizontal));
        }
    }
    // Relations to the whole canvas (on a blue background, in the sky) are no relations.
    let kinds: Vec<Kind> = scene.objects.iter().map(|o| o.kind).collect();
    for object in &mut scene.objects {
        if let Some((_, target)) = object.relation
            && matches!(kinds.get(target), Some(Kind::Background | Kind::Border) | None)
        {
            object.relation = None;
        }
    }
    break_relation_cycles(&mut scene);
    let total: u64 = scene.objects.iter().map(|o| u64::from(o.count)).sum();
    if total > u64::from(MAX_COPIES) || scene.objects.len() > MAX_OBJECTS {
        errors
            .push(CompileError::TooMany { count: total.max(scene.objects.len() as u64), limit: u64::from(MAX_COPIES) });
    }
    (scene, errors)
}

/// A relation chain that comes back to its start has no root to lay out from; the last link goes.
fn break_relation_cycles(scene: &mut Scene) {
    for start in 0..scene.objects.len() {
        let mut seen = vec![false; scene.objects.len()];
        let mut at = start;
        seen[at] = true;
        while let Some((_, target)) = scene.objects[at].relation {
            if target >= scene.objects.len() || seen[target] || target == at {
                scene.objects[at].relation = None;
                break;
            }
            seen[target] = true;
            at = target;
        }
    }
}

/// An object while its words are being read.
#[derive(Debug, Clone)]
struct Draft {
    kind: Option<Kind>,
    object: Object,
    sentence: usize,
    first_word: (String, usize),
    /// The count came from a plural alone (`stars` = three), not from a number.
    plural_count: bool,
}

struct SentenceParser<'a> {
    sentence: &'a Sentence,
    i: usize,
    drafts: &'a mut Vec<Draft>,
    errors: &'a mut Vec<CompileError>,
    /// The object the next attribute applies to.
    current: Option<usize>,
    /// An object waiting for the target of its relation (`above ...`), with the relation word.
    pending: Option<(usize, Relation, usize)>,
    /// The object before a `with`, which text after it labels.
    with_owner: Option<usize>,
    /// The pending relation was `around`: its target goes inside the subject.
    around: bool,
}

fn color_word(word: &str) -> Option<Rgba> {
    colors::named(word).or_else(|| colors::hex(word))
}

impl SentenceParser<'_> {
    fn tokens(&self) -> &[Token] {
        &self.sentence.tokens
    }

    fn word(&self, offset: usize) -> &str {
        self.tokens()
            .get(self.i + offset)
            .map_or("", |t| if t.kind == TokenKind::Quoted { "\"" } else { t.word.as_str() })
    }

    fn token(&self, offset: usize) -> Option<&Token> {
        self.tokens().get(self.i + offset)
    }

    fn number(&self, offset: usize) -> Option<i64> {
        match self.token(offset)?.kind {
            TokenKind::Number(n) => Some(n),
            _ => None,
        }
    }

    fn count_at(&self, offset: usize) -> Option<i64> {
        self.number(offset).or_else(|| vocab::number_word(self.word(offset)))
    }

    fn run(&mut self) {
        while self.i < self.tokens().len() {
            if !self.step() {
                let token = self.tokens()[self.i].clone();
                if vocab::is_known(&token.word) {
                    self.misplaced(&token, "this word does not fit here (see docs/compile.md for the grammar)");
                    self.i += 1;
                    continue;
                }
                self.errors.push(CompileError::UnknownWord {
                    suggestions: vocab::suggestions(&token.word),
                    word: token.text,
                    sentence: self.sentence.number,
                    position: token.position,
                });
                self.i += 1;
            }
        }
        self.close_bare_relation();
    }

    fn misplaced(&mut self, token: &Token, reason: &str) {
        self.errors.push(CompileError::Misplaced {
            word: token.text.clone(),
            sentence: self.sentence.number,
            position: token.position,
            reason: reason.into(),
        });
    }

    /// Starts a new object (of `kind` if known), resolving a pending relation to it.
    fn start_object(&mut self, kind: Option<Kind>) -> usize {
        let first = self.token(0).map_or((String::new(), 0), |t| (t.text.clone(), t.position));
        let index = self.drafts.len();
        self.drafts.push(Draft {
            kind,
            object: Object::new(kind.unwrap_or(Kind::Circle)),
            sentence: self.sentence.number,
            first_word: first,
            plural_count: false,
        });
        if let Some((subject, relation, _)) = self.pending.take() {
            self.relate(subject, relation, index);
        }
        if kind == Some(Kind::Text)
            && let Some(owner) = self.with_owner.take()
        {
            self.drafts[index].object.relation = Some((Relation::Inside, owner));
        }
        self.current = Some(index);
        index
    }

    fn relate(&mut self, subject: usize, relation: Relation, target: usize) {
        if std::mem::take(&mut self.around) {
            // `a ring around a dot`: the dot is inside the ring.
            if self.drafts[subject].kind != Some(Kind::Border) {
                self.drafts[target].object.relation = Some((Relation::Inside, subject));
            }
        } else {
            self.drafts[subject].object.relation = Some((relation, target));
        }
    }

    /// A relation word with nothing after it (`a circle with a square above`) relates to the
    /// object before its subject.
    fn close_bare_relation(&mut self) -> bool {
        let Some((subject, relation, token_index)) = self.pending.take() else { return true };
        match subject.checked_sub(1) {
            Some(target) => {
                self.relate(subject, relation, target);
                true
            }
            None => {
                self.around = false;
                let token = self.tokens()[token_index].clone();
                self.misplaced(&token, "a relation needs an object after it, e.g. above a square");
                false
            }
        }
    }

    /// The object an attribute applies to: the current one unless it already has this attribute
    /// and its noun (then a new one starts: `a red circle blue square`).
    fn attribute_target(&mut self, already_set: impl Fn(&Draft) -> bool) -> usize {
        match self.current {
            Some(index) if !already_set(&self.drafts[index]) => index,
            _ => self.start_object(None),
        }
    }

    fn note(&mut self, index: usize, n_tokens: usize) {
        let words: Vec<String> = self.tokens()[self.i..(self.i + n_tokens).min(self.tokens().len())]
            .iter()
            .filter(|t| t.kind != TokenKind::Comma)
            .map(|t| if t.kind == TokenKind::Quoted { format!("\"{}\"", t.text) } else { t.text.clone() })
            .collect();
        let object = &mut self.drafts[index].object;
        for word in words {
            if !object.words.is_empty() {
                object.words.push(' ');
            }
            object.words.push_str(&word);
        }
    }

    fn end_object(&mut self) {
        self.current = None;
    }

    /// Reads one phrase at `self.i`; false when the word fits nowhere.
    fn step(&mut self) -> bool {
        let Some(token) = self.token(0).cloned() else { return false };
        match token.kind {
            TokenKind::Comma => {
                self.close_bare_relation();
                self.end_object();
                self.i += 1;
                return true;
            }
            TokenKind::Quoted => {
                self.set_text(token.text.clone(), &token);
                self.i += 1;
                return true;
            }
            TokenKind::Number(_) | TokenKind::Pixels(_) | TokenKind::Dims(_, _) => return self.numbers(),
            TokenKind::Percent(percent) => {
                // `50% transparent`, `75% opaque`.
                let opacity = match self.word(1) {
                    "transparent" | "translucent" => 100 - percent.clamp(0, 100),
                    "opaque" | "visible" => percent.clamp(0, 100),
                    _ => {
                        self.misplaced(&token, "a percentage says how transparent, e.g. 50% transparent");
                        self.i += 1;
                        return true;
                    }
                };
                let index = self.attribute_target(|d| d.object.alpha != 255);
                self.note(index, 2);
                self.drafts[index].object.alpha = ((opacity * 255 + 50) / 100).clamp(0, 255) as u8;
                self.i += 2;
                return true;
            }
            TokenKind::Word => {}
        }
        let word = token.word.as_str();
        if self.arrangement() || self.cover() || self.relation() || self.position() || self.line_phrase() {
            return true;
        }
        if self.text_phrase() || self.color() || self.size() {
            return true;
        }
        if word == "very" || word == "extra" || word == "really" || word == "quite" || word == "super" {
            let level = vocab::size_word(self.word(1));
            if let Some(level) = level {
                let index = self.attribute_target(|d| d.object.size.is_some());
                self.note(index, 2);
                self.drafts[index].object.size = Some(size_level(if level <= 1 { 0 } else { 4 }));
                self.i += 2;
                return true;
            }
        }
        if vocab::OUTLINE_WORDS.contains(&word) && word != "ring" && word != "rings" {
            let index = self.attribute_target(|d| d.object.outline);
            self.note(index, 1);
            self.drafts[index].object.outline = true;
            self.i += 1;
            return true;
        }
        if matches!(word, "thick" | "bold" | "fat" | "heavy") {
            let index = self.attribute_target(|d| d.object.thick);
            self.note(index, 1);
            self.drafts[index].object.thick = true;
            self.i += 1;
            return true;
        }
        if matches!(word, "thin" | "fine" | "slim") {
            self.i += 1;
            return true;
        }
        if let Some(n) = self.transparency() {
            let index = self.attribute_target(|d| d.object.alpha != 255);
            self.note(index, n);
            self.drafts[index].object.alpha = 128;
            self.i += n;
            return true;
        }
        if let Some(count) = vocab::number_word(word) {
            return self.count(count, 1);
        }
        if crate::scene::PART_WORDS.contains(&word) && self.part(&token) {
            return true;
        }
        let next = self.word(1).to_string();
        if let Some((kind, plural, n_tokens)) =
            two_word_noun(word, &next).or_else(|| vocab::noun(word).map(|(k, p)| (k, p, 1)))
        {
            self.noun(kind, plural, word, n_tokens);
            return true;
        }
        if matches!(
            word,
            "and" | "plus" | "then" | "also" | "with" | "having" | "has" | "have" | "featuring" | "containing"
        ) {
            // `with red`, `with a radius of 5`: an attribute of the current object, not a new one.
            let next = if matches!(self.word(1), "a" | "an" | "the") { self.word(2) } else { self.word(1) };
            // After `and`, a colour starts the next object (`red and blue circles`).
            let joins = matches!(word, "and" | "plus" | "then" | "also");
            let skip = usize::from(matches!(self.word(1), "a" | "an" | "the"));
            // `with a pink background` names an object; `with red` colours this one.
            let names_object = (1..=3).any(|k| vocab::noun(self.word(1 + skip + k)).is_some());
            let attribute =
                (!joins && !names_object && (color_word(next).is_some() || colors::LIGHTNESS_WORDS.contains(&next)))
                    || matches!(next, "radius" | "diameter" | "size" | "width" | "height" | "outline" | "thick");
            if !attribute {
                self.close_bare_relation();
                if matches!(word, "with" | "having" | "has" | "have" | "featuring" | "containing") {
                    self.with_owner = self
                        .current
                        .filter(|&c| self.drafts[c].kind != Some(Kind::Text) && self.drafts[c].kind.is_some());
                }
                self.end_object();
            }
            self.i += 1;
            return true;
        }
        if matches!(word, "a" | "an" | "the" | "another" | "some") {
            if self.current.is_some_and(|c| self.drafts[c].kind.is_some()) {
                self.end_object();
            }
            self.i += 1;
            return true;
        }
        if matches!(word, "it" | "them" | "that") && word != "that" {
            match self.pending.take() {
                Some((subject, relation, _)) => {
                    let target = (0..self.drafts.len()).rev().find(|&t| t != subject);
                    match target {
                        Some(target) => self.relate(subject, relation, target),
                        None => self.misplaced(&token, "'it' refers to nothing described before"),
                    }
                    self.end_object();
                }
                None => {
                    if let Some(last) = self.drafts.len().checked_sub(1) {
                        self.current = Some(last);
                    }
                }
            }
            self.i += 1;
            return true;
        }
        // `paint the canvas white`, `a white canvas`: the canvas is the background.
        if matches!(word, "canvas" | "screen" | "page" | "everything" | "whole") {
            let colored_before =
                self.current.is_some_and(|c| self.drafts[c].kind.is_none() && self.drafts[c].object.color.is_some());
            let colored_after = self.color_at(1).is_some() || (self.word(1) == "in" && self.color_at(2).is_some());
            if colored_before || colored_after {
                self.noun(Kind::Background, false, word, 1);
                return true;
            }
        }
        if vocab::FILLERS.contains(&word) {
            self.i += 1;
            return true;
        }
        false
    }

    /// `a house with a red roof`: the colour just read goes to a part of the object before it.
    fn part(&mut self, token: &Token) -> bool {
        let Some(index) = self.current else { return false };
        let draft = &self.drafts[index];
        let (Some(color), None, true) = (draft.object.color, draft.kind, index + 1 == self.drafts.len()) else {
            return false;
        };
        let Some(owner) = index.checked_sub(1).filter(|&o| self.drafts[o].sentence == self.sentence.number) else {
            return false;
        };
        if self.drafts[index].object.relation.is_some()
            || self.drafts.iter().any(|d| d.object.relation.is_some_and(|(_, t)| t == index))
        {
            return false;
        }
        self.drafts.pop();
        let object = &mut self.drafts[owner].object;
        object.parts.push((token.word.clone(), color));
        object.words.push_str(&format!(" with {} {}", crate::colors::describe(color), token.text));
        self.current = Some(owner);
        self.i += 1;
        true
    }

    fn noun(&mut self, kind: Kind, plural: bool, word: &str, n_tokens: usize) {
        // `write HELLO in big letters`: the letters are the text already described.
        if kind == Kind::Text
            && matches!(word, "letters" | "writing" | "words")
            && let Some(last) = self.drafts.len().checked_sub(1)
            && self.drafts[last].kind == Some(Kind::Text)
            && self.drafts[last].object.text.is_some()
        {
            self.current = Some(last);
            self.i += n_tokens;
            return;
        }
        // The sky is sky blue unless said otherwise; a night sky is dark.
        if word == "sky" {
            let night = self.i > 0 && matches!(self.tokens()[self.i - 1].word.as_str(), "night" | "starry" | "dark");
            let index = match self.current {
                Some(index) if self.drafts[index].kind.is_none() => index,
                _ => self.start_object(None),
            };
            if self.drafts[index].object.color.is_none() {
                self.drafts[index].object.color =
                    Some(if night { Rgba::new(25, 25, 112, 255) } else { Rgba::new(135, 206, 235, 255) });
            }
        }
        let index = match self.current {
            Some(index) if self.drafts[index].kind.is_none() => {
                self.drafts[index].kind = Some(kind);
                if let Some(owner) = self.with_owner.take().filter(|_| kind == Kind::Text)
                    && self.drafts[index].object.relation.is_none()
                {
                    self.drafts[index].object.relation = Some((Relation::Inside, owner));
                }
                index
            }
            _ => self.start_object(Some(kind)),
        };
        self.note(index, n_tokens);
        let object = &mut self.drafts[index].object;
        object.kind = kind;
        if matches!(word, "ring" | "rings") {
            object.outline = true;
        }
        if plural && object.count == 1 && !self.drafts[index].object.words.starts_with("one") {
            // "stars" with no number means a few of them.
            let object = &mut self.drafts[index].object;
            if object.arrangement == Arrangement::Row {
                object.count = 3;
                self.drafts[index].plural_count = true;
            }
        }
        self.i += n_tokens;
        if kind == Kind::Text {
            self.text_after(index);
        }
    }

    /// `the text HELLO`, `a title saying "Hi"`: the text that follows a text noun, if any.
    fn text_after(&mut self, index: usize) {
        if self.drafts[index].object.text.is_some() {
            return;
        }
        if matches!(self.word(0), "saying" | "says" | "reading" | "reads" | "that" | "which") {
            return; // text_phrase reads it next.
        }
        if let Some(token) = self.token(0).filter(|t| t.kind == TokenKind::Quoted).cloned() {
            self.set_text(token.text.clone(), &token);
            self.i += 1;
            return;
        }
        let words = self.unquoted_text();
        if !words.is_empty() {
            let token = self.tokens()[self.i].clone();
            self.i += words.len();
            let text = words.join(" ");
            self.set_text(text, &token);
        }
    }

    /// The words of unquoted text: up to the first colour, position, size, relation or joining word.
    fn unquoted_text(&self) -> Vec<String> {
        let mut words = Vec::new();
        let mut offset = 0;
        while let Some(token) = self.token(offset) {
            // Words typed in capitals are text (`write GAME OVER`), whatever they would mean.
            let capitals = token.text.len() > 1 && token.text.chars().all(|c| !c.is_ascii_lowercase());
            let stops = !capitals && token.kind == TokenKind::Word && self.stops_text(offset, &words)
                || token.kind == TokenKind::Comma
                || token.kind == TokenKind::Quoted;
            if stops {
                break;
            }
            words.push(token.text.clone());
            offset += 1;
        }
        words
    }

    fn stops_text(&self, offset: usize, words: &[String]) -> bool {
        let word = self.word(offset);
        let next = self.word(offset + 1);
        let after_the = if next == "the" { self.word(offset + 2) } else { next };
        color_word(word).is_some()
            || (colors::LIGHTNESS_WORDS.contains(&word) && color_word(next).is_some())
            || vocab::size_word(word).is_some()
            || (vocab::POSITION_WORDS.contains(&word) && !words.is_empty())
            || matches!(
                word,
                "and"
                    | "above"
                    | "below"
                    | "under"
                    | "beneath"
                    | "underneath"
                    | "inside"
                    | "beside"
                    | "next"
                    | "covering"
                    | "with"
                    | "using"
                    | "centered"
                    | "centred"
            )
            || (matches!(word, "in" | "at" | "on" | "to" | "near" | "along" | "across")
                && (color_word(after_the).is_some()
                    || colors::LIGHTNESS_WORDS.contains(&after_the)
                    || vocab::POSITION_WORDS.contains(&after_the)
                    || vocab::size_word(after_the).is_some()
                    || matches!(after_the, "a" | "an" | "row" | "column" | "capitals" | "capital")
                    || self.number(offset + 1).is_some()))
    }

    fn set_text(&mut self, text: String, token: &Token) {
        if let Some(bad) = text.chars().find(|c| !(' '..='~').contains(c)) {
            self.errors.push(CompileError::BadText {
                character: bad,
                sentence: self.sentence.number,
                position: token.position,
            });
        }
        let text: String = text.chars().filter(|c| (' '..='~').contains(c)).collect();
        let index = match self.current {
            Some(index)
                if self.drafts[index].object.text.is_none()
                    && matches!(self.drafts[index].kind, None | Some(Kind::Text)) =>
            {
                if self.drafts[index].kind.is_none() {
                    self.drafts[index].kind = Some(Kind::Text);
                    if let Some(owner) = self.with_owner.take()
                        && self.drafts[index].object.relation.is_none()
                    {
                        self.drafts[index].object.relation = Some((Relation::Inside, owner));
                    }
                }
                index
            }
            Some(owner) if self.drafts[owner].kind.is_some_and(|k| k != Kind::Text) => {
                // Text right after a shape labels it: `a red box "SALE"`.
                let index = self.start_object(Some(Kind::Text));
                if self.drafts[index].object.relation.is_none() {
                    self.drafts[index].object.relation = Some((Relation::Inside, owner));
                }
                index
            }
            _ => self.start_object(Some(Kind::Text)),
        };
        self.drafts[index].kind = Some(Kind::Text);
        let object = &mut self.drafts[index].object;
        object.kind = Kind::Text;
        if !object.words.is_empty() {
            object.words.push(' ');
        }
        object.words.push_str(&format!("\"{text}\""));
        object.text = Some(text);
    }

    /// `write HELLO`, `that says "Hi"`, `labelled OPEN`.
    fn text_phrase(&mut self) -> bool {
        let mut n = match (self.word(0), self.word(1)) {
            ("that" | "which", "says" | "reads" | "said") => 2,
            (
                "write" | "print" | "type" | "say" | "saying" | "says" | "reading" | "reads" | "labelled" | "labeled"
                | "called" | "spell" | "spelling",
                _,
            ) => 1,
            _ => return false,
        };
        if matches!(self.word(n), "the" | "a") && vocab::noun(self.word(n + 1)).is_some_and(|(k, _)| k == Kind::Text) {
            n += 2;
        } else if vocab::noun(self.word(n)).is_some_and(|(k, _)| k == Kind::Text) && self.token(n + 1).is_some() {
            n += 1;
        }
        let owner = self.current.filter(|&c| self.drafts[c].kind.is_some_and(|k| k != Kind::Text));
        self.i += n;
        let index = match self.current {
            Some(index) if self.drafts[index].kind == Some(Kind::Text) && self.drafts[index].object.text.is_none() => {
                index
            }
            Some(index) if self.drafts[index].kind.is_none() => {
                self.drafts[index].kind = Some(Kind::Text);
                index
            }
            _ => {
                let index = self.start_object(Some(Kind::Text));
                if let Some(owner) = owner {
                    self.drafts[index].object.relation = Some((Relation::Inside, owner));
                }
                index
            }
        };
        self.drafts[index].object.kind = Kind::Text;
        self.text_after(index);
        if self.drafts[index].object.text.is_none() {
            let token = self.tokens()[self.i.saturating_sub(1)].clone();
            self.misplaced(&token, "say which text to write, e.g. write \"HELLO\"");
            self.drafts[index].object.text = Some(String::new());
        }
        true
    }

    /// Numbers: counts, sizes (`20 pixels`, `20 by 10`, `20x10`), grids (`4 by 3 grid`).
    fn numbers(&mut self) -> bool {
        let Some(token) = self.token(0).cloned() else { return false };
        let (width, height, mut n) = match token.kind {
            TokenKind::Dims(w, h) => (w, Some(h), 1),
            TokenKind::Pixels(p) => (p, None, 1),
            TokenKind::Number(w) => {
                if self.word(1) == "by"
                    && let Some(h) = self.number(2)
                {
                    (w, Some(h), 3)
                } else {
                    (w, None, 1)
                }
            }
            _ => return false,
        };
        if let Some(rows) = height
            && matches!(self.word(n), "grid" | "grids")
        {
            let n_tokens = n + 1 + usize::from(self.word(n + 1) == "of");
            let index = self.start_object(None);
            self.set_grid(index, width, rows, &token);
            self.note(index, n_tokens);
            self.i += n_tokens;
            return true;
        }
        let pixel_unit = matches!(token.kind, TokenKind::Pixels(_))
            || matches!(self.word(n), "px" | "pixels" | "pixel" | "pixel-wide");
        if pixel_unit && !matches!(token.kind, TokenKind::Pixels(_)) {
            n += 1;
        }
        if height.is_some() || pixel_unit {
            let (w, h) = (clamp_pixels(width), clamp_pixels(height.unwrap_or(width)));
            let mut size = Size::Pixels { width: w, height: h };
            match self.word(n) {
                "radius" => {
                    size = Size::Pixels { width: w * 2 + 1, height: w * 2 + 1 };
                    n += 1;
                }
                "wide" | "across" | "long" | "diameter" | "tall" | "high" | "big" | "large" | "in" => {
                    if self.word(n) == "in" && self.word(n + 1) == "diameter" {
                        n += 1;
                    }
                    n += 1;
                }
                _ => {}
            }
            let index = self.attribute_target(|d| d.object.size.is_some());
            self.note(index, n);
            self.drafts[index].object.size = Some(size);
            self.i += n;
            return true;
        }
        self.count(width, 1)
    }

    fn count(&mut self, count: i64, n_tokens: usize) -> bool {
        // `one` after an adjective is a pronoun (`a blue one`), not a count.
        if self.word(0) == "one" && self.current.is_some_and(|c| self.drafts[c].kind.is_none()) {
            self.i += 1;
            return true;
        }
        if matches!(self.word(0), "one" | "some")
            && vocab::noun(self.word(1)).is_none()
            && !matches!(self.word(1), "of")
        {
            let next = self.word(1);
            let adjective = color_word(next).is_some()
                || vocab::size_word(next).is_some()
                || colors::LIGHTNESS_WORDS.contains(&next);
            if !adjective {
                self.i += 1;
                return true;
            }
        }
        let mut n = n_tokens;
        if matches!(self.word(n), "of") && matches!(self.word(0), "pair" | "couple" | "dozen" | "few" | "several") {
            n += 1;
        }
        if self.current.is_some_and(|c| self.drafts[c].kind.is_some()) {
            self.end_object();
        }
        let index = match self.current {
            Some(index) if self.drafts[index].object.count == 1 => index,
            _ => self.start_object(None),
        };
        let token = self.tokens()[self.i].clone();
        if count <= 0 {
            self.misplaced(&token, "a count must be at least 1");
        } else if count > i64::from(MAX_COPIES) {
            self.errors.push(CompileError::TooMany { count: count as u64, limit: u64::from(MAX_COPIES) });
        }
        self.note(index, n);
        self.drafts[index].object.count = count.clamp(1, i64::from(MAX_COPIES)) as u32;
        self.i += n;
        true
    }

    fn set_grid(&mut self, index: usize, columns: i64, rows: i64, token: &Token) {
        let limit = i64::from(MAX_COPIES);
        if columns <= 0 || rows <= 0 {
            self.misplaced(token, "a grid needs at least 1 column and 1 row");
        } else if columns.saturating_mul(rows) > limit {
            self.errors.push(CompileError::TooMany { count: columns.saturating_mul(rows) as u64, limit: limit as u64 });
        }
        let (columns, rows) = (columns.clamp(1, 20) as u32, rows.clamp(1, 20) as u32);
        let object = &mut self.drafts[index].object;
        object.arrangement = Arrangement::Grid { columns, rows };
        object.arranged = true;
        object.count = columns * rows;
    }

    /// `a row of N`, `a column of`, `a grid of A by B`, `in a row`, `side by side`, `stacked`.
    fn arrangement(&mut self) -> bool {
        let (arrangement, mut n) = match (self.word(0), self.word(1), self.word(2), self.word(3)) {
            ("row" | "line", "of", _, _) => (Arrangement::Row, 2),
            ("column" | "stack", "of", _, _) => (Arrangement::Column, 2),
            ("grid", "of", _, _) => (Arrangement::Grid { columns: 3, rows: 3 }, 2),
            ("in" | "on", "a" | "one", "row" | "line", _) => (Arrangement::Row, 3),
            ("in" | "on", "a" | "one", "column" | "stack", _) => (Arrangement::Column, 3),
            ("in" | "on", "a", "grid", _) => (Arrangement::Grid { columns: 0, rows: 0 }, 3),
            ("side", "by", "side", _) => (Arrangement::Row, 3),
            ("in" | "on", "a" | "one", "horizontal" | "straight", "row" | "line") => (Arrangement::Row, 4),
            ("in" | "on", "a" | "one", "vertical", "row" | "line" | "column") => (Arrangement::Column, 4),
            ("in", _, "rows" | "row", _) | ("in", _, "columns" | "column", _) if self.count_at(1).is_some() => {
                // `in two rows`, `in 3 columns`, `in 2 rows of 3`: a grid.
                let lines = self.count_at(1).unwrap_or(1).clamp(1, 20) as u32;
                let per_line = if self.word(3) == "of" { self.count_at(4) } else { None };
                let index = match self.current.or(self.drafts.len().checked_sub(1)) {
                    Some(index) => index,
                    None => return false,
                };
                let count =
                    per_line.map_or(self.drafts[index].object.count.max(1), |p| (p.clamp(1, 20) as u32) * lines);
                let across = count.div_ceil(lines).max(1);
                let (columns, rows) = if self.word(2).starts_with("row") { (across, lines) } else { (lines, across) };
                let object = &mut self.drafts[index].object;
                object.count = count.min(columns * rows);
                object.arrangement = Arrangement::Grid { columns, rows };
                object.arranged = true;
                let n = if per_line.is_some() { 5 } else { 3 };
                self.note(index, n);
                self.i += n;
                return true;
            }
            ("next" | "close", "to", "each", "other") => (Arrangement::Row, 4),
            ("beside", "each", "other", _) => (Arrangement::Row, 3),
            ("on" | "above", "top", "of", "each") if self.word(4) == "other" => (Arrangement::Column, 5),
            ("in" | "at" | "on", "each" | "every" | "all", "corner" | "corners", _) => (Arrangement::Corners, 3),
            ("in" | "at" | "on", "all" | "the", "four" | "4", "corners") => (Arrangement::Corners, 4),
            ("in" | "at" | "on", "the", "corners", _) => (Arrangement::Corners, 3),
            ("horizontally", _, _, _) => (Arrangement::Row, 1),
            ("stacked" | "vertically", _, _, _) => (Arrangement::Column, 1 + usize::from(self.word(1) == "vertically")),
            ("one", "above" | "on" | "over", _, _)
                if matches!(self.word(3), "other") || matches!(self.word(2), "another") =>
            {
                (Arrangement::Column, if self.word(2) == "another" { 3 } else { 4 })
            }
            _ => return false,
        };
        if self.word(0) == "line"
            && self.word(1) == "of"
            && self.count_at(2).is_none()
            && vocab::noun(self.word(2)).is_none()
        {
            return false;
        }
        let before_noun = n == 2;
        let token = self.tokens()[self.i].clone();
        let index = if before_noun {
            if self.current.is_some_and(|c| self.drafts[c].kind.is_some()) {
                self.end_object();
            }
            self.current.unwrap_or_else(|| self.start_object(None))
        } else {
            match self.current {
                Some(index) => index,
                None => match self.drafts.len().checked_sub(1) {
                    Some(last) => last,
                    None => {
                        self.misplaced(&token, "say what to arrange first, e.g. three dots in a row");
                        self.i += n;
                        return true;
                    }
                },
            }
        };
        match arrangement {
            Arrangement::Grid { columns: 3, rows: 3 } if before_noun => {
                // `a grid of 4 by 3`, `a grid of 4x3`, `a grid of dots` (3 by 3).
                let (columns, rows, used) = match (self.token(n).map(|t| t.kind), self.word(n + 1), self.number(n + 2))
                {
                    (Some(TokenKind::Dims(c, r)), _, _) => (c, r, 1),
                    (Some(TokenKind::Number(c)), "by" | "x", Some(r)) => (c, r, 3),
                    _ => (3, 3, 0),
                };
                self.set_grid(index, columns, rows, &token);
                n += used;
            }
            Arrangement::Grid { .. } => {
                let count = self.drafts[index].object.count.max(1);
                let columns = (1..=count).find(|c| c * c >= count).unwrap_or(1);
                let rows = count.div_ceil(columns);
                self.drafts[index].object.arrangement = Arrangement::Grid { columns, rows };
                self.drafts[index].object.arranged = true;
            }
            Arrangement::Corners => {
                self.drafts[index].object.arrangement = arrangement;
                self.drafts[index].object.arranged = true;
                self.drafts[index].object.count = 4;
            }
            _ => {
                self.drafts[index].object.arrangement = arrangement;
                self.drafts[index].object.arranged = true;
                if before_noun && let Some(count) = self.count_at(n) {
                    let count_token = self.tokens()[self.i + n].clone();
                    if count > i64::from(MAX_COPIES) {
                        self.errors.push(CompileError::TooMany { count: count as u64, limit: u64::from(MAX_COPIES) });
                    } else if count <= 0 {
                        self.misplaced(&count_token, "a count must be at least 1");
                    }
                    self.drafts[index].object.count = count.clamp(1, i64::from(MAX_COPIES)) as u32;
                    n += 1;
                } else if before_noun {
                    self.drafts[index].object.count = 3;
                }
            }
        }
        self.note(index, n);
        self.i += n;
        true
    }

    /// `covering the bottom half`, `filling the whole canvas`, and `the top half` as an object.
    fn cover(&mut self) -> bool {
        let verb = matches!(
            self.word(0),
            "covering" | "filling" | "covers" | "fills" | "over" | "across" | "occupying" | "spanning" | "taking"
        );
        let mut n = usize::from(verb);
        if self.word(0) == "taking" && self.word(1) == "up" {
            n += 1;
        }
        if matches!(self.word(n), "the" | "a") {
            n += 1;
        }
        let mut whole = false;
        if matches!(self.word(n), "whole" | "entire" | "full" | "complete") {
            n += 1;
            whole = true;
        }
        let region = match (self.word(n), self.word(n + 1)) {
            ("top" | "upper", "half" | "part" | "side") => Some((Region::TopHalf, 2)),
            ("bottom" | "lower", "half" | "part" | "side") => Some((Region::BottomHalf, 2)),
            ("left", "half" | "part" | "side") => Some((Region::LeftHalf, 2)),
            ("right", "half" | "part" | "side") => Some((Region::RightHalf, 2)),
            ("canvas" | "screen" | "picture" | "image" | "page" | "frame" | "everything", _) if verb || whole => {
                Some((Region::Whole, 1))
            }
            _ if whole && verb => Some((Region::Whole, 0)),
            _ => None,
        };
        let Some((region, used)) = region else { return false };
        if !verb && self.word(n + 1) == "side" {
            return false; // `on the left side` is a position.
        }
        n += used;
        if matches!(self.word(n), "of") && matches!(self.word(n + 1), "the" | "canvas" | "screen" | "picture" | "image")
        {
            n += 1 + usize::from(self.word(n + 1) == "the");
            if matches!(self.word(n), "canvas" | "screen" | "picture" | "image" | "page") {
                n += 1;
            }
        }
        let index = if verb {
            match self.current {
                Some(index) => index,
                None => self.start_object(Some(Kind::Rectangle)),
            }
        } else {
            // `the bottom half is green`: the region itself is the object.
            if self.current.is_some_and(|c| self.drafts[c].kind.is_some()) || self.current.is_none() {
                let index = self.start_object(Some(Kind::Rectangle));
                self.drafts[index].object.placement = Some(Placement::Cover(region));
                self.note(index, n);
                self.i += n;
                return true;
            }
            match self.current {
                Some(index) => index,
                None => return false,
            }
        };
        self.drafts[index].object.placement = Some(Placement::Cover(region));
        self.note(index, n);
        self.i += n;
        true
    }

    /// `above`, `below`, `to the left of`, `next to`, `inside`, `on top of`, `in a box`.
    fn relation(&mut self) -> bool {
        let w = |k| self.word(k);
        let (relation, n) = match (w(0), w(1), w(2), w(3)) {
            ("on", "top", "of", _) => (Relation::Above, 3),
            ("behind", _, _, _) => (Relation::Above, 1),
            ("in", "front", "of", _) => (Relation::Below, 3),
            ("above" | "atop", _, _, _) => (Relation::Above, 1),
            ("over", _, _, _) => (Relation::Above, 1),
            ("below" | "under" | "beneath" | "underneath", _, _, _) => (Relation::Below, 1),
            ("to" | "on" | "at", "the", "left", "of") => (Relation::LeftOf, 4),
            ("to" | "on" | "at", "the", "right", "of") => (Relation::RightOf, 4),
            ("left", "of", _, _) => (Relation::LeftOf, 2),
            ("right", "of", _, _) => (Relation::RightOf, 2),
            ("next", "to", _, _) | ("close", "to", _, _) => (Relation::RightOf, 2),
            ("beside" | "besides", _, _, _) => (Relation::RightOf, 1),
            ("by", "a" | "an" | "the", _, _) => (Relation::RightOf, 1),
            ("inside" | "within" | "into", _, _, _) => (Relation::Inside, 1 + usize::from(w(1) == "of")),
            ("around" | "surrounding" | "round", _, _, _) => (Relation::Inside, 1),
            ("in", "the", "middle" | "center" | "centre", "of") if !is_canvas_word(w(4)) => (Relation::Inside, 4),
            ("in" | "on", "a" | "an" | "the" | "one" | "it" | "them", _, _) if self.object_follows(1) => {
                let relation = if w(0) == "in" { Relation::Inside } else { Relation::Above };
                (relation, 1)
            }
            _ => return false,
        };
        if w(0) == "over" && matches!(self.word(1), "the") && vocab::POSITION_WORDS.contains(&self.word(2)) {
            return false;
        }
        // `a border around the canvas`: the canvas is no object.
        let after = if matches!(w(1), "the" | "a") { w(2) } else { w(1) };
        if matches!(w(0), "around" | "round" | "surrounding")
            && (is_canvas_word(after) || matches!(after, "edge" | "edges" | "outside"))
        {
            self.i += if matches!(w(1), "the" | "a") { 3 } else { 2 };
            return true;
        }
        let token_index = self.i;
        let subject = match self.current {
            Some(index) => index,
            None => match self.drafts.len().checked_sub(1) {
                Some(last) => last,
                None => {
                    let token = self.tokens()[self.i].clone();
                    self.misplaced(&token, "say what goes there first, e.g. a circle above a square");
                    self.i += n;
                    return true;
                }
            },
        };
        self.around = matches!(self.word(0), "around" | "surrounding" | "round");
        self.pending = Some((subject, relation, token_index));
        self.end_object();
        self.i += n;
        true
    }

    /// Whether an object (not a colour, position or arrangement) starts at `offset`.
    fn object_follows(&self, offset: usize) -> bool {
        let mut k = offset;
        if matches!(self.word(k), "it" | "them") {
            return true;
        }
        if matches!(self.word(k), "a" | "an" | "the" | "one") {
            k += 1;
        }
        for _ in 0..4 {
            let word = self.word(k);
            if vocab::noun(word).is_some() {
                return !matches!(self.word(k), "line" | "row" | "column");
            }
            if color_word(word).is_some()
                || vocab::size_word(word).is_some()
                || colors::LIGHTNESS_WORDS.contains(&word)
                || vocab::OUTLINE_WORDS.contains(&word)
            {
                k += 1;
                continue;
            }
            return false;
        }
        false
    }

    /// `in the top left corner`, `at the bottom`, `on the left`, `at 10 20`, `in the top half`.
    fn position(&mut self) -> bool {
        let mut n = 0;
        let preposition = matches!(
            self.word(0),
            "in" | "at"
                | "on"
                | "to"
                | "near"
                | "towards"
                | "toward"
                | "along"
                | "across"
                | "centered"
                | "centred"
                | "up"
                | "down"
        );
        if preposition {
            n += 1;
        }
        if matches!(self.word(0), "centered" | "centred") {
            if self.word(1) == "at" || self.word(1) == "on" || self.word(1) == "in" {
                n += 1;
            } else {
                let index = self.attribute_target(|d| d.object.placement.is_some());
                self.note(index, 1);
                self.drafts[index].object.placement = Some(Placement::Align {
                    horizontal: Align::Center,
                    vertical: Align::Center,
                    region: Region::Whole,
                });
                self.i += 1;
                return true;
            }
        }
        if (preposition || n > 0)
            && let Some((x, y, used)) = self.coordinates(n)
        {
            let index = self.attribute_target(|d| d.object.placement.is_some());
            self.note(index, n + used);
            self.drafts[index].object.placement = Some(Placement::At { x, y });
            self.i += n + used;
            return true;
        }
        if matches!(self.word(n), "the" | "a") {
            n += 1;
        }
        let Some((horizontal, vertical, region, used)) = self.anchor(n) else { return false };
        if used == 0 {
            return false;
        }
        n += used;
        if self.word(n) == "of" && is_canvas_word(self.word(n + 1)) {
            n += 2;
        } else if self.word(n) == "of" && self.word(n + 1) == "the" && is_canvas_word(self.word(n + 2)) {
            n += 3;
        } else if self.word(n) == "of" {
            return false; // `left of the house` is a relation.
        }
        let index = self.attribute_target(|d| d.object.placement.is_some());
        self.note(index, n);
        self.drafts[index].object.placement = Some(Placement::Align { horizontal, vertical, region });
        self.i += n;
        true
    }

    /// Position words from `offset`: the alignment, the region and how many words they took.
    fn anchor(&self, offset: usize) -> Option<(Align, Align, Region, usize)> {
        let (mut horizontal, mut vertical, mut region) = (None, None, Region::Whole);
        let mut n = 0;
        loop {
            let word = self.word(offset + n);
            match word {
                "top" | "upper" | "up" if vertical.is_none() => vertical = Some(Align::Start),
                "bottom" | "lower" | "down" if vertical.is_none() => vertical = Some(Align::End),
                "left" | "lefthand" if horizontal.is_none() => horizontal = Some(Align::Start),
                "right" | "righthand" if horizontal.is_none() => horizontal = Some(Align::End),
                "topleft" => (horizontal, vertical) = (Some(Align::Start), Some(Align::Start)),
                "topright" => (horizontal, vertical) = (Some(Align::End), Some(Align::Start)),
                "bottomleft" => (horizontal, vertical) = (Some(Align::Start), Some(Align::End)),
                "bottomright" => (horizontal, vertical) = (Some(Align::End), Some(Align::End)),
                "center" | "centre" | "middle" | "central" => {
                    horizontal = horizontal.or(Some(Align::Center));
                    vertical = vertical.or(Some(Align::Center));
                }
                "corner" | "side" | "edge" | "hand" | "part" | "area" if n > 0 => {}
                "half" if n > 0 => {
                    region = match (vertical, horizontal) {
                        (Some(Align::Start), _) => Region::TopHalf,
                        (Some(Align::End), _) => Region::BottomHalf,
                        (_, Some(Align::Start)) => Region::LeftHalf,
                        (_, Some(Align::End)) => Region::RightHalf,
                        _ => Region::Whole,
                    };
                    (horizontal, vertical) = (Some(Align::Center), Some(Align::Center));
                }
                _ => break,
            }
            n += 1;
        }
        if n == 0 {
            return None;
        }
        Some((horizontal.unwrap_or(Align::Center), vertical.unwrap_or(Align::Center), region, n))
    }

    /// `10 20`, `10, 20`, `x 10 y 20`, `x=10 y=20` at `offset`: the point and the tokens used.
    fn coordinates(&self, offset: usize) -> Option<(i32, i32, usize)> {
        let mut n = offset;
        let labelled = self.word(n) == "x";
        if labelled {
            n += 1;
        }
        let x = self.number(n)?;
        n += 1;
        if self.token(n).is_some_and(|t| t.kind == TokenKind::Comma) || self.word(n) == "and" {
            n += 1;
        }
        if labelled && self.word(n) == "y" || self.word(n) == "y" {
            n += 1;
        }
        let y = self.number(n)?;
        n += 1;
        Some((clamp_coordinate(x), clamp_coordinate(y), n - offset))
    }

    /// `from the top left to the bottom right`, `from 0 0 to 10 10`, `horizontal`, `diagonal`.
    fn line_phrase(&mut self) -> bool {
        let spec_and_n = match self.word(0) {
            "horizontal" => Some((LineSpec::Horizontal, 1)),
            "vertical" | "upright" => Some((LineSpec::Vertical, 1)),
            "diagonal" => Some((LineSpec::Diagonal, 1)),
            "from" => {
                let Some((start, used)) = self.point(1) else { return false };
                if self.word(1 + used) != "to" {
                    return false;
                }
                let Some((end, more)) = self.point(2 + used) else { return false };
                let spec = match (start, end) {
                    (Point::Anchor(Align::Start, Align::Center), Point::Anchor(Align::End, Align::Center))
                    | (Point::Anchor(Align::End, Align::Center), Point::Anchor(Align::Start, Align::Center)) => {
                        LineSpec::Horizontal
                    }
                    (Point::Anchor(Align::Center, Align::Start), Point::Anchor(Align::Center, Align::End))
                    | (Point::Anchor(Align::Center, Align::End), Point::Anchor(Align::Center, Align::Start)) => {
                        LineSpec::Vertical
                    }
                    _ => LineSpec::Between(start, end),
                };
                Some((spec, 2 + used + more))
            }
            _ => None,
        };
        let Some((spec, n)) = spec_and_n else { return false };
        let index = match self.current {
            Some(index)
                if self.drafts[index].object.line.is_none()
                    && matches!(self.drafts[index].kind, None | Some(Kind::Line)) =>
            {
                index
            }
            _ => self.start_object(None),
        };
        self.note(index, n);
        self.drafts[index].object.line = Some(spec);
        self.i += n;
        true
    }

    fn point(&self, offset: usize) -> Option<(Point, usize)> {
        if let Some((x, y, used)) = self.coordinates(offset) {
            return Some((Point::Exact(x, y), used));
        }
        let skip = usize::from(matches!(self.word(offset), "the" | "a"));
        let (horizontal, vertical, _, used) = self.anchor(offset + skip)?;
        Some((Point::Anchor(horizontal, vertical), skip + used))
    }

    /// `red`, `light blue`, `sky blue`, `#ff8800`, `in red`, `colored #f80`, `blue green`.
    fn color(&mut self) -> bool {
        let mut n = usize::from(matches!(
            self.word(0),
            "in" | "colored" | "coloured" | "painted" | "with" | "of" | "is" | "are" | "all"
        ));
        if n == 1 && matches!(self.word(1), "the" | "a") && self.color_at(2).is_some() {
            n += 1;
        }
        let Some((color, used)) = self.color_at(n) else { return false };
        n += used;
        // `with a red roof`: the colour is the part's.
        if crate::scene::PART_WORDS.contains(&self.word(n)) && n > used {
            return false;
        }
        // `with a pink background`, `in a red box`: the colour belongs to the object that follows.
        let introduces_object =
            |k: usize| vocab::noun(self.word(k)).is_some() || vocab::size_word(self.word(k)).is_some();
        if matches!(self.word(0), "with" | "in" | "of")
            && n > used
            && (introduces_object(n) || introduces_object(n + 1) && vocab::OUTLINE_WORDS.contains(&self.word(n)))
        {
            return false;
        }
        if matches!(self.word(n), "color" | "colour" | "colored" | "coloured" | "fill" | "paint") {
            n += 1;
        }
        let index = self.attribute_target(|d| d.object.color.is_some());
        self.note(index, n);
        self.drafts[index].object.color = Some(color);
        self.i += n;
        true
    }

    fn color_at(&self, offset: usize) -> Option<(Rgba, usize)> {
        let first = self.word(offset);
        if let Some(color) = ish_color(first) {
            return Some((color, 1));
        }
        let second = self.word(offset + 1);
        // Two-word CSS names come first: `sky blue`, `hot pink`, `sea green`.
        if !second.is_empty()
            && let Some(joined) = colors::named(&format!("{first}{second}"))
        {
            return Some((joined, 2));
        }
        if colors::LIGHTNESS_WORDS.contains(&first) {
            let joined = format!("{first}{second}");
            if let Some(color) = colors::named(&joined) {
                return Some((color, 2));
            }
            if let Some(base) = color_word(second) {
                return Some((colors::modify(first, base), 2));
            }
            return None;
        }
        let color = color_word(first)?;
        if !second.is_empty() {
            if let Some(joined) = colors::named(&format!("{first}{second}")) {
                return Some((joined, 2));
            }
            if let Some(other) = colors::named(second)
                && BASIC_HUES.contains(&second)
                && !BASIC_HUES.contains(&first)
            {
                // `navy blue`, `lime green`: the first word is the precise one.
                let _ = other;
                return Some((color, 2));
            }
            if let Some(other) = colors::named(second)
                && vocab::noun(self.word(offset + 2)).is_some()
                && !matches!(second, "one")
            {
                // `blue green`: between the two.
                let mix = |a: u8, b: u8| ((u16::from(a) + u16::from(b)) / 2) as u8;
                return Some((Rgba::new(mix(color.r, other.r), mix(color.g, other.g), mix(color.b, other.b), 255), 2));
            }
            if second == "ish" {
                return Some((color, 2));
            }
        }
        Some((color, 1))
    }

    /// `tiny`, `big`, `radius 5`, `of radius 5`, `size 12`, `width 30`.
    fn size(&mut self) -> bool {
        if let Some(level) = vocab::size_word(self.word(0)) {
            let index = self.attribute_target(|d| d.object.size.is_some());
            self.note(index, 1);
            self.drafts[index].object.size = Some(size_level(level));
            self.i += 1;
            return true;
        }
        let mut n = usize::from(matches!(self.word(0), "of" | "with"));
        if matches!(self.word(n), "a" | "the") {
            n += 1;
        }
        let keyword = self.word(n).to_string();
        if !matches!(keyword.as_str(), "radius" | "diameter" | "size" | "width" | "height" | "side") {
            return false;
        }
        n += 1;
        if matches!(self.word(n), "of" | "is") {
            n += 1;
        }
        let value = match self.token(n).map(|t| t.kind) {
            Some(TokenKind::Number(v) | TokenKind::Pixels(v)) => v,
            Some(TokenKind::Dims(w, h)) if keyword == "size" => {
                let index = self.attribute_target(|d| d.object.size.is_some());
                self.note(index, n + 1);
                self.drafts[index].object.size = Some(Size::Pixels { width: clamp_pixels(w), height: clamp_pixels(h) });
                self.i += n + 1;
                return true;
            }
            _ => return false,
        };
        n += 1;
        if matches!(self.word(n), "px" | "pixels" | "pixel") {
            n += 1;
        }
        let value = clamp_pixels(value);
        let index = self.attribute_target(|_| false);
        let previous = self.drafts[index].object.size;
        let (old_w, old_h) = match previous {
            Some(Size::Pixels { width, height }) => (Some(width), Some(height)),
            _ => (None, None),
        };
        let size = match keyword.as_str() {
            "radius" => Size::Pixels { width: value * 2 + 1, height: value * 2 + 1 },
            "width" => Size::Pixels { width: value, height: old_h.unwrap_or(value) },
            "height" => Size::Pixels { width: old_w.unwrap_or(value), height: value },
            _ => Size::Pixels { width: value, height: value },
        };
        self.note(index, n);
        self.drafts[index].object.size = Some(size);
        self.i += n;
        true
    }

    /// `transparent`, `semi-transparent`, `see-through`, `half transparent`: the tokens used.
    fn transparency(&self) -> Option<usize> {
        match (self.word(0), self.word(1)) {
            ("see", "through") => Some(2),
            ("semi" | "half", "transparent" | "translucent") => Some(2),
            ("transparent" | "translucent" | "semitransparent" | "faint" | "ghostly" | "seethrough", _) => Some(1),
            _ => None,
        }
    }
}

/// `reddish`, `bluish`, `greenish`: the colour the word comes from.
fn ish_color(word: &str) -> Option<Rgba> {
    let stem = word.strip_suffix("ish")?;
    let candidates = [stem.to_string(), format!("{stem}e"), stem[..stem.len().saturating_sub(1)].to_string()];
    candidates.iter().find_map(|c| colors::named(c))
}

/// Colour words that name a family of colours rather than one shade.
const BASIC_HUES: &[&str] =
    &["red", "green", "blue", "yellow", "orange", "purple", "pink", "brown", "grey", "gray", "white", "black"];

fn is_canvas_word(word: &str) -> bool {
    matches!(word, "canvas" | "screen" | "picture" | "image" | "page" | "frame" | "scene" | "drawing" | "the")
}

/// Two-word nouns: `smiley face`, `happy face`, `smiling face`.
fn two_word_noun(first: &str, second: &str) -> Option<(Kind, bool, usize)> {
    match (first, second) {
        ("smiley" | "happy" | "smiling" | "smile", "face") => Some((Kind::Smiley, false, 2)),
        ("smiley" | "happy" | "smiling", "faces") => Some((Kind::Smiley, true, 2)),
        _ => None,
    }
}

fn size_level(level: u8) -> Size {
    match level {
        0 => Size::Tiny,
        1 => Size::Small,
        2 => Size::Medium,
        3 => Size::Large,
        _ => Size::Huge,
    }
}

fn clamp_pixels(value: i64) -> i32 {
    value.clamp(1, 4096) as i32
}

fn clamp_coordinate(value: i64) -> i32 {
    value.clamp(-4096, 8192) as i32
}
