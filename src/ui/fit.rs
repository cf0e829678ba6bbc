//! Fitting a line into the width there is. What does not fit is dropped whole (the least
//! important first) or cut and marked with `…`; never shown as something else (a server address
//! cut mid-port reads as another address).

use std::borrow::Cow;

use ratatui::text::{Line, Span};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// The mark for text that goes on but does not fit.
pub const CUT: char = '…';

/// `text` in at most `width` columns: as it is when it fits, else cut with `…` at the end.
pub fn cut(text: &str, width: usize) -> Cow<'_, str> {
    if text.width() <= width {
        return Cow::Borrowed(text);
    }
    if width == 0 {
        return Cow::Borrowed("");
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push(CUT);
    Cow::Owned(out)
}

/// A piece of a line, with its separator in front, and how readily it goes when space is short.
pub struct Segment<'a> {
    pub span: Span<'a>,
    /// 0: never dropped (cut last, if need be). Otherwise the higher, the sooner it goes.
    pub drop_rank: u8,
}

impl<'a> Segment<'a> {
    pub fn keep(span: impl Into<Span<'a>>) -> Self {
        Segment {
            span: span.into(),
            drop_rank: 0,
        }
    }

    pub fn droppable(span: impl Into<Span<'a>>, drop_rank: u8) -> Self {
        Segment {
            span: span.into(),
            drop_rank,
        }
    }
}

/// The segments that fit in `width`, in their order: droppable ones go, highest rank first,
/// until the rest fits; if even that is too wide, the line is cut at `width` with `…`.
pub fn fit_line<'a>(mut segments: Vec<Segment<'a>>, width: u16) -> Line<'a> {
    let width = usize::from(width);
    let total = |segments: &[Segment]| segments.iter().map(|s| s.span.width()).sum::<usize>();
    while total(&segments) > width {
        let Some((i, _)) = segments
            .iter()
            .enumerate()
            .filter(|(_, s)| s.drop_rank > 0)
            .max_by_key(|(i, s)| (s.drop_rank, *i))
        else {
            break;
        };
        segments.remove(i);
    }
    let mut spans = Vec::with_capacity(segments.len());
    let mut used = 0;
    for segment in segments {
        let w = segment.span.width();
        if used + w <= width {
            used += w;
            spans.push(segment.span);
            continue;
        }
        let room = width - used;
        if room > 0 {
            let text = cut(&segment.span.content, room).into_owned();
            spans.push(Span::styled(text, segment.span.style));
        }
        break;
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(line: &Line) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn cut_marks_what_does_not_fit() {
        assert_eq!(
            cut("https://127.0.0.1:44697", 30),
            "https://127.0.0.1:44697"
        );
        assert_eq!(cut("https://127.0.0.1:44697", 21), "https://127.0.0.1:44…");
        assert_eq!(cut("▲12K ▼3.0M", 6), "▲12K …");
        assert_eq!(cut("abc", 1), "…");
        assert_eq!(cut("abc", 0), "");
        // Wide characters count as two columns and are never split.
        assert_eq!(cut("日本語", 4), "日…");
    }

    #[test]
    fn droppable_segments_go_first_then_the_line_is_cut() {
        let line = || {
            vec![
                Segment::droppable("brand", 3),
                Segment::keep("  state"),
                Segment::droppable("  server https://127.0.0.1:44697", 1),
                Segment::droppable("  cluster gram29", 2),
            ]
        };
        assert_eq!(
            text(&fit_line(line(), 80)),
            "brand  state  server https://127.0.0.1:44697  cluster gram29"
        );
        assert_eq!(
            text(&fit_line(line(), 50)),
            "  state  server https://127.0.0.1:44697"
        );
        assert_eq!(text(&fit_line(line(), 20)), "  state");
        assert_eq!(text(&fit_line(line(), 5)), "  st…");
    }
}
