//! What pure-sftpd's master says to an SSH client it turns away (`-c`, `-C`, a failed
//! fork): its SSH version line, then an unencrypted `SSH_MSG_DISCONNECT` (RFC 4253 §11.1;
//! before the key exchange packets have no cipher and no MAC) with the reason and
//! pure-ftpd's own words. OpenSSH's client prints it (`Received disconnect from ...:
//! 12: Too many connections (4) from this IP`). pure-ftpd's `421` line would be read as
//! a line before the version, which clients do not show.
//!
//! Written here rather than by russh: the master refuses before forking, with no SSH
//! session and no runtime, and the packet is five fields.

/// `SSH_DISCONNECT_TOO_MANY_CONNECTIONS`.
pub const TOO_MANY_CONNECTIONS: u32 = 12;
/// `SSH_DISCONNECT_SERVICE_NOT_AVAILABLE`.
pub const SERVICE_NOT_AVAILABLE: u32 = 7;

const SSH_MSG_DISCONNECT: u8 = 1;

/// The version line and the disconnect packet.
#[must_use]
pub fn refusal(reason: u32, text: &str) -> Vec<u8> {
    let mut payload = vec![SSH_MSG_DISCONNECT];
    payload.extend_from_slice(&reason.to_be_bytes());
    for field in [text.as_bytes(), b""] {
        let length = u32::try_from(field.len()).unwrap_or(0);
        payload.extend_from_slice(&length.to_be_bytes());
        payload.extend_from_slice(&field[..length as usize]);
    }
    // The whole packet (length field included) is a multiple of 8, with 4 to 11 bytes
    // of padding.
    let padding = 4 + (8 - (4 + 1 + payload.len() + 4) % 8) % 8;
    let length = u32::try_from(1 + payload.len() + padding).unwrap_or(0);
    let mut out = format!("SSH-2.0-pure-sftpd_{}\r\n", crate::VERSION).into_bytes();
    out.extend_from_slice(&length.to_be_bytes());
    out.push(u8::try_from(padding).unwrap_or(4));
    out.extend_from_slice(&payload);
    out.resize(out.len() + padding, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disconnect_packet_as_rfc_4253_frames_it() {
        for text in [
            "",
            "x",
            "Too many connections (4) from this IP",
            &"y".repeat(300),
        ] {
            let bytes = refusal(TOO_MANY_CONNECTIONS, text);
            let line_end = bytes.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
            assert!(bytes.starts_with(b"SSH-2.0-pure-sftpd_"));
            let packet = &bytes[line_end..];
            let length = u32::from_be_bytes(packet[..4].try_into().unwrap()) as usize;
            assert_eq!(packet.len(), 4 + length);
            assert_eq!(packet.len() % 8, 0);
            let padding = usize::from(packet[4]);
            assert!((4..=11).contains(&padding), "{padding}");
            let payload = &packet[5..packet.len() - padding];
            assert_eq!(payload[0], SSH_MSG_DISCONNECT);
            assert_eq!(&payload[1..5], &12u32.to_be_bytes());
            let text_length = u32::from_be_bytes(payload[5..9].try_into().unwrap()) as usize;
            assert_eq!(&payload[9..9 + text_length], text.as_bytes());
            assert_eq!(&payload[9 + text_length..], &[0, 0, 0, 0]);
        }
    }
}
