//! Text from the cluster made safe to print: an event message, a termination message or an
//! annotation is written by whoever can write to the cluster, and a terminal obeys the escape
//! sequences in it (move the cursor, clear the screen, retitle the window, write to the
//! clipboard). kubectl escapes ESC as `^[` and CR as `\r` since PR 112553
//! (k8s.io/cli-runtime `pkg/printers/terminal.go`, used by `describe` and the table printer);
//! we do the same, and show the other control characters (BEL ends an OSC title, backspace
//! overwrites, C1's CSI starts a sequence alone) in caret or `\u` notation too. Tabs and newlines
//! pass. The headless commands escape on a terminal and in a pipe alike, as kubectl does: what
//! goes to a file is often shown later by `cat`.

use std::borrow::Cow;

/// `text` with every control character but tab and newline written out visibly.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\x1b' => out.push_str("^["),
            '\r' => out.push_str("\\r"),
            '\x7f' => out.push_str("^?"),
            c if (c as u32) < 0x20 && needs_escape(c) => {
                out.push('^');
                out.push(char::from(b'@' + c as u8));
            }
            c if needs_escape(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n')
}

/// `escape`, and tabs and newlines too (as `\t`, `\n`): a table cell must not make rows or
/// columns of its own.
pub fn escape_cell(text: &str) -> Cow<'_, str> {
    if !text.contains(['\t', '\n']) {
        return escape(text);
    }
    let text = text.replace('\t', "\\t").replace('\n', "\\n");
    Cow::Owned(escape(&text).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert!(matches!(escape("plain text\tand tabs\n"), Cow::Borrowed(_)));
        // kubectl's two: ESC and CR.
        assert_eq!(escape("\x1b[2Jcleared\r"), "^[[2Jcleared\\r");
        // An OSC title ends with BEL; a C1 CSI (U+009B) starts a sequence by itself.
        assert_eq!(escape("\x1b]0;owned\x07"), "^[]0;owned^G");
        assert_eq!(escape("a\u{9b}2Jb\x08\x7f\0"), "a\\u009b2Jb^H^?^@");
        assert_eq!(escape("ünïcode ✓"), "ünïcode ✓");
        assert_eq!(escape_cell("two\nrows\tand\x1b"), "two\\nrows\\tand^[");
    }
}
