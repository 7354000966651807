//! BER-TLV as PIV uses it (SP 800-73-4 part 2): tags of one to three bytes, definite
//! lengths of up to three bytes. Parsing never trusts a length: a value that runs past the
//! end of the input is an error.

use crate::error::CardError;

/// One tag-length-value: the tag as its bytes read big-endian, and the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: u32,
    pub value: &'a [u8],
}

/// Reads one TLV from the front of `input`; returns it and what follows.
pub fn parse_one(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), CardError> {
    let (&first, mut rest) = input
        .split_first()
        .ok_or_else(|| CardError::malformed("an empty data object"))?;
    let mut tag = u32::from(first);
    if first & 0x1F == 0x1F {
        // Multi-byte tag: continuation bytes have bit 8 set; three bytes is the PIV maximum.
        for i in 0.. {
            let (&b, r) = rest
                .split_first()
                .ok_or_else(|| CardError::malformed("a tag cut short"))?;
            rest = r;
            tag = (tag << 8) | u32::from(b);
            if b & 0x80 == 0 {
                break;
            }
            if i >= 1 {
                return Err(CardError::malformed("a tag longer than three bytes"));
            }
        }
    }
    let (&len0, r) = rest
        .split_first()
        .ok_or_else(|| CardError::malformed("a length missing"))?;
    rest = r;
    let len = match len0 {
        0x00..=0x7F => usize::from(len0),
        0x81..=0x83 => {
            let n = usize::from(len0 & 0x7F);
            if rest.len() < n {
                return Err(CardError::malformed("a length cut short"));
            }
            let (bytes, r) = rest.split_at(n);
            rest = r;
            bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
        }
        _ => return Err(CardError::malformed(format!("length byte {len0:02X}"))),
    };
    if rest.len() < len {
        return Err(CardError::malformed(format!(
            "a value of {len} bytes with only {} present",
            rest.len()
        )));
    }
    let (value, rest) = rest.split_at(len);
    Ok((Tlv { tag, value }, rest))
}

/// Reads every TLV in `input` (siblings at one level).
pub fn parse_all(mut input: &[u8]) -> Result<Vec<Tlv<'_>>, CardError> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let (tlv, rest) = parse_one(input)?;
        out.push(tlv);
        input = rest;
    }
    Ok(out)
}

/// The value of the first sibling with `tag`, if any.
pub fn find(input: &[u8], tag: u32) -> Result<Option<&[u8]>, CardError> {
    Ok(parse_all(input)?
        .into_iter()
        .find(|t| t.tag == tag)
        .map(|t| t.value))
}

/// Encodes a definite length.
pub fn encode_length(len: usize, out: &mut Vec<u8>) {
    match len {
        0..=0x7F => out.push(len as u8),
        0x80..=0xFF => out.extend_from_slice(&[0x81, len as u8]),
        0x100..=0xFFFF => out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
        _ => out.extend_from_slice(&[0x83, (len >> 16) as u8, (len >> 8) as u8, len as u8]),
    }
}

/// Encodes one TLV; `tag` is given as its bytes (`&[0x5F, 0xC1, 0x05]`).
pub fn encode(tag: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(tag.len() + 4 + value.len());
    out.extend_from_slice(tag);
    encode_length(value.len(), &mut out);
    out.extend_from_slice(value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_piv_shaped_objects() {
        let cert = vec![0x30; 300];
        let object = encode(
            &[0x53],
            &[encode(&[0x70], &cert), encode(&[0x71], &[0])].concat(),
        );
        let (outer, rest) = parse_one(&object).expect("outer");
        assert!(rest.is_empty());
        assert_eq!(outer.tag, 0x53);
        assert_eq!(find(outer.value, 0x70).expect("parse"), Some(&cert[..]));
        assert_eq!(find(outer.value, 0x71).expect("parse"), Some(&[0u8][..]));
        let (t, _) = parse_one(&[0x5F, 0xC1, 0x05, 0x00]).expect("three-byte tag");
        assert_eq!(t.tag, 0x5FC105);
    }

    #[test]
    fn lengths_past_the_end_are_errors() {
        assert!(parse_one(&[0x53, 0x05, 1, 2]).is_err());
        assert!(parse_one(&[0x53, 0x82, 0x01]).is_err());
        assert!(parse_one(&[0x53, 0x84, 0, 0, 0, 1]).is_err());
        assert!(parse_one(&[0x5F]).is_err());
        assert!(parse_one(&[0x5F, 0xC1, 0xC1, 0xC1, 0x00]).is_err());
        assert!(parse_one(&[]).is_err());
    }

    proptest! {
        #[test]
        fn any_bytes_parse_or_fail_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse_all(&bytes);
        }

        #[test]
        fn encode_then_parse_round_trips(value in proptest::collection::vec(any::<u8>(), 0..70_000)) {
            let encoded = encode(&[0x7C], &value);
            let (t, rest) = parse_one(&encoded).expect("round trip");
            prop_assert_eq!(t.tag, 0x7C);
            prop_assert_eq!(t.value, &value[..]);
            prop_assert!(rest.is_empty());
        }
    }
}
