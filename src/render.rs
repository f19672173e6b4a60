//! What ikrar draws for people to keep or print: the receipt PDF, its QR code, and the
//! printable QR slips that hand out signing links, and the public's verifier page.

pub mod pdf;
pub mod qr;
pub mod verifier;
