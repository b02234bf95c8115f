//! What stands around every route, before and after its handler: the access guard
//! (who is asking, and may they), the request figures and access log (`observe`),
//! the hardening (security headers, rate limits), the
//! one form of every error answer, and the input checks (JSON media type, one JSON
//! value per body, no U+0000 anywhere) with the extractors that name the field at
//! fault.
//!
//! Handlers of every room use these; nothing here knows a room's routes.

pub mod auth;
pub mod error;
pub mod extract;
pub mod hardening;
pub mod observe;
