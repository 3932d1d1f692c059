//! Wrapping `--help` to the terminal: clap leaves long lines as they are unless built with its
//! `wrap_help` feature, whose terminal-size dependency this crate avoids.

/// The width to wrap to: the terminal's (of stdout), at most 100 columns; 100 when stdout is
/// not a terminal.
pub fn width() -> usize {
    // SAFETY: TIOCGWINSZ fills a winsize we own; on failure it is left zeroed.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let cols = match unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) } {
        0 => usize::from(ws.ws_col),
        _ => 0,
    };
    if cols >= 40 {
        cols.min(100)
    } else {
        100
    }
}

/// Wraps each line longer than `width` at spaces. Continuation lines hang under the line's
/// text column: after its indentation, or after a first gap of two or more spaces in the left
/// half (clap's column between a flag and its help, or `125  a setup step…`). Words longer
/// than a line are left whole.
pub fn wrap(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    for line in text.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        if !body.is_ascii() || body.len() <= width {
            out.push_str(line);
            continue;
        }
        let hang = hang_column(body, width);
        let pad = " ".repeat(hang);
        let mut current = body[..hang].to_string();
        let mut len = hang;
        for word in body[hang..].split(' ').filter(|w| !w.is_empty()) {
            if len > hang && len + 1 + word.len() > width {
                out.push_str(current.trim_end());
                out.push('\n');
                current = pad.clone();
                len = hang;
            }
            if len > hang {
                current.push(' ');
                len += 1;
            }
            current.push_str(word);
            len += word.len();
        }
        out.push_str(&current);
        out.push_str(newline);
    }
    out
}

/// Where continuation lines of `body` (ASCII) start.
fn hang_column(body: &str, width: usize) -> usize {
    let indent = body.len() - body.trim_start_matches(' ').len();
    let bytes = body.as_bytes();
    let mut i = indent;
    while i + 1 < bytes.len() && i < width / 2 {
        if bytes[i] == b' ' && bytes[i + 1] == b' ' {
            let mut j = i;
            while j < bytes.len() && bytes[j] == b' ' {
                j += 1;
            }
            return if j < width / 2 { j } else { indent };
        }
        i += 1;
    }
    indent
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wraps_long_lines_keeping_indentation() {
        let text = "short\n    one two three four five six\nend";
        assert_eq!(
            wrap(text, 16),
            "short\n    one two\n    three four\n    five six\nend"
        );
        assert_eq!(wrap("abcdefghijklmnop x", 8), "abcdefghijklmnop\nx");
        // A flag and its help: continuation lines line up with the help.
        let flag = "  --x <N>  one two three four five";
        assert_eq!(
            wrap(flag, 24),
            "  --x <N>  one two three\n           four five"
        );
    }
}
