//! Server-rendered HTML in Indonesian: the public pages, the signer's pages, the HR admin
//! pages, the campaign dashboard and the ceremony screen.

pub mod admin;
pub mod ceremony;
pub mod dashboard;
pub mod public;
pub mod signing;
