//! What an invited party (a vendor, distribution or service provider coordinating under
//! embargo) reaches: its portal, by the secret link in its invitation.

pub(crate) mod portal;
