//! ISO 7816-4 command and response APDUs: encoding commands (short, with command chaining
//! when the data does not fit), and reading responses (status word, `61xx` continuation).

use crate::error::CardError;

/// The largest data field of a short command APDU.
pub const SHORT_DATA_MAX: usize = 255;
/// Responses longer than this are refused: no PIV object we read comes close, and a card
/// that keeps sending `61xx` must not make us buffer without end.
pub const RESPONSE_MAX: usize = 64 * 1024;
/// GET RESPONSEs sent for one command, at most. The byte cap above cannot stop a card that
/// answers `61 00` with no data (nothing accumulates), so the loop is capped by count too:
/// RESPONSE_MAX in 256-byte chunks is 256 GET RESPONSEs, and 16 more leave room for a card
/// that sends some chunks short. A PIV certificate takes fewer than ten.
pub const GET_RESPONSE_MAX: usize = RESPONSE_MAX / 256 + 16;

/// A command APDU before encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: Vec<u8>,
    /// Expected response length; `Some(256)` is encoded as `00` (as much as the card has).
    pub le: Option<u16>,
}

impl Command {
    pub fn new(ins: u8, p1: u8, p2: u8, data: Vec<u8>, le: Option<u16>) -> Command {
        Command {
            cla: 0x00,
            ins,
            p1,
            p2,
            data,
            le,
        }
    }

    /// Encodes the command as one or more short APDUs. Data longer than 255 bytes is sent
    /// with command chaining (CLA bit 0x10 on every part but the last), which every PIV card
    /// supports; extended length is optional in PIV, so we do not rely on it.
    pub fn encode_chained(&self) -> Vec<Vec<u8>> {
        if self.data.len() <= SHORT_DATA_MAX {
            return vec![self.encode_short(self.cla, &self.data, self.le)];
        }
        let parts: Vec<&[u8]> = self.data.chunks(SHORT_DATA_MAX).collect();
        let last = parts.len() - 1;
        parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                if i == last {
                    self.encode_short(self.cla, part, self.le)
                } else {
                    self.encode_short(self.cla | 0x10, part, None)
                }
            })
            .collect()
    }

    fn encode_short(&self, cla: u8, data: &[u8], le: Option<u16>) -> Vec<u8> {
        let mut out = Vec::with_capacity(6 + data.len());
        out.extend_from_slice(&[cla, self.ins, self.p1, self.p2]);
        if !data.is_empty() {
            // Callers split data into chunks of at most 255 bytes.
            out.push(data.len() as u8);
            out.extend_from_slice(data);
        }
        if let Some(le) = le {
            out.push(if le >= 256 { 0 } else { le as u8 });
        }
        out
    }
}

/// A response APDU: data and the status word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub data: Vec<u8>,
    pub sw: u16,
}

impl Response {
    /// Splits raw bytes from the card; fewer than two bytes is not a response at all.
    pub fn parse(raw: &[u8]) -> Result<Response, CardError> {
        if raw.len() < 2 {
            return Err(CardError::malformed(format!(
                "a response of {} byte(s), shorter than a status word",
                raw.len()
            )));
        }
        let (data, sw) = raw.split_at(raw.len() - 2);
        Ok(Response {
            data: data.to_vec(),
            sw: u16::from_be_bytes([sw[0], sw[1]]),
        })
    }

    pub fn is_ok(&self) -> bool {
        self.sw == 0x9000
    }

    /// `61xx`: more data waits, fetch it with GET RESPONSE (xx bytes, 00 = 256 or more).
    pub fn more_available(&self) -> Option<u16> {
        if self.sw >> 8 == 0x61 {
            let n = self.sw & 0xFF;
            Some(if n == 0 { 256 } else { n })
        } else {
            None
        }
    }
}

/// GET RESPONSE for the `61xx` continuation.
pub fn get_response(le: u16) -> Vec<u8> {
    vec![0x00, 0xC0, 0x00, 0x00, if le >= 256 { 0 } else { le as u8 }]
}

/// Something that can exchange one APDU with a card: the PC/SC connection in production, a
/// scripted card in unit tests.
pub trait Transport {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError>;
}

