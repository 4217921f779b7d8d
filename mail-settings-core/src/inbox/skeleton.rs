//! The *skeleton* of a raw message: the message with the middle of every long run of lines
//! of plain letters (base64 lines, and plain words in text parts) left out, so that the
//! summary (headers and MIME structure, see [`super::parse::summarize`]) never decodes an
//! attachment and hardly reads a body.
//!
//! Why this and not a MIME scanner of our own: the summary's attachment count is
//! `mail-parser`'s count, which rests on its exact rules (which part is a body and which an
//! attachment, what a broken part becomes, where a part ends when a boundary is missing). A
//! second parser would count differently on broken messages. So `mail-parser` still parses —
//! only a shorter input, from which nothing it counts with was taken:
//!
//! - Only whole lines are left out, and only lines made of base64 letters
//!   (`A–Z a–z 0–9 + /`) with spaces or tabs between them (a `CR` before the `LF` allowed): no
//!   `-` (so no boundary, and no `--` that a decoder stops at), no `=` (no padding, no
//!   quoted-printable escape), no `:` (no header), no other byte a base64 decoder rejects, no
//!   white space at the start (no folded header line), never an empty line (an empty line ends
//!   a header section). A header section skips such a line on its own (no name, no colon), a
//!   multipart preamble or epilogue is skipped whole, a base64 decoder skips the spaces and
//!   reads the letters, and any other transfer encoding reads plain text.
//! - A run starts right after an empty line (the end of a header section, so never inside the
//!   message's own header), and its first and last lines stay; what is left out in between is
//!   replaced by one line of `A`s as long as the left-out letters modulo 4, so a base64 decoder
//!   is in the same state (its position in a 4-letter group) after the run as before: a part
//!   that decodes without error still does, a part whose padding or stray byte makes it fail
//!   still fails at the same place, and where a part ends does not move. (`mail-parser` 0.9
//!   happens to accept `=` in any position; keeping the position does not rely on that.)
//! - Only the *contents* of bodies change (decoded attachments get shorter). The count does not
//!   depend on contents: a part is counted by its headers, its place in the structure and
//!   whether its transfer encoding decodes — a `message/rfc822` part is one attachment
//!   whatever it holds.
//!
//! `inbox::parse`'s tests compare the summary of the skeleton with the summary of the whole
//! message over a generated corpus (nested multiparts, `message/rfc822` plain and base64,
//! inline images, text parts sent as attachments, and broken MIME).

use std::borrow::Cow;

/// Runs shorter than this (bytes left out) are kept: copying the message would cost more than
/// decoding them.
pub(crate) const MIN_ELIDED: usize = 4096;

/// A base64 letter (not `=`, which is padding). Branch-free, so that [`letters`] vectorises.
#[inline(always)]
fn is_letter(b: u8) -> bool {
    ((b | 0x20).wrapping_sub(b'a') < 26) | (b.wrapping_sub(b'0') < 10) | (b == b'+') | (b == b'/')
}

