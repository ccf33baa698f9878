//! The scene: what a description asks for, before any pixel position is known.
//!
//! The parser builds a [`Scene`]; the layout turns it into boxes on a canvas. Nothing here
//! knows the canvas size.

use gvpie_raster::Rgba;

/// Everything a description asks to draw, in the order it was described.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scene {
    /// The described objects, in sentence order.
    pub objects: Vec<Object>,
}

/// One described object (which may stand for several copies: `three stars`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// What it is.
    pub kind: Kind,
    /// The colour the description gave, if any (else the kind's own colour is used).
    pub color: Option<Rgba>,
    /// Opacity: 255 unless the description said transparent or translucent.
    pub alpha: u8,
    /// The size the description gave, if any.
    pub size: Option<Size>,
    /// Drawn as an outline (`outline`, `ring`, `empty`, `hollow`).
    pub outline: bool,
    /// `thick` (lines, borders, outlines).
    pub thick: bool,
    /// How many copies (1 unless counted).
    pub count: u32,
    /// How the copies are arranged (a row unless said otherwise).
    pub arrangement: Arrangement,
    /// Whether the description chose the arrangement (else many copies fill a grid).
    pub arranged: bool,
    /// Where on the canvas, if said.
    pub placement: Option<Placement>,
    /// Where relative to another object (index into [`Scene::objects`]), if said.
    pub relation: Option<(Relation, usize)>,
    /// The text of a text object.
    pub text: Option<String>,
    /// The end points or direction of a line.
    pub line: Option<LineSpec>,
    /// The words that described it, for the program's comment.
    pub words: String,
    /// Colours given to parts of a composed object (`a house with a red roof`): part name, colour.
    pub parts: Vec<(String, Rgba)>,
}

impl Object {
    pub(crate) fn new(kind: Kind) -> Object {
        Object {
            kind,
            color: None,
            alpha: 255,
            size: None,
            outline: false,
            thick: false,
            count: 1,
            arrangement: Arrangement::Row,
            arranged: false,
            placement: None,
            relation: None,
            text: None,
            line: None,
            words: String::new(),
            parts: Vec::new(),
        }
    }
}

/// The kinds of object the grammar knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs, reason = "the names are the nouns of the grammar")]
pub enum Kind {
    Circle,
    Dot,
    Square,
    Rectangle,
    Triangle,
    Line,
    Border,
    Background,
    Text,
    Sun,
    Moon,
    Star,
    Tree,
    House,
    Cloud,
    Sea,
    Grass,
    Mountain,
    Heart,
    Smiley,
    Flower,
    Boat,
}

impl Kind {
    /// The noun used in comments.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Circle => "circle",
            Kind::Dot => "dot",
            Kind::Square => "square",
            Kind::Rectangle => "rectangle",
            Kind::Triangle => "triangle",
            Kind::Line => "line",
            Kind::Border => "border",
            Kind::Background => "background",
            Kind::Text => "text",
            Kind::Sun => "sun",
            Kind::Moon => "moon",
            Kind::Star => "star",
            Kind::Tree => "tree",
            Kind::House => "house",
            Kind::Cloud => "cloud",
            Kind::Sea => "sea",
            Kind::Grass => "grass",
            Kind::Mountain => "mountain",
            Kind::Heart => "heart",
            Kind::Smiley => "smiley face",
            Kind::Flower => "flower",
            Kind::Boat => "boat",
        }
    }

    /// The colour used when the description names none.
    pub fn default_color(self) -> Rgba {
        let rgb = |r, g, b| Rgba::new(r, g, b, 255);
        match self {
            Kind::Sun | Kind::Smiley => rgb(255, 215, 0),
            Kind::Moon => rgb(255, 250, 205),
            Kind::Star => rgb(255, 255, 0),
            Kind::Tree | Kind::Grass => rgb(34, 139, 34),
            Kind::House => rgb(222, 184, 135),
            Kind::Sea => rgb(30, 144, 255),
            Kind::Mountain => rgb(128, 128, 128),
            Kind::Heart => rgb(255, 0, 0),
            Kind::Flower => rgb(255, 105, 180),
            Kind::Boat => rgb(160, 82, 45),
            Kind::Background => rgb(0, 0, 0),
            _ => rgb(255, 255, 255),
        }
    }
}

/// The parts of composed objects that can be given a colour.
pub const PART_WORDS: &[&str] = &[
    "roof", "door", "window", "windows", "walls", "wall", "trunk", "leaves", "crown", "stem", "petals", "center",
    "centre", "sail", "hull", "mast", "rays", "eyes", "mouth", "snow", "cap",
];

impl Object {
    /// The colour given to a part (`roof`, `door`, ...), if any.
    pub fn part(&self, names: &[&str]) -> Option<Rgba> {
        self.parts.iter().rev().find(|(name, _)| names.contains(&name.as_str())).map(|(_, color)| *color)
    }
}

/// A size word or explicit pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs, reason = "the names are the size words of the grammar")]
pub enum Size {
    Tiny,
    Small,
    Medium,
    Large,
    Huge,
    /// Width and height of the object's box in pixels (a circle's diameter).
    Pixels {
        width: i32,
        height: i32,
    },
}

/// Where along one axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Left or top.
    Start,
    /// The middle.
    Center,
    /// Right or bottom.
    End,
}

/// A part of the canvas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs, reason = "the names say which part")]
pub enum Region {
    Whole,
    TopHalf,
    BottomHalf,
    LeftHalf,
    RightHalf,
}

/// Where on the canvas an object goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Aligned within a region (`in the top left corner`, `in the bottom half`).
    Align {
        /// Horizontal alignment.
        horizontal: Align,
        /// Vertical alignment.
        vertical: Align,
        /// The region it is aligned in.
        region: Region,
    },
    /// The object's centre at these pixel coordinates.
    At {
        /// Column.
        x: i32,
        /// Row.
        y: i32,
    },
    /// The object fills the region exactly (`covering the bottom half`).
    Cover(Region),
}

/// A relation to another object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs, reason = "the names are the relation words of the grammar")]
pub enum Relation {
    Above,
    Below,
    LeftOf,
    RightOf,
    Inside,
}

/// How counted copies are arranged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrangement {
    /// Side by side, left to right.
    Row,
    /// Top to bottom.
    Column,
    /// `columns` across and `rows` down.
    Grid {
        /// Copies across.
        columns: u32,
        /// Copies down.
        rows: u32,
    },
    /// One copy in each corner of the canvas.
    Corners,
}

/// A line's end point: a place on the canvas or exact pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// A named place (`the top left`).
    Anchor(Align, Align),
    /// Exact pixel coordinates.
    Exact(i32, i32),
}

/// How a line runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineSpec {
    /// From one point to another.
    Between(Point, Point),
    /// Left to right.
    Horizontal,
    /// Top to bottom.
    Vertical,
    /// Top left to bottom right.
    Diagonal,
}