/// Sends a command (chained if needed) and collects the whole response, following `61xx`
/// with GET RESPONSE. Returns the final status word with all the data.
pub fn exchange(transport: &mut dyn Transport, command: &Command) -> Result<Response, CardError> {
    let parts = command.encode_chained();
    let last = parts.len() - 1;
    let mut response = None;
    for (i, part) in parts.iter().enumerate() {
        let r = Response::parse(&transport.transmit(part)?)?;
        if i < last && !r.is_ok() {
            // A card that refuses a chained part refuses the command.
            return Ok(r);
        }
        response = Some(r);
    }
    let mut response = response.ok_or_else(|| CardError::malformed("no response"))?;
    let mut data = std::mem::take(&mut response.data);
    let mut get_responses = 0;
    while let Some(n) = response.more_available() {
        get_responses += 1;
        if get_responses > GET_RESPONSE_MAX {
            return Err(CardError::EndlessResponse);
        }
        response = Response::parse(&transport.transmit(&get_response(n))?)?;
        data.extend_from_slice(&response.data);
        if data.len() > RESPONSE_MAX {
            return Err(CardError::EndlessResponse);
        }
    }
    Ok(Response {
        data,
        sw: response.sw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Scripted {
        answers: Vec<Vec<u8>>,
        sent: Vec<Vec<u8>>,
    }

    impl Transport for Scripted {
        fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
            self.sent.push(apdu.to_vec());
            if self.answers.is_empty() {
                return Err(CardError::CardRemoved);
            }
            Ok(self.answers.remove(0))
        }
    }

    #[test]
    fn short_commands_encode_each_iso_case() {
        assert_eq!(
            Command::new(0xA4, 4, 0, vec![], None).encode_chained(),
            vec![vec![0, 0xA4, 4, 0]]
        );
        assert_eq!(
            Command::new(0xCB, 0x3F, 0xFF, vec![], Some(256)).encode_chained(),
            vec![vec![0, 0xCB, 0x3F, 0xFF, 0]]
        );
        assert_eq!(
            Command::new(0x20, 0, 0x80, vec![1, 2], None).encode_chained(),
            vec![vec![0, 0x20, 0, 0x80, 2, 1, 2]]
        );
        assert_eq!(
            Command::new(0x87, 0x11, 0x9A, vec![9], Some(256)).encode_chained(),
            vec![vec![0, 0x87, 0x11, 0x9A, 1, 9, 0]]
        );
    }

    #[test]
    fn long_data_is_chained_in_255_byte_parts() {
        let parts = Command::new(0xDB, 0x3F, 0xFF, vec![7; 600], Some(256)).encode_chained();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0][0], 0x10);
        assert_eq!(parts[0][4], 255);
        assert_eq!(parts[1][0], 0x10);
        assert_eq!(parts[2][0], 0x00);
        assert_eq!(parts[2][4], 90);
        assert_eq!(*parts[2].last().unwrap_or(&1), 0);
    }

    #[test]
    fn responses_shorter_than_a_status_word_are_errors() {
        assert!(matches!(Response::parse(&[]), Err(CardError::Malformed(_))));
        assert!(matches!(
            Response::parse(&[0x90]),
            Err(CardError::Malformed(_))
        ));
        assert_eq!(
            Response::parse(&[1, 2, 0x90, 0]).ok(),
            Some(Response {
                data: vec![1, 2],
                sw: 0x9000
            })
        );
    }

    #[test]
    fn continuation_is_followed_with_get_response() {
        let mut card = Scripted {
            answers: vec![
                vec![1, 2, 0x61, 0x00],
                vec![3, 0x61, 0x02],
                vec![4, 5, 0x90, 0],
            ],
            sent: vec![],
        };
        let r = exchange(
            &mut card,
            &Command::new(0xCB, 0x3F, 0xFF, vec![], Some(256)),
        );
        assert_eq!(
            r.ok(),
            Some(Response {
                data: vec![1, 2, 3, 4, 5],
                sw: 0x9000
            })
        );
        assert_eq!(card.sent[1], vec![0, 0xC0, 0, 0, 0]);
        assert_eq!(card.sent[2], vec![0, 0xC0, 0, 0, 2]);
    }

    #[test]
    fn endless_continuation_is_cut_off() {
        struct Endless;
        impl Transport for Endless {
            fn transmit(&mut self, _: &[u8]) -> Result<Vec<u8>, CardError> {
                let mut v = vec![0xAA; 256];
                v.extend_from_slice(&[0x61, 0x00]);
                Ok(v)
            }
        }
        let r = exchange(&mut Endless, &Command::new(0xCB, 0, 0, vec![], Some(256)));
        assert_eq!(r, Err(CardError::EndlessResponse));
    }

    #[test]
    fn continuation_without_data_is_cut_off() {
        // `61 00` with no data never grows the response, so the byte cap alone never trips.
        // The fake gives up after far more answers than any cap, so a missing cap fails
        // the test (as CardRemoved) instead of hanging it.
        struct Stalled(usize);
        impl Transport for Stalled {
            fn transmit(&mut self, _: &[u8]) -> Result<Vec<u8>, CardError> {
                self.0 += 1;
                if self.0 > 100_000 {
                    return Err(CardError::CardRemoved);
                }
                Ok(vec![0x61, 0x00])
            }
        }
        let mut card = Stalled(0);
        let r = exchange(
            &mut card,
            &Command::new(0xCB, 0x3F, 0xFF, vec![], Some(256)),
        );
        assert_eq!(r, Err(CardError::EndlessResponse));
        assert_eq!(card.0, 1 + GET_RESPONSE_MAX);
    }

    #[test]
    fn the_largest_response_in_256_byte_chunks_is_within_the_cap() {
        // A card streaming RESPONSE_MAX bytes, 256 at a time, is allowed to finish.
        struct Big(usize);
        impl Transport for Big {
            fn transmit(&mut self, _: &[u8]) -> Result<Vec<u8>, CardError> {
                let left = RESPONSE_MAX - self.0;
                let n = left.min(256);
                self.0 += n;
                let mut v = vec![0x30; n];
                let after = RESPONSE_MAX - self.0;
                match after {
                    0 => v.extend_from_slice(&[0x90, 0x00]),
                    a => v.extend_from_slice(&[0x61, if a >= 256 { 0 } else { a as u8 }]),
                }
                Ok(v)
            }
        }
        let r = exchange(
            &mut Big(0),
            &Command::new(0xCB, 0x3F, 0xFF, vec![], Some(256)),
        );
        assert_eq!(r.map(|r| (r.data.len(), r.sw)), Ok((RESPONSE_MAX, 0x9000)));
    }

    #[test]
    fn a_card_pulled_mid_chain_is_card_removed() {
        let mut card = Scripted {
            answers: vec![vec![0x90, 0]],
            sent: vec![],
        };
        let r = exchange(&mut card, &Command::new(0xDB, 0, 0, vec![0; 300], None));
        assert_eq!(r, Err(CardError::CardRemoved));
    }
}