/// The line's content: without its `LF` and a `CR` before it.
fn content(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// How many base64 letters the line holds, when it is a line that may be left out: letters,
/// and spaces or tabs after the first letter (a base64 decoder skips them; a line that starts
/// with one would continue a header).
fn letters(content: &[u8]) -> Option<usize> {
    let (&first, _) = content.split_first()?;
    if !is_letter(first) {
        return None;
    }
    // Without early exit and in pieces of 64 (whose spaces a byte can count), the loop is
    // vectorised: this scan is most of what a summary costs now.
    let mut other = 0u8;
    let mut spaces = 0usize;
    for piece in content.chunks(64) {
        let mut n = 0u8;
        for &b in piece {
            let space = (b == b' ') | (b == b'\t');
            other |= u8::from(!(is_letter(b) | space));
            n += u8::from(space);
        }
        spaces += usize::from(n);
    }
    (other == 0).then_some(content.len() - spaces)
}

/// A run of letter lines that may be shortened: `keep_to` ends its first line, `skip_to` starts
/// its last line, `letters` is how many letters are between them.
struct Cut {
    keep_to: usize,
    skip_to: usize,
    letters: usize,
    crlf: bool,
}

/// The skeleton of `raw`; `raw` itself (not copied) when it has no run worth leaving out.
pub(crate) fn skeleton(raw: &[u8]) -> Cow<'_, [u8]> {
    let mut cuts: Vec<Cut> = Vec::new();
    let mut pos = 0;
    // Whether the line before `pos` was empty.
    let mut after_empty = false;
    while pos < raw.len() {
        let Some(nl) = memchr::memchr(b'\n', &raw[pos..]) else {
            break; // the last line, unterminated: never part of a run
        };
        let end = pos + nl + 1;
        let line = &raw[pos..end];
        let c = content(line);
        if !after_empty || letters(c).is_none() {
            after_empty = c.is_empty();
            pos = end;
            continue;
        }
        // A run starts at `pos`: its first line stays whole.
        let first_end = end;
        let crlf = line.ends_with(b"\r\n");
        let mut last_start = pos;
        let mut left_out_letters = 0usize;
        let mut prev_letters = 0usize;
        let mut p = end;
        let mut next_after_empty = false;
        while let Some(nl) = memchr::memchr(b'\n', &raw[p..]) {
            let e = p + nl + 1;
            let c = content(&raw[p..e]);
            let Some(n) = letters(c) else {
                next_after_empty = c.is_empty();
                p = e;
                break;
            };
            // The line before this one is now in the middle of the run.
            if last_start != pos {
                left_out_letters += prev_letters;
            }
            last_start = p;
            prev_letters = n;
            p = e;
        }
        if last_start != pos && last_start - first_end >= MIN_ELIDED {
            cuts.push(Cut {
                keep_to: first_end,
                skip_to: last_start,
                letters: left_out_letters,
                crlf,
            });
        }
        after_empty = next_after_empty;
        pos = p;
    }
    if cuts.is_empty() {
        return Cow::Borrowed(raw);
    }
    let left_out: usize = cuts.iter().map(|c| c.skip_to - c.keep_to).sum();
    let mut out = Vec::with_capacity(raw.len() - left_out + cuts.len() * 5);
    let mut from = 0;
    for cut in &cuts {
        out.extend_from_slice(&raw[from..cut.keep_to]);
        let r = cut.letters % 4;
        if r != 0 {
            out.resize(out.len() + r, b'A');
            out.extend_from_slice(if cut.crlf { b"\r\n" } else { b"\n" });
        }
        from = cut.skip_to;
    }
    out.extend_from_slice(&raw[from..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(n: usize, width: usize, eol: &str) -> String {
        let line: String = "QUJD".repeat(width.div_ceil(4))[..width].to_owned();
        (0..n).map(|_| format!("{line}{eol}")).collect()
    }

    #[test]
    fn is_letter_is_the_base64_alphabet() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
            assert_eq!(is_letter(b), expected, "byte {b}");
        }
    }

    #[test]
    fn a_message_without_long_runs_is_not_copied() {
        let raw = b"Subject: x\r\n\r\nhello\r\nworld\r\n";
        assert!(matches!(skeleton(raw), Cow::Borrowed(_)));
        let short = format!("Subject: x\r\n\r\n{}", lines(20, 76, "\r\n"));
        assert!(matches!(skeleton(short.as_bytes()), Cow::Borrowed(_)));
    }

    #[test]
    fn the_middle_of_a_long_run_after_an_empty_line_is_left_out() {
        let body = lines(200, 76, "\r\n");
        let raw = format!("Subject: x\r\nContent-Transfer-Encoding: base64\r\n\r\n{body}--b--\r\n");
        let s = skeleton(raw.as_bytes());
        let first = &body[..78];
        assert_eq!(
            String::from_utf8(s.into_owned()).unwrap(),
            format!(
                "Subject: x\r\nContent-Transfer-Encoding: base64\r\n\r\n{first}{first}--b--\r\n"
            )
        );
    }

    #[test]
    fn letters_modulo_4_are_kept() {
        // 198 lines of 75 letters in the middle: 14,850 letters, 2 modulo 4.
        let body = lines(200, 75, "\n");
        let raw = format!("A: b\n\n{body}");
        let s = String::from_utf8(skeleton(raw.as_bytes()).into_owned()).unwrap();
        let first = &body[..76];
        assert_eq!(s, format!("A: b\n\n{first}AA\n{first}"));
    }

    #[test]
    fn lines_of_plain_words_are_left_out_too_but_not_a_folded_line() {
        let words = "the printer does not print\r\n".repeat(300);
        let raw = format!("Subject: x\r\n\r\n{words}-- \r\nBob\r\n");
        let s = String::from_utf8(skeleton(raw.as_bytes()).into_owned()).unwrap();
        // 298 lines of 22 letters in the middle: 6,556 letters, 0 modulo 4.
        assert_eq!(
            s,
            "Subject: x\r\n\r\nthe printer does not print\r\nthe printer does not print\r\n\
             -- \r\nBob\r\n"
        );
        // A line that starts with white space would continue a header: it ends the run.
        let folded = " the printer does not print\r\n".repeat(300);
        let raw = format!("Subject: x\r\n\r\n{folded}");
        assert!(matches!(skeleton(raw.as_bytes()), Cow::Borrowed(_)));
    }

    #[test]
    fn runs_not_after_an_empty_line_or_broken_by_other_bytes_stay() {
        // Right after a header line (no empty line before): kept.
        let raw = format!("Subject: x\r\n{}\r\n", lines(200, 76, "\r\n"));
        assert!(matches!(skeleton(raw.as_bytes()), Cow::Borrowed(_)));
        // Every line broken by a `=`, `-`, comma or empty line: no run long enough.
        for sep in ["=\r\n", "--\r\n", ", x\r\n", "\r\n\r\n"] {
            let body: String = (0..200)
                .map(|_| format!("{}{sep}", lines(1, 76, "")))
                .collect();
            let raw = format!("Subject: x\r\n\r\n{body}");
            assert!(
                matches!(skeleton(raw.as_bytes()), Cow::Borrowed(_)),
                "separator {sep:?}"
            );
        }
    }
}
