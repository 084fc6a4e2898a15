//! A checked reader of the BER that LDAP speaks (RFC 4511 §5.1): definite lengths, low tag
//! numbers, bounded sizes. A directory server's bytes are input: anything this reader does not
//! accept is refused, never trusted to a parser that panics.

/// The largest LDAP message accepted (a page of 1,000 entries is far smaller).
pub const MAX_MESSAGE: usize = 16 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Universal,
    Application,
    Context,
    Private,
}

/// One tag-length-value.
#[derive(Debug, Clone, Copy)]
pub struct Tlv<'a> {
    pub class: Class,
    pub constructed: bool,
    pub number: u8,
    pub value: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BerError {
    #[error("{0}")]
    Malformed(&'static str),
}

type Result<T> = std::result::Result<T, BerError>;

fn bad<T>(why: &'static str) -> Result<T> {
    Err(BerError::Malformed(why))
}

/// The first TLV of `input` and the bytes it took, or `None` when `input` ends before it does.
pub fn read(input: &[u8]) -> Result<Option<(Tlv<'_>, usize)>> {
    let Some(&first) = input.first() else { return Ok(None) };
    let class = match first >> 6 {
        0 => Class::Universal,
        1 => Class::Application,
        2 => Class::Context,
        _ => Class::Private,
    };
    let number = first & 0x1f;
    if number == 0x1f {
        return bad("a long-form tag (LDAP uses none)");
    }
    let Some(&len0) = input.get(1) else { return Ok(None) };
    let (len, header) = if len0 < 0x80 {
        (usize::from(len0), 2)
    } else {
        let n = usize::from(len0 & 0x7f);
        if n == 0 {
            return bad("an indefinite length (LDAP forbids it)");
        }
        if n > 4 {
            return bad("a length of more than four bytes");
        }
        let Some(bytes) = input.get(2..2 + n) else { return Ok(None) };
        (bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b)), 2 + n)
    };
    if len > MAX_MESSAGE {
        return bad("an element larger than 16 MiB");
    }
    let Some(value) = input.get(header..header + len) else { return Ok(None) };
    Ok(Some((Tlv { class, constructed: first & 0x20 != 0, number, value }, header + len)))
}

impl<'a> Tlv<'a> {
    /// The one TLV that makes up all of `input`.
    pub fn whole(input: &'a [u8]) -> Result<Self> {
        match read(input)? {
            Some((t, used)) if used == input.len() => Ok(t),
            Some(_) => bad("bytes after an element"),
            None => bad("an element cut short"),
        }
    }

    /// The elements inside a constructed one, each whole.
    pub fn children(&self) -> Result<Vec<Tlv<'a>>> {
        if !self.constructed {
            return bad("a primitive element where a constructed one belongs");
        }
        let mut out = Vec::new();
        let mut rest = self.value;
        while !rest.is_empty() {
            match read(rest)? {
                Some((t, used)) => {
                    out.push(t);
                    rest = rest.get(used..).unwrap_or_default();
                }
                None => return bad("an element cut short inside another"),
            }
        }
        Ok(out)
    }

    pub fn is(&self, class: Class, number: u8) -> bool {
        self.class == class && self.number == number
    }

    /// Its bytes, if it is primitive.
    pub fn primitive(&self) -> Result<&'a [u8]> {
        if self.constructed { bad("a constructed element where a primitive one belongs") } else { Ok(self.value) }
    }

    /// Its text, if it is primitive UTF-8.
    pub fn text(&self) -> Result<&'a str> {
        std::str::from_utf8(self.primitive()?).map_err(|_| BerError::Malformed("text that is not UTF-8"))
    }

    /// Its value as a (two's complement) integer of at most four bytes.
    pub fn int(&self) -> Result<i64> {
        let bytes = self.primitive()?;
        if bytes.is_empty() || bytes.len() > 4 {
            return bad("an integer of no or more than four bytes");
        }
        let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
        let start = if negative { -1i64 } else { 0 };
        Ok(bytes.iter().fold(start, |acc, b| (acc << 8) | i64::from(*b)))
    }
}

/// Encode one TLV (what Roster itself sends; lengths in the shortest form).
pub fn encode(class: Class, constructed: bool, number: u8, value: &[u8]) -> Vec<u8> {
    let class_bits = match class {
        Class::Universal => 0,
        Class::Application => 0x40,
        Class::Context => 0x80,
        Class::Private => 0xc0,
    };
    let mut out = vec![class_bits | if constructed { 0x20 } else { 0 } | (number & 0x1f)];
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_writes_and_waits_for_more() {
        let inner = encode(Class::Universal, false, 4, b"hello");
        let long = vec![b'x'; 300];
        let mut seq = inner.clone();
        seq.extend(encode(Class::Universal, false, 4, &long));
        let whole = encode(Class::Universal, true, 16, &seq);
        let t = Tlv::whole(&whole).unwrap();
        let kids = t.children().unwrap();
        assert_eq!(kids.len(), 2);
        assert_eq!(kids[0].text().unwrap(), "hello");
        assert_eq!(kids[1].primitive().unwrap().len(), 300);
        for cut in 0..whole.len() {
            assert!(read(&whole[..cut]).unwrap().is_none(), "incomplete at {cut}");
        }
    }

    #[test]
    fn refuses_what_ldap_never_sends() {
        assert!(read(&[0x30, 0x80, 0, 0]).is_err(), "indefinite length");
        assert!(read(&[0x1f, 0x81, 0x01, 0x00]).is_err(), "long-form tag");
        assert!(read(&[0x04, 0x85, 1, 0, 0, 0, 0]).is_err(), "five length bytes");
        assert!(read(&[0x04, 0x84, 0x7f, 0xff, 0xff, 0xff]).is_err(), "2 GiB claimed");
        let t = Tlv::whole(&[0x30, 0x03, 0x04, 0x05, 0x00]).unwrap();
        assert!(t.children().is_err(), "a child longer than its parent");
        assert!(Tlv::whole(&[0x04, 0x01, 0x41, 0x00]).is_err(), "trailing bytes");
        assert!(Tlv::whole(&[0x04, 0x01, 0xff]).unwrap().text().is_err(), "not UTF-8");
    }

    #[test]
    fn integers_are_signed_and_short() {
        assert_eq!(Tlv::whole(&[0x02, 0x01, 0x05]).unwrap().int().unwrap(), 5);
        assert_eq!(Tlv::whole(&[0x02, 0x02, 0x01, 0x00]).unwrap().int().unwrap(), 256);
        assert_eq!(Tlv::whole(&[0x02, 0x01, 0xff]).unwrap().int().unwrap(), -1);
        assert!(Tlv::whole(&[0x02, 0x00]).unwrap().int().is_err());
        assert!(Tlv::whole(&[0x02, 0x05, 1, 2, 3, 4, 5]).unwrap().int().is_err());
    }
}
