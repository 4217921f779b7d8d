//! Listings: `STAT`, `LIST` (strict and lenient), `UIDL`.

use super::*;

impl<S: Read + Write> Pop3Client<S> {
    /// `STAT`: the number of messages in the maildrop and their total size in octets.
    pub fn stat(&mut self) -> Result<Stat, ConnectionError> {
        let s = self.simple("STAT")?;
        let mut words = s.text.split_ascii_whitespace();
        let count = words.next().and_then(|w| w.parse().ok());
        let size = words.next().and_then(|w| w.parse().ok());
        match (count, size) {
            (Some(count), Some(size)) => Ok(Stat { count, size }),
            _ => Err(protocol(format!(
                "the server's STAT answer is not \"+OK count size\": +OK {}",
                s.text
            ))),
        }
    }

    /// `LIST`: every message's size. A line that is not "number size" fails the whole
    /// answer (quoting the line); [`Pop3Client::list_lenient`] keeps the others.
    pub fn list(&mut self) -> Result<Vec<MessageSize>, ConnectionError> {
        self.list_lenient()?
            .into_iter()
            .map(|l| l.map_err(|bad| protocol(bad.to_string())))
            .collect()
    }

    /// `LIST`, one result per line: a line that is not "number size" is a [`BadListLine`]
    /// for that message alone (the session stays in step).
    pub fn list_lenient(
        &mut self,
    ) -> Result<Vec<Result<MessageSize, BadListLine>>, ConnectionError> {
        self.simple("LIST")?;
        let lines = self.read_listing("reading the LIST answer")?;
        Ok(lines
            .iter()
            .map(|l| {
                parse_size_line(l).ok_or_else(|| BadListLine {
                    number: words(l)
                        .next()
                        .and_then(parse_number)
                        .and_then(|n| u32::try_from(n).ok()),
                    line: escaped(l),
                })
            })
            .collect())
    }

    /// `LIST n`: one message's size.
    pub fn list_one(&mut self, number: u32) -> Result<MessageSize, ConnectionError> {
        let s = self.simple(&format!("LIST {number}"))?;
        parse_size_line(s.text.as_bytes()).ok_or_else(|| {
            protocol(format!(
                "the server's LIST {number} answer is not \"+OK number size\": +OK {}",
                s.text
            ))
        })
    }

    /// `UIDL`: every message's unique id.
    pub fn uidl(&mut self) -> Result<Vec<MessageUid>, ConnectionError> {
        self.simple("UIDL")?;
        let lines = self.read_listing("reading the UIDL answer")?;
        lines
            .iter()
            .map(|l| parse_uid_line(l))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                protocol("the server's UIDL answer has a line that is not \"number uid\"")
            })
    }

    /// `UIDL n`: one message's unique id.
    pub fn uidl_one(&mut self, number: u32) -> Result<MessageUid, ConnectionError> {
        let s = self.simple(&format!("UIDL {number}"))?;
        parse_uid_line(s.text.as_bytes()).ok_or_else(|| {
            protocol(format!(
                "the server's UIDL {number} answer is not \"+OK number uid\": +OK {}",
                s.text
            ))
        })
    }
}

pub(super) fn parse_number(word: &[u8]) -> Option<u64> {
    if word.is_empty() || word.len() > 19 || !word.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(word).ok()?.parse().ok()
}

pub(super) fn words(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|&b| b == b' ').filter(|w| !w.is_empty())
}

pub(super) fn parse_size_line(line: &[u8]) -> Option<MessageSize> {
    let mut w = words(line);
    let number = u32::try_from(parse_number(w.next()?)?).ok()?;
    let size = parse_number(w.next()?)?;
    Some(MessageSize { number, size })
}

pub(super) fn parse_uid_line(line: &[u8]) -> Option<MessageUid> {
    let mut w = words(line);
    let number = u32::try_from(parse_number(w.next()?)?).ok()?;
    let uid = w.next()?;
    // RFC 1939: 1–70 characters 0x21–0x7E; we accept up to 512.
    if uid.len() > 512 || !uid.iter().all(u8::is_ascii_graphic) || w.next().is_some() {
        return None;
    }
    Some(MessageUid {
        number,
        uid: String::from_utf8_lossy(uid).into_owned(),
    })
}
