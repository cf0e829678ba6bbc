//! Copying through the terminal: OSC 52 (`ESC ] 52 ; c ; <base64> BEL`), which the terminal
//! emulator turns into a clipboard write. It travels in-band, so it works over ssh too.
//!
//! Inside tmux the sequence is written as is, not wrapped in tmux's DCS passthrough: tmux
//! handles OSC 52 itself when `set-clipboard` is `on` (it stores a paste buffer and forwards
//! the copy to the outer terminal), whereas passthrough needs `allow-passthrough`, off by
//! default, and bypasses tmux's buffers. With tmux's default (`external`), add
//! `set -s set-clipboard on` to tmux.conf.

use std::io::Write;

use base64::Engine;

/// The OSC 52 sequence that puts `text` on the clipboard (selection `c`).
pub fn osc52(text: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    format!("\x1b]52;c;{encoded}\x07")
}

/// Writes the sequence to the terminal; it moves no cursor and draws nothing, so it can go
/// between frames.
pub fn copy(out: &mut impl Write, text: &str) -> std::io::Result<()> {
    out.write_all(osc52(text).as_bytes())?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc52_carries_base64_of_the_text() {
        assert_eq!(osc52("data.hasura"), "\x1b]52;c;ZGF0YS5oYXN1cmE=\x07");
        let mut out = Vec::new();
        copy(&mut out, "my-app.default").unwrap();
        assert_eq!(out, b"\x1b]52;c;bXktYXBwLmRlZmF1bHQ=\x07");
    }
}
