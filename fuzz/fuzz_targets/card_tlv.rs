//! BER-TLV as a PIV card sends it (`scr_card::tlv`), read the way the client reads the card's
//! objects: siblings at one level, and inside every value that reads as TLV (the certificate
//! object 53 { 70 71 FE }, the GENERAL AUTHENTICATE template 7C { 82 }, SELECT's 61 { 4F 79 }).
//! What parses must be a true reading of the bytes: each TLV re-encoded reads back the same,
//! and `find` agrees with `parse_all`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scr_card::tlv;

/// A tag's bytes from its `u32` (a first byte is never 00 in a multi-byte tag).
fn tag_bytes(tag: u32) -> Vec<u8> {
    let be = tag.to_be_bytes();
    let skip = be.iter().take(3).take_while(|&&b| b == 0).count();
    be[skip..].to_vec()
}

fn read(input: &[u8], depth: usize) {
    let Ok(all) = tlv::parse_all(input) else {
        return;
    };
    let mut rest = input;
    for t in &all {
        // parse_one steps through exactly the siblings parse_all returned.
        let (one, after) = tlv::parse_one(rest).expect("parse_all read it");
        assert_eq!(one, *t);
        // The value is the bytes just before what follows.
        let start = rest.len() - after.len() - t.value.len();
        assert_eq!(&rest[start..rest.len() - after.len()], t.value);
        rest = after;

        let tag = tag_bytes(t.tag);
        assert!(tag.len() <= 3);
        let encoded = tlv::encode(&tag, t.value);
        let (back, left) = tlv::parse_one(&encoded).expect("our encoding reads back");
        assert_eq!(back, *t);
        assert!(left.is_empty());
        // A canonical length is never longer than the one read.
        assert!(encoded.len() <= input.len());

        let first = tlv::find(input, t.tag).expect("parse_all succeeded");
        let expected = all.iter().find(|s| s.tag == t.tag).map(|s| s.value);
        assert_eq!(first, expected);

        // Read inside every value: the client reads inside 53, which PIV tags as primitive.
        if depth < 64 {
            read(t.value, depth + 1);
        }
    }
    assert!(rest.is_empty());
}

fuzz_target!(|data: &[u8]| {
    read(data, 0);
});
